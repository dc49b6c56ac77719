"""Operations on remediations that views, the API, commands and tasks share."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from common.concurrency import save_versioned
from remediations import events
from remediations.models import FlagState, RecurrenceFlag, Remediation, done_at_for
from search import index as search_index

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
    events.remediation_changed(remediation.pk)
    search_index.remediation_changed(remediation.pk)
    return remediation


class FlagAlreadyResolved(Exception):
    """A person tried to acknowledge or dismiss a flag that is no longer open."""


def resolve_flag(flag: RecurrenceFlag, *, state: str, by: User, note: str) -> RecurrenceFlag:
    """Acknowledge or dismiss an open recurrence flag, keeping who, when and why."""
    if state not in (FlagState.ACKNOWLEDGED, FlagState.DISMISSED):
        raise ValueError(f"A person can acknowledge or dismiss a flag, not make it {state}.")
    if not note.strip():
        raise ValueError("Say why in a note.")
    # Conditional update: of two people resolving the same flag at once, one wins.
    updated = RecurrenceFlag.objects.filter(pk=flag.pk, state=FlagState.OPEN).update(
        state=state, note=note.strip(), resolved_at=timezone.now(), resolved_by=by
    )
    if not updated:
        flag.refresh_from_db()
        raise FlagAlreadyResolved(f"This flag is already {flag.get_state_display().lower()}.")
    flag.refresh_from_db()
    return flag
