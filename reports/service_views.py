"""The service pages: `/services/` and `/services/<id>/` (PRODUCT.md, "Service"; issue 17).

Design notes are edited in place with htmx (the same URLs work without script: a page of its
own, then back). Merging is for staff.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from common import history
from common.concurrency import StaleVersion
from common.forms import id_of
from common.permissions import staff_required, writer_required
from common.validation import Errors
from incidents import actions
from incidents.models import Service, ServiceAlias
from incidents.records import clean_design_notes
from reports import services
from reports.service_chart import draw_months


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _service_or_redirect(pk: int, user: Any) -> Service | HttpResponse:
    """The service, or a permanent redirect when it was merged into another one (or 404). A
    service only restricted incidents name is hidden from others (Service.objects.visible_to):
    404, like one that doesn't exist."""
    visible = Service.objects.visible_to(user)
    service = visible.filter(pk=pk).prefetch_related("aliases").first()
    if service is not None:
        return service
    alias = ServiceAlias.objects.select_related("service").filter(former_id=pk).first()
    if alias is None or not visible.filter(pk=alias.service_id).exists():
        raise Http404("No such service.")
    return redirect(alias.service, permanent=True)


@require_GET
def service_list(request: HttpRequest) -> HttpResponse:
    sort = request.GET.get("sort", "name")
    sort = sort if sort in services.SORTS else "name"
    context = {
        "rows": services.service_rows(request.user, sort),
        "sort": sort,
        "sorts": services.SORTS,
        "recent_days": services.RECENT_DAYS,
    }
    return render(request, "services/service_list.html", context)


@require_GET
def service_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = _service_or_redirect(pk, request.user)
    if isinstance(found, HttpResponse):
        return found
    service, user = found, request.user
    incidents = services.incidents_of(service, user)
    # One query gives the chart and the count: every incident falls in one month.
    by_month = services.monthly_counts(service, user)
    count = sum(by_month.values())
    months = services.per_month(service, user, counts=by_month) if count else []
    scenarios = services.scenarios_of(service, user)
    today = timezone.localdate()
    remediations = list(services.remediations_of(service, user)[: services.SHOWN_REMEDIATIONS + 1])
    context: dict[str, Any] = {
        "service": service,
        "incident_count": count,
        "incidents": list(incidents.for_list()[: services.SHOWN_INCIDENTS]) if count else [],
        "shown_incidents": services.SHOWN_INCIDENTS,
        "shown_modes": services.SHOWN_MODES,
        "modes": services.failure_modes(service, user) if count else [],
        "remediations": remediations[: services.SHOWN_REMEDIATIONS],
        # Counted only when there are more than are shown (a busy service has thousands).
        "remediation_count": len(remediations)
        if len(remediations) <= services.SHOWN_REMEDIATIONS
        else services.remediations_of(service, user).count(),
        "today": today,
        "scenarios": list(scenarios[: services.SHOWN_SCENARIOS]),
        "chart": draw_months(months, service.name) if count else "",
        "months": months,
    }
    return render(request, "services/service_detail.html", context)


@require_http_methods(["GET", "POST"])
@writer_required
def service_notes(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit the design notes: a form (in place with htmx); a stale version is a conflict that
    keeps the text typed and shows the notes as now saved (409)."""
    service = Service.objects.visible_to(request.user).filter(pk=pk).first()
    if service is None:
        # Merged into another service (or 404): its notes are now part of that one's.
        moved = _service_or_redirect(pk, request.user)
        assert isinstance(moved, HttpResponse)
        alias = ServiceAlias.objects.select_related("service").get(former_id=pk)
        if request.method == "GET":
            return redirect("service_notes", alias.service_id)
        return _merged_meanwhile(request, alias)
    context: dict[str, Any] = {"service": service, "notes": service.design_notes}
    status = 200
    if request.method == "POST":
        errors = Errors()
        notes = clean_design_notes(request.POST.get("design_notes", ""), errors)
        version = id_of(request.POST.get("version"))
        context["notes"] = request.POST.get("design_notes", "")
        if errors:
            context["error"] = f"Design notes {errors.items[0][1]}"
            status = 400
        elif version is None:
            context["error"] = "The form lost its version: reload the page and try again."
            status = 400
        else:
            try:
                actions.save_service(
                    service, by=request.user, design_notes=notes, expected_version=version
                )
            except StaleVersion as stale:
                current = Service.objects.get(pk=stale.instance.pk)
                record = current.history.order_by("-history_id").select_related("history_user")
                context.update(service=current, conflict=record.first())
                status = 409
            else:
                if _is_htmx(request):
                    return render(request, "services/_design_notes.html", {"service": service})
                messages.success(request, f"Design notes of {service.name} saved.")
                return redirect(service)
    template = "services/_notes_form.html" if _is_htmx(request) else "services/notes_form.html"
    return render(request, template, context, status=status)


def _merged_meanwhile(request: HttpRequest, alias: ServiceAlias) -> HttpResponse:
    """Notes typed for a service merged into another while they were written: a conflict on
    the service kept (409), the text typed kept in the form, its notes (the merged ones
    included) shown as now saved, so nothing typed is lost."""
    current = alias.service
    context = {
        "service": current,
        "notes": request.POST.get("design_notes", ""),
        "merged_from": alias.name,
        "conflict": True,  # the merge is the conflict: its message names it
    }
    template = "services/_notes_form.html" if _is_htmx(request) else "services/notes_form.html"
    return render(request, template, context, status=409)


@require_GET
def service_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every version of the service's name, description and design notes, newest first."""
    service = get_object_or_404(Service.objects.visible_to(request.user), pk=pk)
    context = {
        "object": service,
        "title": service.name,
        "versions": history.versions(service, ["name", "description", "design_notes"]),
    }
    return render(request, "common/history.html", context)


@require_http_methods(["GET", "POST"])
@staff_required
def service_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge this service into another one that is the same system (staff only)."""
    source = get_object_or_404(Service.objects.visible_to(request.user), pk=pk)
    error = ""
    status = 200
    if request.method == "POST":
        into = id_of(request.POST.get("into"))
        visible = Service.objects.visible_to(request.user)
        target = visible.filter(pk=into).first() if into is not None else None
        if target is None:
            error, status = "Choose the service to keep.", 400
        else:
            try:
                actions.merge_services(source, target, by=request.user)
            except ValueError as refused:
                error, status = str(refused), 400
            else:
                messages.success(request, f"{source.name} is now a name of {target.name}.")
                return redirect(target)
    others = Service.objects.visible_to(request.user).exclude(pk=source.pk)
    context = {"service": source, "others": others, "error": error}
    return render(request, "services/merge_form.html", context, status=status)
