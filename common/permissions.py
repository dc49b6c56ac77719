"""The roles (common/roles.py) at the doors: view decorators for pages, a permission class for
the API, and `can_write` / `can_manage` for templates.

The actions refuse a viewer's write whatever the way in; these answer earlier and plainly: a
viewer opening a form gets 403 rather than a form they can't save, and the API answers 403 with
the reason in JSON before reading the body. Hiding buttons (the context processor) is
courtesy only: nothing depends on it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import SAFE_METHODS, BasePermission

if TYPE_CHECKING:  # not at run time: DRF's views load the settings that name this module
    from rest_framework.request import Request
    from rest_framework.views import APIView

from common.roles import can_manage, can_write, require_staff, require_writer

View = Callable[..., HttpResponse]

READ_ONLY = "Viewers can read but not change anything in Once."
STAFF_ONLY = "Only staff can delete this."
INACTIVE = "This account is inactive."


def writer_required(view: View) -> View:
    """A page that only writers open at all (a form): 403 for viewers, whatever the method."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        require_writer(request.user)
        return view(request, *args, **kwargs)

    return wrapped


def writer_required_to_change(view: View) -> View:
    """A page everyone reads whose POST changes something (the category tree's "add" form,
    a flag's triage): 403 for a viewer's POST, PUT, PATCH or DELETE."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            require_writer(request.user)
        return view(request, *args, **kwargs)

    return wrapped


def staff_required(view: View) -> View:
    """A page only staff (who are not viewers) open."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        require_staff(request.user)
        return view(request, *args, **kwargs)

    return wrapped


class RolePermission(BasePermission):
    """The API's default permission (settings REST_FRAMEWORK): every active user reads
    (GET, HEAD, OPTIONS); writers create, update and act (POST, PUT, PATCH); deleting is for
    staff (categories are the API's only deletions: PRODUCT.md, "Who may see and change what").

    Refusals answer 403 with the reason in `detail`; an anonymous caller gets 401.
    """

    message = READ_ONLY

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers 401 with the authenticator's challenge
        if not user.is_active:
            self.message = INACTIVE
            return False
        if request.method in SAFE_METHODS or not hasattr(view, (request.method or "").lower()):
            # Reads, and methods the view doesn't take at all: those answer 405 as they did.
            return True
        if request.method == "DELETE":
            self.message = READ_ONLY if not can_write(user) else STAFF_ONLY
            return can_manage(user)
        self.message = READ_ONLY
        return can_write(user)


def roles(request: HttpRequest) -> dict[str, Any]:
    """Template context: `can_write` and `can_manage` for the signed-in person, so pages show
    write buttons, links and forms only to those who may use them. Lazy: asked only when a
    template uses them."""
    user = getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)
    return {
        "can_write": _Lazy(lambda: authenticated and can_write(user)),
        "can_manage": _Lazy(lambda: authenticated and can_manage(user)),
    }


class _Lazy:
    """A truth value computed on first use (one query, for the Viewers group, per request)."""

    def __init__(self, compute: Callable[[], bool]) -> None:
        self._compute = compute
        self._value: bool | None = None

    def __bool__(self) -> bool:
        if self._value is None:
            self._value = bool(self._compute())
        return self._value

    def __str__(self) -> str:
        return str(bool(self))
