"""Middleware of Once's own: the audit log's request context, and no caching of what is
confidential."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers

from common import audit


class AuditContextMiddleware:
    """Lets `common.audit.record` know the request it serves: its client's address and user,
    without every action taking the request as an argument."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with audit.request_context(request):
            return self.get_response(request)


class NoStoreMiddleware:
    """Every response to a signed-in user carries `Cache-Control: no-store` (issue 13, item 6).

    Incident data, restricted incidents included, appears on almost every page and API
    response, and in search results, exports and error pages: one rule for all of them is the
    one that can't miss a page added later. No browser cache, shared proxy or "back" button
    keeps a copy after the user signs out or loses access. Static files (served by WhiteNoise
    before this runs) are the same for everyone and stay cacheable. The user is read after the
    view, so an API call signed in by token (which DRF authenticates in the view) counts too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # no-store, and no-cache/must-revalidate/private/max-age=0 and Expires for caches
            # that predate no-store.
            add_never_cache_headers(response)
        return response


_memo: ContextVar[dict[Any, Any] | None] = ContextVar("once_request_memo", default=None)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def request_memo() -> dict[Any, Any] | None:
    """The memo of the read-only request being served, or None (a write, a task, a command).

    For work that a read-only request would otherwise repeat with the same result, e.g. who
    may see which failure modes (`incidents.models._hidden_branches`), asked by a page's
    filter form and again by its search. Nothing is written while a GET is served, so what is
    worked out once stays true until the response is made; a request that writes gets no memo.
    """
    return _memo.get()


@contextmanager
def memo_scope() -> Iterator[dict[Any, Any]]:
    """A fresh memo for the duration of the block (what the middleware gives a safe request)."""
    memo: dict[Any, Any] = {}
    token = _memo.set(memo)
    try:
        yield memo
    finally:
        _memo.reset(token)


class ReadOnlyRequestMemoMiddleware:
    """Gives every GET/HEAD/OPTIONS request its own `request_memo()` (empty at the start,
    dropped at the end): a search page asked who may see which failure modes twice, about
    60 ms of query building each time at 10,000 incidents (docs/search.md, "Speed")."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method not in SAFE_METHODS:
            return self.get_response(request)
        with memo_scope():
            return self.get_response(request)
