"""Operations on remediations that views, the API, commands and tasks share."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from common.concurrency import save_versioned
from remediations.models import Remediation, done_at_for

User = AbstractBaseUser | AnonymousUser


def settle_done_at(remediation: Remediation) -> None:
    """Keep done_at in step with the status (see done_at_for)."""
    remediation.done_at = done_at_for(
        remediation.status, remediation.done_at, remediation.opened_at
    )


def save_remediation(
    remediation: Remediation, *, by: User | None, expected_version: int | None
) -> Remediation:
    """Create a remediation or update it from the version the writer started from.

    Raises StaleVersion (nothing written) when someone else saved a newer version meanwhile.
    """
    settle_done_at(remediation)
    save_versioned(
        remediation, by=by, expected_version=expected_version, creator_field="created_by"
    )
    return remediation
