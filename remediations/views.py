from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from common import audit
from common.concurrency import StaleVersion
from common.conflicts import describe_conflict
from common.forms import id_of, people
from common.history import versions
from common.permissions import writer_required, writer_required_to_change
from common.validation import Errors
from incidents.models import Incident
from remediations.actions import (
    FlagAlreadyResolved,
    TriageRefused,
    follow_up_of,
    next_steps,
    remediation_record_of,
    save_remediation,
    triage_flag,
)
from remediations.conflicts import form_data, merge_remediation_edit
from remediations.filters import PAGE_DEFAULT_SORT, SORTS, RemediationFilterSet, ordered
from remediations.forms import RemediationForm, TriageForm
from remediations.models import FlagState, RecurrenceFlag, Remediation, withheld_versions
from remediations.records import clean_remediation

PAGE_SIZE = 50
CONFLICT_FIELDS = [
    "title", "kind", "status", "owner", "due_date", "category", "tracker_url",
    "opened_at", "done_at", "description",
]  # fmt: skip


@require_GET
def remediation_list(request: HttpRequest) -> HttpResponse:
    remediations = Remediation.objects.visible_to(request.user).for_list()
    # The page opens on what needs doing: open and overdue first (the API keeps its order).
    query = request.GET.copy()
    query.setdefault("sort", PAGE_DEFAULT_SORT)
    filterset = RemediationFilterSet(query, queryset=remediations)
    # A filter it can't read is shown with its message, and answered 400 like the API does.
    status = 400 if filterset.is_bound and not filterset.is_valid() else 200
    chosen = query["sort"] if query["sort"] in SORTS else PAGE_DEFAULT_SORT
    rows = filterset.qs
    if chosen != query["sort"]:  # an unknown order: the default one, as the form says
        rows = ordered(rows, chosen)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    # Column heads that sort, as on the incident list (issue 16): by title, by due date.
    heads = {
        key: {"sort": key, "current": "ascending" if chosen == key else ""}
        for key in ("title", "due")
    }
    return render(
        request, "remediations/remediation_list.html",
        {"filter": filterset, "page": page, "sort_heads": heads}, status=status,
    )  # fmt: skip


@require_GET
def remediation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    # A remediation of a restricted incident hidden from the user answers 404.
    visible = Remediation.objects.visible_to(user)
    remediation = get_object_or_404(
        visible.for_list().select_related("follow_up_of", "scenario__game_day"), pk=pk
    )
    follows = remediation.follow_up_of_id
    if follows is not None and not visible.filter(pk=follows).exists():
        remediation.follow_up_of = None  # what it follows up is hidden from the user
    # A restricted incident's fix shows its incident's title: its views are audited too.
    audit.viewed(remediation.incident, request, part=remediation)
    context = {
        "remediation": remediation,
        # What was opened because it did not hold, and (in the facts) what it follows up.
        "follow_ups": visible.filter(follow_up_of=remediation).order_by("opened_at", "id"),
        # The evidence for its priority: incidents of its failure mode while it stayed open.
        "while_open": Incident.objects.visible_to(user)
        .filter(recurrence_links__remediation=remediation)
        .order_by("-started_at")
        .only("id", "title", "started_at", "severity"),
        "recurrences": RecurrenceFlag.objects.visible_to(user)
        .filter(remediations=remediation)
        .exclude(state=FlagState.CLEARED)
        .select_related("incident", "category"),
    }
    return render(request, "remediations/remediation_detail.html", context)


def flags_with_fixes(user: Any) -> Any:
    """The flags `user` may see with their incident, failure mode and named fixes (those
    `user` may see), in a fixed number of queries."""
    flags = RecurrenceFlag.objects.visible_to(user).select_related(
        "incident", "category", "resolved_by"
    )
    return flags.prefetch_related(
        Prefetch(
            "remediations", queryset=Remediation.objects.visible_to(user).select_related("owner")
        )
    )


@require_GET
def flag_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", FlagState.OPEN)
    flags = flags_with_fixes(request.user)
    if state in FlagState.values:
        flags = flags.filter(state=state)
    page = Paginator(flags, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page, "state": state, "states": FlagState.choices,
        "recurrence_kinds": settings.ONCE_RECURRENCE_KINDS,
    }  # fmt: skip
    return render(request, "remediations/flag_list.html", context)


@require_http_methods(["GET", "POST"])
@writer_required_to_change
def flag_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A recurrence, and its triage (PRODUCT.md, "Triage"). After "the fix did not hold" the
    page offers a follow-up for each named fix; after "not a recurrence", to reclassify."""
    flag = get_object_or_404(flags_with_fixes(request.user), pk=pk)
    form = TriageForm(request.POST or None)
    status, error = 200, ""
    if request.method == "POST":
        if form.is_valid():
            try:
                triage_flag(
                    flag, outcome=form.cleaned_data["outcome"], by=request.user,
                    note=form.cleaned_data["note"],
                )  # fmt: skip
            except TriageRefused as refused:
                error, status = str(refused), 400
            except FlagAlreadyResolved as already:
                error, status = str(already), 409
            else:
                said = f"{flag.incident.reference}: {flag.get_outcome_display().lower()}."
                back = request.POST.get("next", "")
                if back and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
                    # Back on the incident or category page: what to do next goes with it
                    # (the flag page shows it itself).
                    messages.success(request, with_next_steps(said, flag))
                    return redirect(back)
                messages.success(request, said)
                return redirect("flag_detail", pk=flag.pk)
        else:
            error, status = "Choose an outcome: press one of the three buttons.", 400
    context = {
        "flag": flag, "error": error,
        "note": request.POST.get("note", "") if request.method == "POST" else "",
    }  # fmt: skip
    return render(request, "remediations/flag_detail.html", context, status=status)


def with_next_steps(text: str, flag: RecurrenceFlag) -> str:
    """A message followed by the links to what the triage calls for, as safe HTML."""
    steps = next_steps(flag)
    if not steps:
        return text
    links = format_html_join(
        " ", '<a class="next-step" href="{}">{}</a>', ((s["url"], s["label"]) for s in steps)
    )
    return format_html("{} {}", text, links)


@require_GET
def remediation_history(request: HttpRequest, pk: int) -> HttpResponse:
    remediation = get_object_or_404(
        Remediation.objects.visible_to(request.user).select_related("incident"), pk=pk
    )
    audit.viewed(remediation.incident, request, part=remediation)  # audited like the incident's
    context = {
        "object": remediation,
        "title": remediation.title,
        "versions": versions(
            remediation,
            CONFLICT_FIELDS,
            related=("owner", "category"),
            withheld=withheld_versions(request.user),
        ),
    }
    return render(request, "common/history.html", context)


def _seen_version(remediation: Remediation, version: int | None, user: Any) -> int | None:
    """The version an edit started from, or None when it is one withheld from `user` (the
    conflict page compares with it: it would show its words as "before")."""
    withheld = withheld_versions(user)
    if version is None or withheld is None:
        return version
    history = remediation.history
    row = history.filter(version=version).order_by("-history_id").first()
    return None if row is not None and withheld(row) else version


@require_http_methods(["GET", "POST"])
@writer_required
def remediation_create(request: HttpRequest) -> HttpResponse:
    remediation = Remediation()
    incident_id = id_of(request.GET.get("incident"))
    follows = id_of(request.GET.get("follow_up"))
    scenario_id = id_of(request.GET.get("scenario"))
    if follows is not None:
        # "Open a follow-up" after a flag was triaged "the fix did not hold".
        fix = get_object_or_404(
            Remediation.objects.visible_to(request.user).select_related("owner", "category"),
            pk=follows,
        )
        flag_id = id_of(request.GET.get("flag"))
        flag = (
            RecurrenceFlag.objects.visible_to(request.user)
            .select_related("incident")
            .filter(pk=flag_id)
            .first()
            if flag_id is not None
            else None
        )
        remediation = follow_up_of(fix, flag)
    elif scenario_id is not None:
        # "New remediation" from a game-day scenario: what it found becomes work.
        remediation = from_scenario(scenario_id, request.user)
    elif incident_id is not None:
        # "Add a remediation" from an incident page: it comes from that incident.
        incident = get_object_or_404(
            Incident.objects.visible_to(request.user).prefetch_related("categories"),
            pk=incident_id,
        )
        remediation.incident = incident
        remediation.category = next(iter(incident.categories.all()), None)
    return _remediation_form(request, remediation)


def from_scenario(scenario_id: int, user: Any) -> Remediation:
    """A new remediation filled in from a game-day scenario: its origin, failure mode and
    services, and a link back. Not saved."""
    # Game days build on remediations, which never import them: the model comes from the
    # relation (Remediation.scenario).
    scenarios = cast(Any, Remediation._meta.get_field("scenario").related_model)._default_manager
    scenario = get_object_or_404(
        scenarios.visible_to(user)
        .select_related("game_day", "category")
        .prefetch_related("services"),
        pk=scenario_id,
    )
    services = ", ".join(s.name for s in scenario.services.all())
    game_day = scenario.game_day.title.replace("[", "\\[").replace("]", "\\]")
    ran = f" ({scenario.get_outcome_display().lower()})" if scenario.ran_at else ""
    description = (
        f"Found on game day [{game_day}]({scenario.get_absolute_url()}), "
        f"scenario “{scenario.name}”{ran}." + (f"\n\nServices: {services}." if services else "")
    )
    return Remediation(
        title=f"After game day: {scenario.name}"[:200],
        category=scenario.category,
        scenario=scenario,
        description=description,
    )


@require_http_methods(["GET", "POST"])
@writer_required
def remediation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _remediation_form(
        request, get_object_or_404(Remediation.objects.visible_to(request.user), pk=pk)
    )


def _remediation_form(request: HttpRequest, remediation: Remediation) -> HttpResponse:
    is_new = remediation.pk is None
    if not is_new:
        audit.viewed(remediation.incident, request, part=remediation)  # like the incident's form
    data = request.POST if request.method == "POST" else None
    form = RemediationForm(data, instance=remediation, viewer=request.user)
    context: dict[str, Any] = {"remediation": remediation}
    if data is not None and form.is_valid():
        errors = Errors()
        base = remediation_record_of(remediation) if not is_new else {}
        record = clean_remediation({**base, **form.record()}, errors)
        if errors:
            form.show(errors)
        else:
            try:
                save_remediation(
                    remediation, record, by=request.user,
                    expected_version=form.cleaned_data.get("version"),
                )  # fmt: skip
            except StaleVersion as stale:
                current = Remediation.objects.for_list().get(pk=stale.instance.pk)
                seen = _seen_version(current, stale.submitted_version, request.user)
                conflict = describe_conflict(current, seen, CONFLICT_FIELDS)
                merged = merge_remediation_edit(current, seen or 0, record)
                form = RemediationForm(
                    form_data(merged, version=current.version),
                    instance=current,
                    viewer=request.user,
                )
                context.update(conflict=conflict, remediation=current)
            else:
                messages.success(request, f"Remediation {'created' if is_new else 'saved'}.")
                return redirect(remediation)
    context["form"] = form
    context["people"] = people()  # the owner field's suggestions
    status = 409 if "conflict" in context else (400 if data is not None else 200)
    return render(request, "remediations/remediation_form.html", context, status=status)
