"""Naming a person: the one lookup of a username and the one wording of a name that finds nobody.

Issue 16, item 4: every way in (the remediation form, the review page's rows, the incident
form's remediation rows, the game-day form, the API, the importers) finds a person the same
way — by username, an exact match first, then case aside — and words an unknown name the same
way: "Nobody is called “mallory” in Once". A form refuses it (`refused`); a record from the API
or an import is saved without the person and says so (`left_out`: PRODUCT.md, "Interchange
format": an owner that matches no user leaves the remediation unassigned and is reported).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def nobody_called(name: str) -> str:
    """The words for a name that finds nobody: “Nobody is called “name” in Once”."""
    return f"Nobody is called “{name}” in Once"


def refused(name: str) -> str:
    """A form's refusal of an unknown name (common.forms.PersonField)."""
    return f"{nobody_called(name)}. Check the spelling; staff can add people."


def left_out(name: str, consequence: str) -> str:
    """A write's warning for an unknown name it saved without, e.g.
    `left_out("mallory", "remediation “Alert on disk” is left unassigned")`."""
    return f"{nobody_called(name)}: {consequence}."


def person_named(name: str, *, active_only: bool = True) -> Any:
    """The user called `name` (exact first, then case aside), or None.

    `active_only`: forms offer and take only active people; records from the API and imports
    may name people who have left (an export of old incidents), who are still users.
    """
    from django.contrib.auth import get_user_model  # noqa: PLC0415  (loaded before apps)

    if "\x00" in name:  # no username holds one, and PostgreSQL can't be asked about it
        return None
    users = get_user_model().objects.all()
    if active_only:
        users = users.filter(is_active=True)
    return users.filter(username=name).first() or users.filter(username__iexact=name).first()


def people_named(names: Iterable[str], *, active_only: bool = False) -> dict[str, Any]:
    """The users `names` name, keyed by the name as given (the `person_named` rule; by
    default any active state: records may name people who have left, while forms ask for
    `active_only`); names that find nobody are absent. Two queries whatever the number."""
    from django.contrib.auth import get_user_model  # noqa: PLC0415
    from django.db.models.functions import Lower  # noqa: PLC0415

    wanted = [n for n in dict.fromkeys(names) if n and "\x00" not in n]
    users = get_user_model().objects.all()
    if active_only:
        users = users.filter(is_active=True)
    exact = {u.get_username(): u for u in users.filter(username__in=wanted)}
    found = {n: exact[n] for n in wanted if n in exact}
    rest = [n for n in wanted if n not in found]
    if rest:
        by_lower: dict[str, Any] = {}
        matches = users.annotate(lowered=Lower("username")).filter(
            lowered__in={n.lower() for n in rest}
        )
        for user in matches.order_by("pk"):
            by_lower.setdefault(user.get_username().lower(), user)
        found.update({n: by_lower[n.lower()] for n in rest if n.lower() in by_lower})
    return found
