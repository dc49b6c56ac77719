"""Drafts of the incident form: what a person typed, autosaved on the server before they saved
it, and offered back when they open the form again (PRODUCT.md, "Writing, duplicates and
importing Markdown": work in progress is autosaved as a draft per user and restored).

A draft belongs to one user and one incident (None: a new incident). It is only ever shown to
its user, and only while they may still see and write that incident; saving the incident
deletes it. Its size is capped (`max_draft_chars`), and so is each user's number of drafts
(`MAX_DRAFTS_PER_USER`, the oldest goes first).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from common.permissions import writer_required
from common.roles import can_write
from incidents.models import Incident
from reports.models import MAX_DRAFTS_PER_USER, Draft, max_draft_chars

# Never kept: the CSRF token is the page's, not something the person typed.
NOT_KEPT = {"csrfmiddlewaretoken"}


class DraftTooLarge(ValueError):
    """A draft longer than `max_draft_chars()`: refused whole, the last one saved is kept."""


def fields_of(data: QueryDict) -> dict[str, list[str]]:
    """The form's fields as {name: [values]}, NUL characters dropped (PostgreSQL's JSON can't
    hold them, and the one validator refuses them on saving anyway)."""
    return {
        name.replace("\x00", ""): [value.replace("\x00", "") for value in data.getlist(name)]
        for name in data
        if name not in NOT_KEPT
    }


def keep_draft(user: Any, incident: Incident | None, data: QueryDict) -> Draft:
    """Save `data` (the form as sent) as `user`'s draft of `incident` (None: a new one).

    Raises DraftTooLarge past `max_draft_chars()` characters. The caller has checked that
    `user` may write and see `incident`.
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
        typed = (fields.get("version") or [""])[0]
        base_version = int(typed) if typed.isascii() and typed.isdigit() else incident.version
    defaults = {"fields": fields, "base_version": base_version}
    try:
        with transaction.atomic():
            draft, _ = Draft.objects.update_or_create(
                user=user, incident=incident, defaults=defaults
            )
    except IntegrityError:  # two autosaves at once both created it: the second updates it
        draft, _ = Draft.objects.update_or_create(user=user, incident=incident, defaults=defaults)
    oldest = Draft.objects.filter(user=user).order_by("-updated_at")[MAX_DRAFTS_PER_USER:]
    Draft.objects.filter(pk__in=list(oldest.values_list("pk", flat=True))).delete()
    return draft


def draft_for(user: Any, incident: Incident | None) -> Draft | None:
    """`user`'s draft of `incident` (None: a new one), or None — also when they may no
    longer write, or no longer see that incident: a draft never shows what they can't."""
    if not can_write(user):
        return None
    if incident is not None and not incident.is_visible_to(user):
        return None
    return Draft.objects.filter(user=user, incident=incident).first()


def drop_draft(user: Any, incident: Incident | None) -> None:
    """Forget `user`'s draft of `incident` (None: a new one): it was saved or discarded."""
    if getattr(user, "pk", None) is not None:
        Draft.objects.filter(user=user, incident=incident).delete()


def as_data(draft: Draft) -> QueryDict:
    """The draft as the form's submitted data, to bind the form to."""
    data = QueryDict(mutable=True)
    for name, values in (draft.fields or {}).items():
        if isinstance(values, list):
            data.setlist(str(name), [str(value) for value in values])
    return data


def notice(draft: Draft, incident: Incident) -> dict[str, Any]:
    """What the form says of a restored draft: when it was taken, and whether the incident
    was saved since (then saving shows what changed, as any edit conflict does)."""
    changed = (
        incident.pk is not None
        and draft.base_version is not None
        and draft.base_version != incident.version
    )
    return {
        "draft": draft,
        "draft_taken": draft.updated_at.astimezone(datetime.UTC),
        "draft_stale": changed,
    }


def _incident(request: HttpRequest, pk: int | None) -> Incident | None:
    # A restricted incident hidden from the user answers 404, like one that doesn't exist.
    if pk is None:
        return None
    return get_object_or_404(Incident.objects.visible_to(request.user), pk=pk)


@require_POST
@writer_required
def save_draft(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """POST the form's fields (the page's autosave): 200 {"saved_at", "message"}, 413 with
    {"message"} when too large, 403 for a viewer, 404 for an incident hidden from them."""
    incident = _incident(request, pk)
    try:
        draft = keep_draft(request.user, incident, request.POST)
    except DraftTooLarge as refused:
        return JsonResponse({"message": str(refused)}, status=413)
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
    """Forget the draft and open the form afresh (the notice's "Discard" button)."""
    incident = _incident(request, pk)
    drop_draft(request.user, incident)
    messages.info(request, "Draft discarded.")
    if incident is None:
        return redirect("incident_create")
    return redirect("incident_edit", pk=incident.pk)
