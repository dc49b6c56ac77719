"""/account/tokens/: what lets calendar apps and scripts reach Once without a login; and the
incident form's dialog that adds a person."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.actions import ONLY_STAFF_ADD_PEOPLE, add_person
from accounts.forms import NewTokenForm, PersonForm
from accounts.models import ApiToken, CalendarFeed
from common.forms import id_of
from common.permissions import writer_required
from common.roles import can_manage
from common.validation import RecordInvalid

# A secret just made, kept in the session until the next page shows it once. (The session
# table already holds what opens a session, so the key passing through it for one redirect
# exposes nothing a reader of that table couldn't use anyway; the page pops it.)
JUST_ISSUED = "calendar_feed_secret"
JUST_ISSUED_TOKEN = "api_token_key"  # noqa: S105  (a session key's name)


@never_cache
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """Your API tokens (make one with a name and a lifetime, see them, revoke them) and your
    calendar feed (make one, or a new one, which ends the old, or revoke it).

    Every active user may, viewers too: reading through the API is reading. A key or a feed
    address is shown once, on the page right after it was made. A token that isn't yours
    answers 404, as if it didn't exist.
    """
    user = request.user
    if not user.is_authenticated:  # LoginRequiredMiddleware sends visitors to log in first
        raise PermissionDenied
    here = HttpResponseRedirect(reverse("account_tokens"))
    form = NewTokenForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create_token":
            form = NewTokenForm(request.POST)
            if form.is_valid():
                try:
                    token, key = ApiToken.issue(
                        user,
                        name=form.cleaned_data["name"],
                        days=form.cleaned_data["days"],
                        by=user,
                    )
                except RecordInvalid as invalid:
                    form.show(invalid.errors)
                else:
                    request.session[JUST_ISSUED_TOKEN] = {"id": token.pk, "key": key}
                    return here
            status = 400
        elif action == "revoke_token":
            token_id = id_of(request.POST.get("token"))
            mine = ApiToken.objects.filter(user=user, pk=token_id).first() if token_id else None
            if mine is None:
                raise Http404("No such token.")
            if ApiToken.objects.filter(pk=mine.pk).revoke(by=user):
                messages.success(request, f"Token “{mine.name}” revoked: it no longer works.")
            return here
        elif action == "revoke":
            if CalendarFeed.revoke_for(user):
                messages.success(request, "Calendar feed revoked: its address no longer works.")
            return here
        elif action in ("create", "regenerate"):
            _, feed_secret = CalendarFeed.issue(user)
            request.session[JUST_ISSUED] = feed_secret
            return here
        else:
            return HttpResponse("Unknown action.", status=400, content_type="text/plain")

    secret = request.session.pop(JUST_ISSUED, None) if request.method == "GET" else None
    feed_url = (
        request.build_absolute_uri(reverse("game_day_calendar", args=[secret])) if secret else None
    )
    feed = CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).first()
    new_token = request.session.pop(JUST_ISSUED_TOKEN, None) if request.method == "GET" else None
    api_tokens = list(ApiToken.objects.filter(user=user).unrevoked())
    context = {
        "feed": feed,
        "feed_url": feed_url,
        "form": form,
        "api_tokens": api_tokens,
        "new_token": new_token,
    }
    return render(request, "accounts/tokens.html", context, status=status)


@require_http_methods(["GET", "POST"])
@writer_required
def person_add(request: HttpRequest) -> HttpResponse:
    """The incident form's in-place dialog that adds a person to own a remediation.

    GET: the dialog's form for staff, or for other writers the message saying who can add
    people (accounts.actions.ONLY_STAFF_ADD_PEOPLE). POST: add the person; 200 with an empty
    form and an htmx `personAdded` event (`{"id": int, "username": str}`) that
    static/js/once.js answers by offering them as an owner and choosing them; 400 with the
    form and its messages; 403 with the message for a writer who isn't staff, and for viewers.
    """
    allowed = can_manage(request.user)
    form = PersonForm(
        request.POST if request.method == "POST" and allowed else None, prefix="person"
    )
    context = {"form": form, "allowed": allowed, "refusal": ONLY_STAFF_ADD_PEOPLE}
    template = "accounts/_add_person.html"
    if request.method == "POST":
        if not allowed:
            return render(request, template, context, status=403)
        if form.is_valid():
            person = add_person(
                form.cleaned_data["username"], form.cleaned_data["email"], by=request.user
            )
            context.update(form=PersonForm(prefix="person"), added=person)
            response = render(request, template, context)
            response["HX-Trigger"] = json.dumps(
                {"personAdded": {"id": person.pk, "username": person.get_username()}}
            )
            return response
        return render(request, template, context, status=400)
    return render(request, template, context)
