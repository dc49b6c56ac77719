"""/account/tokens/: what lets calendar apps (and, later, scripts) reach Once without a login."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import CalendarFeed

# The secret of a feed just made, kept in the session until the next page shows it once.
JUST_ISSUED = "calendar_feed_secret"


@never_cache
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """Your calendar feed: make one (or a new one, which ends the old), or revoke it."""
    user = request.user
    if not user.is_authenticated:  # LoginRequiredMiddleware sends visitors to log in first
        raise PermissionDenied
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            if CalendarFeed.revoke_for(user):
                messages.success(request, "Calendar feed revoked: its address no longer works.")
        else:
            _, secret = CalendarFeed.issue(user)
            request.session[JUST_ISSUED] = secret
        return HttpResponseRedirect(reverse("account_tokens"))
    secret = request.session.pop(JUST_ISSUED, None)
    feed_url = (
        request.build_absolute_uri(reverse("game_day_calendar", args=[secret])) if secret else None
    )
    feed = CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).first()
    return render(request, "accounts/tokens.html", {"feed": feed, "feed_url": feed_url})
