"""/incidents/<id>/duplicate/: "Mark as duplicate of…" and its undoing (PRODUCT.md, "Writing,
duplicates and importing Markdown"; issue 15, item 5). The action is
incidents.actions.mark_duplicate, the one the API's `duplicate_of` reaches too."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from common import audit
from common.concurrency import StaleVersion
from common.forms import VersionField, id_of
from common.permissions import writer_required
from common.validation import RecordInvalid, sentence
from incidents.actions import mark_duplicate
from incidents.models import Incident


class DuplicateForm(forms.Form):
    version = VersionField()
    original = forms.CharField(
        label="Duplicate of",
        required=False,
        max_length=40,
        help_text="The original's reference (INC-42) or id. Empty: not a duplicate.",
    )
    carry_timeline = forms.BooleanField(
        label="Add its timeline entries to the original's", required=False
    )
    carry_causes = forms.BooleanField(label="Add its causes to the original's", required=False)


@require_http_methods(["GET", "POST"])
@writer_required
def incident_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(
        Incident.objects.visible_to(request.user).select_related("duplicate_of"), pk=pk
    )
    proposed = id_of(request.GET.get("of"))
    # An original hidden from them is not named to them (PRODUCT.md, "Who may see …").
    hidden_original = (
        incident.duplicate_of_id is not None
        and not Incident.objects.visible_to(request.user)
        .filter(pk=incident.duplicate_of_id)
        .exists()
    )
    shown = proposed or (None if hidden_original else incident.duplicate_of_id)
    initial: dict[str, Any] = {
        "version": incident.version,
        "original": f"INC-{shown}" if shown else "",
    }
    form = DuplicateForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            original = None if "unmark" in request.POST else (data["original"].strip() or None)
            try:
                mark_duplicate(
                    incident,
                    original,
                    by=request.user,
                    expected_version=data["version"],
                    carry_timeline=data["carry_timeline"],
                    carry_causes=data["carry_causes"],
                )
            except RecordInvalid as invalid:
                for path, message in invalid.errors.items:
                    field = "original" if path == ("duplicate_of",) else None
                    form.add_error(field, sentence(message))
            except StaleVersion:
                form.add_error(
                    None,
                    "Someone saved this incident meanwhile: nothing was changed. "
                    "Check it and try again.",
                )
                status = 409
            else:
                if incident.duplicate_of_id is None:
                    messages.success(request, f"{incident.reference} is no longer a duplicate.")
                    return redirect(incident)
                messages.success(
                    request,
                    f"{incident.reference} is marked as a duplicate of "
                    f"INC-{incident.duplicate_of_id}.",
                )
                return redirect("incident_detail", incident.duplicate_of_id)
    audit.viewed(incident, request)  # a restricted incident's views are audited
    proposal = (
        Incident.objects.visible_to(request.user).filter(pk=proposed).first() if proposed else None
    )
    context = {
        "incident": incident, "form": form, "proposal": proposal,
        "hidden_original": hidden_original,
    }  # fmt: skip
    return render(request, "incidents/incident_duplicate.html", context, status=status)
