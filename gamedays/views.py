"""/game-days/: plan, run and close game days (PRODUCT.md, "Web pages")."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from gamedays.models import GameDay, Scenario
from remediations.models import Remediation

PAGE_SIZE = 50


@require_GET
def game_day_list(request: HttpRequest) -> HttpResponse:
    game_days = GameDay.objects.select_related("facilitator").prefetch_related("scenarios")
    page = Paginator(game_days, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "gamedays/game_day_list.html", {"page": page})


@require_GET
def game_day_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scenarios = Scenario.objects.select_related("category").prefetch_related(
        "services", Prefetch("verifies", Remediation.objects.select_related("owner"))
    )
    game_day = get_object_or_404(
        GameDay.objects.select_related("facilitator").prefetch_related(
            "participants", Prefetch("scenarios", scenarios)
        ),
        pk=pk,
    )
    return render(request, "gamedays/game_day_detail.html", {"game_day": game_day})
