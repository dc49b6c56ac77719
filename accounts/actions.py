"""Adding a person to Once in place (issue 15: an owner added without leaving the form)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from common.roles import require_staff

# What a writer who isn't staff reads instead of the form (PRODUCT.md, "Who may see and change
# what": staff manage users).
ONLY_STAFF_ADD_PEOPLE = (
    "Only staff can add people to Once. Ask an administrator to add them (someone who signs "
    "in with single sign-on is added at their first sign-in), then choose them as the owner."
)


def add_person(username: str, email: str, *, by: Any) -> AbstractBaseUser:
    """Create an active user who can own remediations, with no password: they sign in with
    single sign-on or once staff set one. `username` and `email` come validated (PersonForm).

    PermissionDenied unless `by` is staff who write (common.roles.require_staff).
    """
    require_staff(by)
    # No password given: create_user makes it unusable.
    user: AbstractBaseUser = get_user_model().objects.create_user(username, email=email or "")
    return user
