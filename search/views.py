"""/search/?q=: the search page (the box in every page's header sends here)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from incidents.filters import IncidentFilterSet
from incidents.models import Incident
from search.backends.base import SearchTimeout
from search.forms import SearchForm
from search.service import search

PAGE_SIZE = 20


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    filterset = IncidentFilterSet(request.GET, queryset=Incident.objects.all())
    context: dict[str, object] = {"form": form, "filter": filterset}
    filtered = any(request.GET.get(name) for name in IncidentFilterSet.base_filters)
    context["filtered"] = filtered
    if not request.GET.get("q", "").strip():
        return render(request, "search/search.html", context)
    if not form.is_valid() or not filterset.is_valid():
        return render(request, "search/search.html", context, status=400)
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    try:
        found = search(
            form.cleaned_data["q"],
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
