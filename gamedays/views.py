"""/game-days/: plan, run and close game days, and the backlog of untested fixes (PRODUCT.md,
"Web pages", "Game day", "Scenario"). Every write goes through `gamedays.actions`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.concurrency import StaleVersion
from common.conflicts import describe_conflict, rebase
from common.forms import id_of
from common.permissions import writer_required
from common.validation import Errors, RecordInvalid, render_path, sentence
from gamedays.actions import (
    add_fix_to_game_day,
    awaiting_verification,
    close_game_day,
    game_day_record_of,
    hidden_scenario_ids,
    keeping_scenarios,
    record_outcome,
    save_game_day,
    start_game_day,
    without_scenarios,
)
from gamedays.conflicts import game_day_conflict, game_day_versions
from gamedays.filters import GameDayFilterSet
from gamedays.forms import CloseForm, GameDayEditor, OutcomeForm, fingerprint, fixes_for
from gamedays.models import GameDay, GameDayStatus, Scenario
from gamedays.records import MAX_VERIFIES, clean_game_day
from incidents.models import Incident
from remediations.models import Remediation

PAGE_SIZE = 50
BACKLOG_PAGE_SIZE = 100
OPEN = (GameDayStatus.PLANNED, GameDayStatus.RUNNING)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@require_GET
def game_day_list(request: HttpRequest) -> HttpResponse:
    # One FilterSet for this page and /api/game-days/: words, status, environment.
    filterset = GameDayFilterSet(request.GET, queryset=GameDay.objects.all(), request=request)
    # Scenarios hidden from the user (linked to a restricted incident) are not counted.
    hidden = Scenario.objects.hidden_from(request.user).values("pk")
    shown = ~Q(scenarios__in=hidden)
    game_days = filterset.qs.select_related("facilitator").annotate(
        scenario_count=Count("scenarios", filter=shown, distinct=True),
        ran_count=Count(
            "scenarios", filter=shown & ~Q(scenarios__outcome="pending"), distinct=True
        ),
    )
    upcoming = game_days.filter(status__in=OPEN).order_by("scheduled_at", "pk")
    earlier = game_days.exclude(status__in=OPEN).order_by("-scheduled_at", "-pk")
    page = Paginator(earlier, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "upcoming": upcoming,
        "page": page,
        "awaiting": awaiting_verification().visible_to(request.user).count(),
        "filter": filterset,
        "searched": request.GET.get("q", ""),
    }
    # A filter it can't read is shown with its message, and answered 400 like the API does.
    status = 400 if filterset.is_bound and not filterset.is_valid() else 200
    return render(request, "gamedays/game_day_list.html", context, status=status)


# --- Planning -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@writer_required
def game_day_create(request: HttpRequest) -> HttpResponse:
    initial: dict[str, Any] = {"environment": "staging"}
    scenarios: list[dict[str, Any]] = []
    fix_id = id_of(request.GET.get("fix"))
    if fix_id is not None:
        # "Add to a new game day" from the backlog: a scenario on the fix's mode verifying it.
        fix = get_object_or_404(
            Remediation.objects.visible_to(request.user).select_related("category"), pk=fix_id
        )
        if fix.category is not None:
            initial["title"] = f"Game day: {fix.category.path}"[:200]
            scenarios = [
                {"title": f"Test: {fix.title}"[:200], "category": fix.category.path,
                 "verifies": [fix.pk]}
            ]  # fmt: skip
    return _game_day_form(request, GameDay(), initial=initial, scenarios=scenarios)


@require_http_methods(["GET", "POST"])
@writer_required
def game_day_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _game_day_form(request, get_object_or_404(GameDay, pk=pk))


def _game_day_form(
    request: HttpRequest,
    game_day: GameDay,
    *,
    initial: dict[str, Any] | None = None,
    scenarios: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    is_new = game_day.pk is None
    data = request.POST if request.method == "POST" else None
    # Scenarios hidden from this editor are neither shown nor changed: kept as stored.
    hidden = hidden_scenario_ids(game_day, request.user)
    editor = GameDayEditor(
        game_day, data, initial=initial, scenarios=scenarios, hidden=hidden, user=request.user
    )
    context: dict[str, Any] = {"game_day": game_day}
    status = 200
    if data is not None:
        status = 400
        if editor.is_valid():
            errors = Errors()
            stored = game_day_record_of(game_day) if not is_new else {}
            typed = editor.record(without_scenarios(stored, hidden) if stored else {})
            record = clean_game_day(keeping_scenarios(typed, stored, hidden, request.user), errors)
            try:
                errors.raise_if_any()
                warnings = save_game_day(
                    game_day, record, by=request.user,
                    expected_version=editor.form.cleaned_data.get("version"),
                )  # fmt: skip
            except RecordInvalid as invalid:
                editor.show(invalid.errors)
            except StaleVersion as stale:
                # Someone saved meanwhile (perhaps a result, while the game day runs): nothing
                # of this editor's was saved; the form keeps all they typed, now based on the
                # current version, and the page shows what the other person changed.
                current = GameDay.objects.get(pk=stale.instance.pk)
                mine = {s["id"] for s in record["scenarios"] if s["id"]}
                hidden = hidden_scenario_ids(current, request.user)
                found = game_day_conflict(current, stale.submitted_version, mine, hidden)
                editor = GameDayEditor.bound_to(
                    current, data, version=current.version, added=found.added, gone=found.gone,
                    hidden=hidden, user=request.user,
                )  # fmt: skip
                editor.is_valid()
                context.update(conflict=found.conflict, game_day=current)
                status = 409
            else:
                for warning in warnings:
                    messages.warning(request, warning)
                messages.success(request, f"Game day {'planned' if is_new else 'saved'}.")
                return redirect(game_day)
    context.update(editor.context())
    context["awaiting"] = awaiting_verification().visible_to(request.user).count()
    return render(request, "gamedays/game_day_form.html", context, status=status)


SCENARIO_PREFIX = re.compile(r"scenarios-(\d{1,3}|__prefix__)")


@require_GET
def scenario_fixes(request: HttpRequest) -> HttpResponse:
    """The fixes a scenario row can verify, for the failure mode typed in it (htmx)."""
    prefix = request.GET.get("prefix", "")
    if not SCENARIO_PREFIX.fullmatch(prefix):
        return HttpResponseBadRequest("prefix must name a scenario row, e.g. scenarios-0.")
    path = request.GET.get(f"{prefix}-category", "")[:1000]
    ids = map(id_of, request.GET.getlist(f"{prefix}-verifies"))
    checked = [pk for pk in ids if pk is not None]
    fixes = fixes_for(path, checked[: MAX_VERIFIES + 10], request.user)
    context = {"prefix": prefix, "fixes": fixes}
    return render(request, "gamedays/_verifies.html", context)


@require_GET
def game_day_history(request: HttpRequest, pk: int) -> HttpResponse:
    game_day = get_object_or_404(GameDay, pk=pk)
    hidden = hidden_scenario_ids(game_day, request.user)
    context = {"game_day": game_day, "entries": game_day_versions(game_day, hidden)}
    return render(request, "gamedays/game_day_history.html", context)


# --- Running --------------------------------------------------------------------------------


@dataclass
class Card:
    """A scenario on the game day's page, with its outcome control."""

    scenario: Scenario
    form: OutcomeForm
    error: str = ""
    saved: bool = False


def _scenarios(user: Any) -> Any:
    """The scenarios `user` may see, with what a card shows of them (what `user` may see)."""
    remediations = Remediation.objects.visible_to(user)
    return (
        Scenario.objects.visible_to(user)
        .select_related("category")
        .prefetch_related(
            "services",
            Prefetch("incidents", Incident.objects.visible_to(user)),
            Prefetch("verifies", remediations.select_related("owner", "category")),
            Prefetch("remediations", remediations.order_by("opened_at", "pk")),
        )
    )


def _fresh_form(scenario: Scenario) -> OutcomeForm:
    return OutcomeForm(
        initial={
            "observations": scenario.observations,
            "ran_at": scenario.ran_at,
            "seen": fingerprint(scenario.outcome, scenario.observations),
        },
        auto_id=f"id_s{scenario.pk}_%s",
    )


def _detail(
    request: HttpRequest, game_day: GameDay, card: Card | None = None, status: int = 200
) -> HttpResponse:
    scenarios = list(_scenarios(request.user).filter(game_day=game_day))
    cards = [
        card if card is not None and card.scenario.pk == s.pk else Card(s, _fresh_form(s))
        for s in scenarios
    ]
    context = {
        "game_day": game_day,
        "cards": cards,
        "running": game_day.status in OPEN,
        "ran": sum(1 for s in scenarios if s.outcome != "pending"),
    }
    return render(request, "gamedays/game_day_detail.html", context, status=status)


@require_GET
def game_day_detail(request: HttpRequest, pk: int) -> HttpResponse:
    game_day = get_object_or_404(
        GameDay.objects.select_related("facilitator").prefetch_related("participants"), pk=pk
    )
    return _detail(request, game_day)


@require_POST
@writer_required
def scenario_outcome(request: HttpRequest, pk: int, scenario_pk: int) -> HttpResponse:
    """Record how one scenario went, in place (htmx), from a phone as much as a laptop.

    Two people recording two scenarios both keep their results (`record_outcome` applies each
    to the game day as it is now); when the same scenario's result changed since this page
    showed it, nothing is saved, the page says what it is now, and the text typed is kept.
    """
    scenario = get_object_or_404(
        Scenario.objects.visible_to(request.user).select_related("game_day"),
        pk=scenario_pk,
        game_day_id=pk,
    )
    game_day = scenario.game_day
    form = OutcomeForm(request.POST, auto_id=f"id_s{scenario.pk}_%s")
    error, saved, status = "", False, 200
    if game_day.status not in OPEN:
        error = (
            f"This game day is {game_day.get_status_display().lower()}: results are recorded "
            "while it is planned or running."
        )
        status = 409
    elif form.is_valid():
        seen = {"outcome": scenario.outcome, "observations": scenario.observations}
        try:
            if form.cleaned_data["seen"] != fingerprint(**seen):
                raise StaleVersion(game_day, game_day.version)
            record_outcome(
                scenario, outcome=form.cleaned_data["outcome"],
                observations=form.cleaned_data["observations"] or "",
                ran_at=form.cleaned_data["ran_at"], by=request.user, seen=seen,
            )  # fmt: skip
        except StaleVersion:
            scenario.refresh_from_db()
            error = (
                f"Someone recorded this scenario while you were: it is now "
                f"{scenario.get_outcome_display().lower()}"
                + (f", with: “{scenario.observations[:300]}”" if scenario.observations else "")
                + ". Nothing of yours was saved; your observations are kept below. Press a "
                "button again to save yours instead."
            )
            # A second press saves over what they now see.
            data = request.POST.copy()
            data["seen"] = fingerprint(scenario.outcome, scenario.observations)
            form = OutcomeForm(data, auto_id=f"id_s{scenario.pk}_%s")
            form.is_valid()
            status = 409
        except RecordInvalid as invalid:
            for path, message in invalid.errors.items:
                name = str(path[-1]) if path else ""
                form.add_error(name if name in form.fields else None, sentence(message))
            status = 400
        else:
            saved = True
    else:
        status = 400
    game_day.refresh_from_db()
    fresh = _scenarios(request.user).get(pk=scenario.pk)
    card = Card(fresh, _fresh_form(fresh) if saved else form, error=error, saved=saved)
    if _is_htmx(request):
        # htmx swaps only 2xx answers: the card carries the message and what was typed.
        context = {"card": card, "game_day": game_day, "running": game_day.status in OPEN}
        return render(request, "gamedays/_scenario.html", context)
    if saved:
        messages.success(request, f"“{fresh.name}”: {fresh.get_outcome_display().lower()}.")
        return redirect(fresh)
    return _detail(request, game_day, card, status=status)


@require_POST
@writer_required
def game_day_start(request: HttpRequest, pk: int) -> HttpResponse:
    game_day = get_object_or_404(GameDay, pk=pk)
    try:
        game_day = start_game_day(game_day, by=request.user)
    except RecordInvalid as invalid:  # the stored game day no longer passes its validator
        for path, message in invalid.errors.items:
            messages.error(request, f"{render_path(path)}: {sentence(message)}" if path
                           else sentence(message))  # fmt: skip
        return redirect(game_day)
    messages.success(request, f"“{game_day.title}” is {game_day.get_status_display().lower()}.")
    return redirect(game_day)


@require_http_methods(["GET", "POST"])
@writer_required
def game_day_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close a game day with its notes (done), or cancel it."""
    game_day = get_object_or_404(GameDay, pk=pk)
    if game_day.status not in OPEN:
        messages.info(
            request,
            f"“{game_day.title}” is already {game_day.get_status_display().lower()}: "
            "edit it to change its notes.",
        )
        return redirect(game_day)
    data: QueryDict | None = request.POST if request.method == "POST" else None
    form = CloseForm(data, initial={"notes": game_day.notes, "version": game_day.version})
    context: dict[str, Any] = {"game_day": game_day}
    status = 200
    if data is not None:
        status = 400
        closing = GameDayStatus.CANCELLED if data.get("action") == "cancel" else GameDayStatus.DONE
        if form.is_valid():
            try:
                close_game_day(
                    game_day, status=closing, notes=form.cleaned_data["notes"] or "",
                    by=request.user, seen_version=form.cleaned_data["version"],
                )  # fmt: skip
            except StaleVersion as stale:
                current = GameDay.objects.get(pk=game_day.pk)
                conflict = describe_conflict(current, stale.submitted_version, ["notes", "status"])
                context.update(game_day=current, conflict=conflict)
                form = CloseForm(rebase(data, current.version))
                form.is_valid()
                status = 409
            except RecordInvalid as invalid:
                for path, message in invalid.errors.items:
                    name = str(path[0]) if path else ""
                    form.add_error(name if name in form.fields else None, sentence(message))
            else:
                verb = "cancelled" if closing == GameDayStatus.CANCELLED else "closed"
                messages.success(request, f"“{game_day.title}” is {verb}.")
                return redirect(game_day)
    pending = (
        Scenario.objects.visible_to(request.user)
        .filter(game_day=game_day, outcome="pending")
        .count()
    )
    context.update(form=form, pending=pending)
    return render(request, "gamedays/game_day_close.html", context, status=status)


# --- The backlog of untested fixes ----------------------------------------------------------


@require_GET
def backlog(request: HttpRequest) -> HttpResponse:
    """Done prevent/mitigate fixes still unverified, oldest done first, by failure mode."""
    fixes_awaiting = awaiting_verification().visible_to(request.user)
    page = Paginator(fixes_awaiting, BACKLOG_PAGE_SIZE).get_page(request.GET.get("page"))
    fixes = list(page)
    planned_in: dict[int, list[GameDay]] = {}
    through = Scenario.verifies.through.objects.filter(
        remediation_id__in=[f.pk for f in fixes], scenario__outcome="pending",
        scenario__game_day__status__in=OPEN,
    ).select_related("scenario__game_day")  # fmt: skip
    for row in through:
        planned_in.setdefault(row.remediation_id, []).append(row.scenario.game_day)
    for fix in fixes:
        fix.planned_in = planned_in.get(fix.pk, [])  # type: ignore[attr-defined]
    by_mode: dict[str, list[Remediation]] = {}
    for fix in fixes:  # oldest first, so each mode comes where its oldest fix is
        by_mode.setdefault(fix.category.path if fix.category else "", []).append(fix)
    context = {
        "page": page,
        "groups": list(by_mode.items()),
        "game_days": GameDay.objects.filter(status=GameDayStatus.PLANNED).order_by(
            "scheduled_at", "pk"
        ),
    }
    return render(request, "gamedays/backlog.html", context)


@require_POST
@writer_required
def backlog_add(request: HttpRequest) -> HttpResponse:
    """ "Add to a game day": a planned one (a scenario on the fix's mode verifies it), or a new
    one (the plan form, filled in)."""
    fix = get_object_or_404(
        Remediation.objects.visible_to(request.user).select_related("category"),
        pk=id_of(request.POST.get("fix")) or 0,
    )
    target = id_of(request.POST.get("game_day"))
    if target is None:
        return redirect(f"{reverse('game_day_create')}?fix={fix.pk}")
    game_day = get_object_or_404(GameDay, pk=target)
    try:
        scenario, created = add_fix_to_game_day(game_day, fix, by=request.user)
    except RecordInvalid as invalid:
        for _, message in invalid.errors.items:
            messages.error(request, sentence(message))
        return redirect("game_day_backlog")
    if created:
        messages.success(
            request,
            f"“{fix.title}” will be tested in “{game_day.title}”: a scenario on "
            f"{scenario.category.path} was added. Say what it injects and what must hold.",
        )
        return redirect(reverse("game_day_edit", args=[game_day.pk]) + f"#scenario-{scenario.pk}")
    messages.success(
        request, f"“{fix.title}” will be tested in “{game_day.title}”, by “{scenario.name}”."
    )
    return redirect(scenario)
