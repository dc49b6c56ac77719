"""Drafts of the incident form: what a person typed, autosaved on the server before they saved
it, and offered back when they open the form again (PRODUCT.md, "Writing, duplicates and
importing Markdown": work in progress is autosaved as a draft per user and restored).

A draft belongs to one user, one incident (None: a new incident) and one form: each form gets a
random `form_key` when it opens, so two tabs keep a draft each (issue 15). It is only ever
shown to its user, and only while they may still see and write that incident. Saving the form
deletes its draft and notes the form as saved (SavedForm), so that an autosave still in flight
when Save was clicked is dropped rather than bringing the draft back. Its size is capped
(`max_draft_chars`), and so is each user's number of drafts (`MAX_DRAFTS_PER_USER`, the
oldest goes first).

Once the session has ended, the autosave is answered 401 in JSON, not with the login page
(static/js/drafts.js then keeps the text in the browser until it can be saved).
"""

from __future__ import annotations

import datetime
import json
import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from common.permissions import writer_required
from common.roles import can_write
from incidents.models import Incident
from reports.models import MAX_DRAFTS_PER_USER, Draft, SavedForm, max_draft_chars

# Never kept: the CSRF token is the page's, not something the person typed; the form's keys
# are the draft's own (`form_key`, and the draft it was restored from).
NOT_KEPT = {"csrfmiddlewaretoken", "form_key", "draft_from"}

# A form key as the page sends it: at most this many characters (longer ones are cut).
KEY_CHARS = 40

# Saved forms' markers are kept this long: an autosave in flight arrives within seconds.
MARKER_DAYS = 2

# What the autosave hears once the session has ended (signed out, idle timeout).
SIGNED_OUT = (
    "You are signed out: your text is kept in this page (and this browser). Sign in in "
    "another tab, then save."
)

# The largest version PostgreSQL's integer column holds.
MAX_VERSION = 2**31 - 1


class DraftTooLarge(ValueError):
    """A draft longer than `max_draft_chars()`: refused whole, the last one saved is kept."""


class DraftRefused(ValueError):
    """A draft the form could not have sent (a version no incident has): answered 400."""


def new_key() -> str:
    """A fresh form key: 22 URL-safe random characters."""
    return secrets.token_urlsafe(16)


def key_of(data: QueryDict, name: str = "form_key") -> str:
    """The form key `data` carries under `name` ("" when none), cut to KEY_CHARS."""
    return str(data.get(name) or "").replace("\x00", "")[:KEY_CHARS]


def fields_of(data: QueryDict) -> dict[str, list[str]]:
    """The form's fields as {name: [values]}, NUL characters dropped (PostgreSQL's JSON can't
    hold them, and the one validator refuses them on saving anyway)."""
    return {
        name.replace("\x00", ""): [value.replace("\x00", "") for value in data.getlist(name)]
        for name in data
        if name not in NOT_KEPT
    }


def keep_draft(user: Any, incident: Incident | None, data: QueryDict) -> Draft | None:
    """Save `data` (the form as sent) as `user`'s draft of `incident` (None: a new one), under
    the form's `form_key` (a form without one gets a draft of its own each time).

    Returns None when that form was saved already (an autosave that was in flight): nothing
    is kept. A form restored from another draft (`draft_from`) takes that draft's place.
    Raises DraftTooLarge past `max_draft_chars()` characters, DraftRefused for a version
    outside PostgreSQL's integer range. The caller has checked that `user` may write and see
    `incident`.
    """
    fields = fields_of(data)
    size = len(json.dumps(fields, ensure_ascii=False))
    if size > max_draft_chars():
        raise DraftTooLarge(
            f"This draft is {size:,} characters long; drafts hold at most "
            f"{max_draft_chars():,}. Save the incident to keep it."
        )
    base_version = None
    if incident is not None:
        typed = (fields.get("version") or [""])[0].strip()
        base_version = int(typed) if typed.isascii() and typed.isdigit() else incident.version
        if not 0 < base_version <= MAX_VERSION:
            raise DraftRefused(
                "This form's version is not one this incident has had: reload the page to "
                "edit the incident as it is now."
            )
    key = key_of(data) or new_key()
    if SavedForm.objects.filter(user=user, form_key=key).exists():
        return None  # the form was saved meanwhile: this autosave came too late
    mine = Draft.objects.filter(user=user, incident=incident)
    defaults = {"fields": fields, "base_version": base_version}
    try:
        with transaction.atomic():
            draft, _ = Draft.objects.update_or_create(
                user=user, incident=incident, form_key=key, defaults=defaults
            )
    except IntegrityError:  # two autosaves at once both created it: the second updates it
        draft, _ = Draft.objects.update_or_create(
            user=user, incident=incident, form_key=key, defaults=defaults
        )
    replaced = key_of(data, "draft_from")
    if replaced and replaced != key:
        mine.filter(form_key=replaced).delete()
    _prune(user)
    return draft


def _prune(user: Any) -> None:
    """Keep `user`'s MAX_DRAFTS_PER_USER newest drafts, and saved forms younger than
    MARKER_DAYS."""
    since = timezone.now() - datetime.timedelta(days=MARKER_DAYS)
    SavedForm.objects.filter(user=user, saved_at__lt=since).delete()
    oldest = Draft.objects.filter(user=user).order_by("-updated_at")[MAX_DRAFTS_PER_USER:]
    Draft.objects.filter(pk__in=list(oldest.values_list("pk", flat=True))).delete()


def drafts_for(user: Any, incident: Incident | None) -> list[Draft]:
    """`user`'s unsaved drafts of `incident` (None: new incidents), newest first — none when
    they may no longer write, or no longer see that incident: a draft never shows what they
    can't."""
    if not can_write(user):
        return []
    if incident is not None and not incident.is_visible_to(user):
        return []
    return list(Draft.objects.filter(user=user, incident=incident).order_by("-updated_at", "-pk"))


def draft_for(user: Any, incident: Incident | None, key: str = "") -> Draft | None:
    """`user`'s draft of `incident` under form `key` (or their newest one), as `drafts_for`."""
    found = drafts_for(user, incident)
    return next((d for d in found if d.form_key == key), None) if key else next(iter(found), None)


def drop_draft(user: Any, incident: Incident | None, key: str = "") -> None:
    """Forget `user`'s drafts of `incident` (None: new ones) typed in form `key` (all of them
    without a key): discarded."""
    if getattr(user, "pk", None) is not None:
        drafts = Draft.objects.filter(user=user, incident=incident)
        (drafts.filter(form_key=key) if key else drafts).delete()


def form_saved(user: Any, incident: Incident | None, data: QueryDict) -> None:
    """The form `data` was saved (`incident`: None when it was a new one's form): its
    draft, and the draft it was restored from, go; the form is noted as saved so that a late
    autosave of it is dropped. A form without a key drops all of `user`'s drafts of
    `incident`."""
    if getattr(user, "pk", None) is None:
        return
    key = key_of(data)
    drafts = Draft.objects.filter(user=user, incident=incident)
    if not key:
        drafts.delete()
        return
    replaced = key_of(data, "draft_from")
    if replaced and replaced != key:
        drafts.filter(form_key=replaced).delete()
    drafts.filter(form_key=key).delete()
    SavedForm.objects.update_or_create(user=user, form_key=key)
    _prune(user)


def as_data(draft: Draft) -> QueryDict:
    """The draft as the form's submitted data, to bind the form to: a new form (a fresh
    `form_key`) that takes the draft's place when it autosaves (`draft_from`)."""
    data = QueryDict(mutable=True)
    for name, values in (draft.fields or {}).items():
        if isinstance(values, list) and name not in NOT_KEPT:
            data.setlist(str(name), [str(value) for value in values])
    data["form_key"] = new_key()
    data["draft_from"] = draft.form_key
    return data


def gist(draft: Draft) -> str:
    """A line naming a draft in a list: its title and the first line of text it holds."""
    fields = draft.fields or {}

    def first(name: str) -> str:
        values = fields.get(name)
        return str(values[0]) if isinstance(values, list) and values else ""

    title = first("title").strip() or "Untitled"
    lines = f"{first('summary')}\n{first('body')}".splitlines()
    text = next((line.strip() for line in lines if line.strip() and not line.startswith("#")), "")
    line = f"{title} — {text}" if text else title
    return line if len(line) <= 120 else line[:119] + "…"


def notice(draft: Draft, incident: Incident, others: list[Draft]) -> dict[str, Any]:
    """What the form says of a restored draft: when it was taken, whether the incident
    was saved since (then saving shows what changed, as any edit conflict does), and the
    other unsaved drafts (`others`: other tabs' forms) to resume instead."""
    changed = (
        incident.pk is not None
        and draft.base_version is not None
        and draft.base_version != incident.version
    )
    return {
        "draft": draft,
        "draft_taken": draft.updated_at.astimezone(datetime.UTC),
        "draft_stale": changed,
        "other_drafts": [
            {"key": other.form_key, "gist": gist(other), "taken": other.updated_at}
            for other in others
            if other.pk != draft.pk
        ],
    }


def _incident(request: HttpRequest, pk: int | None) -> Incident | None:
    # A restricted incident hidden from the user answers 404, like one that doesn't exist.
    if pk is None:
        return None
    return get_object_or_404(Incident.objects.visible_to(request.user), pk=pk)


def _signed_out() -> JsonResponse:
    # Not the login page: the autosave is a fetch() that would follow it and read a 200.
    return JsonResponse({"message": SIGNED_OUT, "signed_out": True}, status=401)


@login_not_required  # answered here: 401 in JSON, not a redirect to the login page
@require_POST
def save_draft(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """POST the form's fields (the page's autosave): 200 {"saved_at", "message"}; 401
    {"message", "signed_out"} once the session has ended; 400 {"message"} for a version
    outside PostgreSQL's integer range; 413 {"message"} when too large; 403 for a viewer; 404
    for an incident hidden from them. A form saved already answers 200 and keeps nothing."""
    if not request.user.is_authenticated:
        return _signed_out()
    return _save_draft(request, pk)


@writer_required
def _save_draft(request: HttpRequest, pk: int | None) -> HttpResponse:
    incident = _incident(request, pk)
    try:
        draft = keep_draft(request.user, incident, request.POST)
    except DraftTooLarge as refused:
        return JsonResponse({"message": str(refused)}, status=413)
    except DraftRefused as refused:
        return JsonResponse({"message": str(refused)}, status=400)
    if draft is None:
        return JsonResponse({"saved_at": None, "message": "Saved."})
    saved_at = draft.updated_at.astimezone(datetime.UTC)
    return JsonResponse(
        {
            "saved_at": saved_at.isoformat(),
            "message": f"Draft saved at {saved_at:%H:%M:%S} UTC.",
        }
    )


@require_POST
@writer_required
def discard_draft(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Forget the draft (the one the form was restored from, `draft_from`; all of them without
    it) and open the form afresh (the notice's "Discard" button)."""
    incident = _incident(request, pk)
    drop_draft(request.user, incident, key_of(request.POST, "draft_from"))
    messages.info(request, "Draft discarded.")
    if incident is None:
        return redirect("incident_create")
    return redirect("incident_edit", pk=incident.pk)
