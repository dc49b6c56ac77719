"""/search/?q=: the search page (the box in every page's header sends here)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from common.api import MAX_OFFSET
from common.validation import Errors
from incidents.filters import IncidentFilterSet
from incidents.models import Incident
from search.backends.base import SearchTimeout
from search.forms import SearchForm
from search.service import search
from search.similar import read_question, suggest

PAGE_SIZE = 20
# Past this the offset would not fit the database's 64-bit OFFSET; such a page is empty anyway.
LAST_PAGE = MAX_OFFSET // PAGE_SIZE


def _page_number(raw: str) -> int:
    """Any ?page= gives a page: nonsense the first, a number past 64 bits the last we can ask."""
    try:
        return min(max(1, int(raw)), LAST_PAGE)
    except ValueError:
        return 1


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    filterset = IncidentFilterSet(request.GET, queryset=Incident.objects.all(), request=request)
    context: dict[str, object] = {"form": form, "filter": filterset}
    filtered = any(request.GET.get(name) for name in IncidentFilterSet.base_filters)
    context["filtered"] = filtered
    if not request.GET.get("q", "").strip():
        return render(request, "search/search.html", context)
    if not form.is_valid() or not filterset.is_valid():
        return render(request, "search/search.html", context, status=400)
    page = _page_number(request.GET.get("page", ""))
    try:
        found = search(
            form.cleaned_data["q"],
            viewer=request.user,
            within=filterset.qs if filtered else None,
            newest_first=form.cleaned_data["sort"] == "newest",
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
    except SearchTimeout:
        context["timed_out"] = True
        return render(request, "search/search.html", context, status=503)
    context.update(
        found=found,
        page=page,
        first_rank=(page - 1) * PAGE_SIZE + 1,
        previous_page=page - 1 if page > 1 else None,
        next_page=page + 1 if page * PAGE_SIZE < found.count else None,
    )
    return render(request, "search/search.html", context)


PANEL_SHOWN = 5


@require_GET
def similar_panel(request: HttpRequest) -> HttpResponse:
    """The incident form's side panel: "have we seen this before?", as the title, summary and
    failure modes are typed (the form's own field names: `services_text`, `incident`)."""
    errors = Errors()
    params = request.GET.copy()
    params.setlist("exclude", [request.GET.get("incident", "")])
    question = read_question(params, errors, services_key="services_text")
    context: dict[str, object] = {"asked": bool(question), "incident_id": question.exclude}
    if errors:  # typed text the form will refuse anyway: say nothing rather than fail
        return render(request, "search/_similar.html", {**context, "asked": False})
    try:
        context["suggestions"] = suggest(question, viewer=request.user)[:PANEL_SHOWN]
    except SearchTimeout:
        context["timed_out"] = True
    return render(request, "search/_similar.html", context)
