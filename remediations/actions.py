"""Operations on remediations that views, the API, commands and tasks share."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction

from common.concurrency import claim_version
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
    with transaction.atomic():
        if remediation.pk is None:
            if by is not None and by.is_authenticated and remediation.created_by_id is None:
                remediation.created_by = by  # type: ignore[assignment]
        else:
            claim_version(remediation, expected_version if expected_version is not None else -1)
        if by is not None and by.is_authenticated:
            remediation._history_user = by  # type: ignore[attr-defined]
        remediation.save()
    return remediation
