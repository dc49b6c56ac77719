"""Sessions end after `ONCE_SESSION_IDLE_MINUTES` without a request.

Django's session expires `SESSION_COOKIE_AGE` (the idle time) after it was last saved. Saving
on every request (`SESSION_SAVE_EVERY_REQUEST`) would add a write to every page; instead the
session is saved when its last save is older than a small step (a tenth of the idle time, at
most five minutes). So a session ends between `idle − step` and `idle` after the last request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

# The session key holding when the session was last saved, in seconds since the epoch.
ACTIVE_AT = "once_active_at"


def refresh_step() -> int:
    """Seconds between two saves of an active session."""
    return min(settings.SESSION_COOKIE_AGE // 10, 300)


def stamp(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """At login, note the time: the session is saved then anyway (user_logged_in receiver)."""
    if request is not None and hasattr(request, "session"):
        request.session[ACTIVE_AT] = int(timezone.now().timestamp())


user_logged_in.connect(stamp, dispatch_uid="once_session_active_at")


class IdleTimeoutMiddleware:
    """Slides a signed-in session's expiry forward as its owner keeps working."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # A signed-in session, not merely a signed-in request: an API call by token has no
        # session, and refreshing one would create a session row per call.
        if session is not None and SESSION_KEY in session:
            now = int(timezone.now().timestamp())
            if now - int(session.get(ACTIVE_AT, 0)) >= refresh_step():
                # Marks the session modified: SessionMiddleware saves it with a new expiry
                # and sends the cookie again with a new max-age.
                session[ACTIVE_AT] = now
        return response
