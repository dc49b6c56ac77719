from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from common.concurrency import StaleVersion
from common.conflicts import describe_conflict, rebase
from common.history import versions
from incidents.models import Incident
from remediations.actions import save_remediation
from remediations.filters import RemediationFilterSet
from remediations.forms import RemediationForm
from remediations.models import Remediation

PAGE_SIZE = 50
CONFLICT_FIELDS = [
    "title", "kind", "status", "owner", "due_date", "category", "tracker_url",
    "opened_at", "done_at", "description",
]  # fmt: skip


@require_GET
def remediation_list(request: HttpRequest) -> HttpResponse:
    filterset = RemediationFilterSet(request.GET, queryset=Remediation.objects.for_list())
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "remediations/remediation_list.html", {"filter": filterset, "page": page}
    )


@require_GET
def remediation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    remediation = get_object_or_404(Remediation.objects.for_list(), pk=pk)
    return render(request, "remediations/remediation_detail.html", {"remediation": remediation})


@require_GET
def remediation_history(request: HttpRequest, pk: int) -> HttpResponse:
    remediation = get_object_or_404(Remediation, pk=pk)
    context = {
        "object": remediation,
        "title": remediation.title,
        "versions": versions(remediation, CONFLICT_FIELDS, related=("owner", "category")),
    }
    return render(request, "common/history.html", context)


@require_http_methods(["GET", "POST"])
def remediation_create(request: HttpRequest) -> HttpResponse:
    remediation = Remediation()
    incident_id = request.GET.get("incident", "")
    if incident_id.isdigit():
        # "Add a remediation" from an incident page: it comes from that incident.
        incident = get_object_or_404(
            Incident.objects.prefetch_related("categories"), pk=incident_id
        )
        remediation.incident = incident
        remediation.category = next(iter(incident.categories.all()), None)
    return _remediation_form(request, remediation)


@require_http_methods(["GET", "POST"])
def remediation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _remediation_form(request, get_object_or_404(Remediation, pk=pk))


def _remediation_form(request: HttpRequest, remediation: Remediation) -> HttpResponse:
    is_new = remediation.pk is None
    data = request.POST if request.method == "POST" else None
    form = RemediationForm(data, instance=remediation)
    context: dict[str, Any] = {"remediation": remediation}
    if data is not None and form.is_valid():
        try:
            saved = save_remediation(
                form.instance, by=request.user, expected_version=form.cleaned_data.get("version")
            )
        except StaleVersion as stale:
            current = stale.instance
            conflict = describe_conflict(current, stale.submitted_version, CONFLICT_FIELDS)
            form = RemediationForm(rebase(data, current.version), instance=current)
            context.update(conflict=conflict, remediation=current)
        else:
            messages.success(request, f"Remediation {'created' if is_new else 'saved'}.")
            return redirect(saved)
    context["form"] = form
    status = 409 if "conflict" in context else (400 if data is not None else 200)
    return render(request, "remediations/remediation_form.html", context, status=status)
