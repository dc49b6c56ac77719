"""Middleware of Once's own: the audit log's request context, and no caching of what is
confidential."""

from __future__ import annotations

from collections.abc import Callable

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
