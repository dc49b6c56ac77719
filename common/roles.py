"""Who may change what (PRODUCT.md, "Who may see and change what").

Every active user reads. Members of the group `Viewers` only read; every other active user
writes incidents, remediations and game days and triages flags. Staff also delete categories
and services and manage users and groups. Superusers see every incident, restricted ones
included.

These predicates are the one definition: actions call `require_writer` / `require_staff`
(so pages, the API, importers and the admin are refused alike), the API's permission classes
and the templates ask `can_write` / `can_manage`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

VIEWERS = "Viewers"


def is_viewer(user: Any) -> bool:
    """True for a member of `Viewers` (read only); superusers are never only viewers."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_superuser", False):
        return False
    cached = getattr(user, "_once_is_viewer", None)
    if cached is None:
        cached = user.groups.filter(name=VIEWERS).exists()
        user._once_is_viewer = cached
    return bool(cached)


def can_write(user: Any) -> bool:
    """May `user` write incidents, remediations, game days and triage flags?

    `None` is the system (an import command, a task, the reconciliation): it may.
    """
    if user is None:
        return True
    return bool(getattr(user, "is_active", False)) and user.is_authenticated and not is_viewer(user)


def can_manage(user: Any) -> bool:
    """May `user` delete categories and services and manage users and groups (staff)?

    Staff who are also in `Viewers` only read, like every viewer: managing is changing.
    """
    if user is None:
        return True
    return can_write(user) and bool(getattr(user, "is_staff", False))


def require_writer(user: Any) -> None:
    """Raise PermissionDenied unless `user` may write (see `can_write`)."""
    if not can_write(user):
        raise PermissionDenied("Viewers can read but not change anything in Once.")


def require_staff(user: Any) -> None:
    """Raise PermissionDenied unless `user` is staff (see `can_manage`)."""
    if not can_manage(user):
        raise PermissionDenied("Only staff can do this.")
