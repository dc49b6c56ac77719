from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from common import audit
from common.concurrency import StaleVersion
from common.forms import id_of
from common.permissions import writer_required, writer_required_to_change
from common.validation import RecordInvalid
from gamedays import coverage
from gamedays.models import Scenario
from incidents import actions
from incidents.conflicts import merge_edit
from incidents.filters import DEFAULT_SORT, IncidentListFilterSet
from incidents.forms import CategoryForm
from incidents.models import Cause, FailureCategory, Incident
from remediations import impact
from remediations.actions import save_report
from remediations.impact_chart import draw_timeline
from remediations.models import FlagState, RecurrenceFlag, Remediation
from remediations.records import clean_report
from reports import drafts
from reports.forms import IncidentEditor
from reports.history import history_of
from reports.outline import split_report

PAGE_SIZE = 25


def _has_open_flags(user: Any) -> Exists:
    """True while the category is "recurred after fix": it has flags awaiting triage (that
    `user` may see: a flag of a restricted incident hidden from them doesn't count)."""
    flags = RecurrenceFlag.objects.visible_to(user)
    return Exists(flags.filter(category=OuterRef("pk"), state=FlagState.OPEN))


@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    incidents = Incident.objects.visible_to(request.user).originals(request.user).for_list()
    filterset = IncidentListFilterSet(request.GET, queryset=incidents)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"filter": filterset, "page": page, "sort_columns": _sort_columns(request)}
    # A filter or order it can't read is shown with its message, answered 400 like the API.
    status = 400 if filterset.is_bound and not filterset.is_valid() else 200
    return render(request, "incidents/incident_list.html", context, status=status)


# The sortable columns of the incident list: (label, ?sort= key, the key's first direction).
SORT_COLUMNS = [
    ("Severity", "severity"), ("Status", "status"), ("Started", "-started"),
    ("Updated", "-updated"),
]  # fmt: skip


def _sort_columns(request: HttpRequest) -> list[dict[str, str]]:
    """Column heads that sort: a click sorts by the column, a second click reverses it.
    `current` is the aria-sort value of the column sorted by, if any."""
    chosen = request.GET.get("sort") or DEFAULT_SORT
    columns = []
    for label, key in SORT_COLUMNS:
        reverse_key = key[1:] if key.startswith("-") else f"-{key}"
        current = ""
        if chosen in (key, reverse_key):
            # Severity and status ascend from the most urgent: SEV1, investigating.
            current = "descending" if chosen.startswith("-") else "ascending"
        columns.append(
            {"label": label, "next": reverse_key if chosen == key else key, "current": current}
        )
    return columns


@require_GET
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The incident as a postmortem reads, each thing once (PRODUCT.md, "Writing, duplicates
    and importing Markdown"): title and facts (severity, times, failure modes, services),
    recurrence flags, the summary, the story the form has no field for (impact, detection,
    resolution), the timeline, the causes, the remediations, and last the reflection (what
    went well or wrong, where we got lucky, lessons learned; reports.outline splits the text)."""
    user = request.user
    # A restricted incident hidden from the user answers 404, like one that doesn't exist.
    incident = get_object_or_404(
        Incident.objects.visible_to(user)
        .select_related("author")
        .prefetch_related(
            "categories",
            "services",
            "access_groups",
            Prefetch("causes", queryset=Cause.objects.select_related("category")),
            "timeline",
            Prefetch("remediations", queryset=Remediation.objects.visible_to(user).for_list()),
        ),
        pk=pk,
    )
    if (
        incident.duplicate_of_id is not None
        and Incident.objects.visible_to(user).filter(pk=incident.duplicate_of_id).exists()
    ):
        # A duplicate's URL is the original's, for good (PRODUCT.md, "Writing, duplicates …").
        # Not for someone the original is hidden from: the redirect would name a restricted
        # incident to them and lead to a 404, losing a report they may read.
        return HttpResponsePermanentRedirect(
            reverse("incident_detail", args=[incident.duplicate_of_id])
        )
    audit.viewed(incident, request)  # a restricted incident's views are audited
    story, reflection = split_report(incident.body)
    context = {
        "incident": incident,
        "story": story,
        "reflection": reflection,
        "duplicates": Incident.objects.visible_to(user).filter(duplicate_of=incident),
        # "This failure mode already has open remediations: …"
        "open_remediations": Remediation.objects.visible_to(user)
        .still_open()
        .filter(recurrence_links__incident=incident)
        .select_related("owner"),
        # "This recurred after … was done on …"
        # The game-day scenarios that caused it ("this hurt real users").
        "origin_scenarios": Scenario.objects.visible_to(user)
        .filter(incidents=incident)
        .select_related("game_day"),
        "recurrences": RecurrenceFlag.objects.visible_to(user)
        .filter(incident=incident)
        .exclude(state=FlagState.CLEARED)
        .select_related("category", "incident")
        .prefetch_related(Prefetch("remediations", Remediation.objects.visible_to(user))),
    }
    return render(request, "incidents/incident_detail.html", context)


@require_http_methods(["GET", "POST"])
@writer_required
def incident_create(request: HttpRequest) -> HttpResponse:
    scenario = None
    scenario_id = id_of(request.GET.get("scenario"))
    if scenario_id is not None:
        # "This hurt real users → new incident", from a game-day scenario.
        scenario = get_object_or_404(
            Scenario.objects.visible_to(request.user)
            .select_related("game_day", "category")
            .prefetch_related("services"),
            pk=scenario_id,
        )
    return _incident_form(request, Incident(), scenario=scenario)


def _from_scenario(scenario: Scenario) -> dict[str, Any]:
    """A new incident's fields filled in from the scenario that caused it, linking back."""
    game_day = scenario.game_day
    return {
        "title": f"{scenario.name} (game day “{game_day.title}”)"[:200],
        "summary": (
            f"Game day “{game_day.title}” ({game_day.get_environment_display()}), scenario "
            f"“{scenario.name}”, hurt real users: {scenario.get_absolute_url()}"
        ),
        "categories": [scenario.category],
        "services_text": ", ".join(s.name for s in scenario.services.all()),
        "started_at": scenario.ran_at or game_day.scheduled_at,
    }


@require_http_methods(["GET", "POST"])
@writer_required
def incident_edit(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Incident.objects.visible_to(request.user), pk=pk)
    return _incident_form(request, _for_edit(pk))


def _incident_form(
    request: HttpRequest, incident: Incident, *, scenario: Scenario | None = None
) -> HttpResponse:
    is_new = incident.pk is None
    if not is_new:
        audit.viewed(incident, request)  # a restricted incident's views are audited
    data = request.POST if request.method == "POST" else None
    context: dict[str, Any] = {"incident": incident, "origin_scenario": scenario}
    # What this person typed and didn't save, autosaved (reports/drafts.py), comes back.
    # Several forms (tabs) keep a draft each: the newest comes back (or the one asked for,
    # ?draft=KEY), the others are listed to resume instead.
    draft = None
    if data is None and scenario is None:
        found = drafts.drafts_for(request.user, None if is_new else incident)
        wanted = str(request.GET.get("draft") or "")
        draft = next((d for d in found if d.form_key == wanted), None) if wanted else None
        draft = draft or next(iter(found), None)
    if draft is not None:
        editor = IncidentEditor(incident, drafts.as_data(draft), viewer=request.user)
        context.update(drafts.notice(draft, incident, found))
    else:
        editor = IncidentEditor(incident, data, viewer=request.user)
        if data is None:
            editor.form.initial["form_key"] = drafts.new_key()
    if scenario is not None and data is None:
        editor.form.initial.update(_from_scenario(scenario))
    status = 200
    if data is not None:
        status = 400
        if editor.is_valid():
            base = actions.record_of(incident) if not is_new else {}
            try:
                report = clean_report(
                    editor.record(base), by=request.user, incident=None if is_new else incident
                )
                edits = editor.remediation_edits(incident)
                version = editor.form.cleaned_data.get("version")
                with transaction.atomic():
                    save_report(
                        incident, report, by=request.user, expected_version=version, edits=edits
                    )
                    if scenario is not None and is_new:
                        scenario.incidents.add(incident)  # linked back: the game day lists it
                    drafts.form_saved(request.user, None if is_new else incident, data)
            except RecordInvalid as invalid:
                editor.show(invalid.errors)
            except StaleVersion as stale:
                if isinstance(stale.instance, Remediation):
                    # Someone saved one of its remediations meanwhile: nothing was saved.
                    editor = _remediation_conflict(incident, data, stale.instance, request.user)
                    context["incident"] = _for_edit(incident.pk)
                    context.update(editor.context())
                    return render(request, "incidents/incident_form.html", context, status=409)
                # Someone saved meanwhile: keep every change of theirs this editor didn't
                # touch, keep everything this editor typed, and show what they changed.
                current = _for_edit(stale.instance.pk)
                merge = merge_edit(current, stale.submitted_version, report)
                editor = IncidentEditor.bound_to(
                    current,
                    merge.record,
                    version=current.version,
                    remediations=data,
                    viewer=request.user,
                )
                context.update(conflict=merge.conflict, incident=current)
                status = 409
            else:
                messages.success(
                    request, f"{incident.reference} {'created' if is_new else 'saved'}."
                )
                return redirect(incident)
    context.update(editor.context())
    return render(request, "incidents/incident_form.html", context, status=status)


def _remediation_conflict(
    incident: Incident, data: Any, mine: Remediation, viewer: Any
) -> IncidentEditor:
    """The form again, as typed, after a remediation edited on it was saved by someone else
    meanwhile: its row says what it is now and takes the current version, so saving again
    keeps this editor's values (the category form does the same)."""
    current = Remediation.objects.get(pk=mine.pk)
    data = data.copy()
    row = next(
        (n for n in range(int(data.get("existing-TOTAL_FORMS") or 0))
         if data.get(f"existing-{n}-id") == str(current.pk)),
        None,
    )  # fmt: skip
    if row is not None:
        data[f"existing-{row}-version"] = str(current.version)
    editor = IncidentEditor(_for_edit(incident.pk), data, viewer=viewer)
    editor.is_valid()
    message = (
        f"Someone saved the remediation “{current.title}” while you were editing (it is now "
        f"{current.get_status_display().lower()}): nothing was saved. Your changes are kept "
        "below: look them over and save again."
    )
    if row is not None:
        editor.existing.forms[row].add_error(None, message)
    else:
        editor.form.add_error(None, message)
    return editor


def _for_edit(pk: int) -> Incident:
    return Incident.objects.prefetch_related(
        "categories", "services", "timeline", "access_groups",
        Prefetch("causes", queryset=Cause.objects.select_related("category")),
    ).get(pk=pk)  # fmt: skip


@require_GET
def incident_history(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.visible_to(request.user), pk=pk)
    audit.viewed(incident, request)  # a restricted incident's views are audited
    context = {
        "object": incident,
        "title": f"{incident.reference} {incident.title}",
        "versions": history_of(incident, request.user),
    }
    return render(request, "common/history.html", context)


@require_GET
def category_context(request: HttpRequest) -> HttpResponse:
    """While classifying: what the knowledge base already knows about the chosen categories."""
    ids = [pk for pk in map(id_of, request.GET.getlist("categories")) if pk is not None][:20]
    exclude = id_of(request.GET.get("incident"))
    sections = []
    for category in FailureCategory.objects.visible_to(request.user).filter(pk__in=ids):
        incidents = (
            Incident.objects.visible_to(request.user).originals(request.user).in_category(category)
        )
        if exclude is not None:
            incidents = incidents.exclude(pk=exclude)
        sections.append(
            {
                "category": category,
                "incidents": list(incidents.order_by("-started_at")[:5]),
                "incident_count": incidents.count(),
                "open_remediations": list(
                    Remediation.objects.visible_to(request.user)
                    .still_open()
                    .covering(category)
                    .select_related("owner")
                ),
            }
        )
    return render(request, "incidents/_category_context.html", {"sections": sections})


@require_http_methods(["GET", "POST"])
@writer_required_to_change
def category_tree(request: HttpRequest) -> HttpResponse:
    form = CategoryForm(request.POST or None, prefix="new", viewer=request.user)
    if request.method == "POST" and form.is_valid():
        category = actions.save_category(form.save(commit=False), by=request.user)
        messages.success(request, f"Category “{category.path}” added.")
        return redirect("category_tree")
    # The tree by default; sorted by how the fixes fared (remediations.impact) or by when the
    # mode was last tested (gamedays.coverage), a flat table.
    sort = request.GET.get("sort", "")
    sorts = {**impact.SORTS, **coverage.SORTS}
    context: dict[str, Any] = {"form": form, "sorts": sorts}
    if sort in sorts:
        standings = coverage.with_tests(impact.standings(sort, request.user), sort, request.user)
        context.update(sort=sort, standings=standings)
    else:
        # Explicit order: Meta.ordering does not apply to a query with an aggregate.
        context["categories"] = (
            FailureCategory.objects.with_incident_counts(request.user)
            .annotate(flagged=_has_open_flags(request.user))
            .order_by("path")
        )
    status = 400 if form.errors else 200
    return render(request, "incidents/category_tree.html", context, status=status)


@require_GET
def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    category = get_object_or_404(
        FailureCategory.objects.with_incident_counts(user).annotate(flagged=_has_open_flags(user)),
        slug=slug,
    )
    subtree = category.descendants()
    hidden = Incident.objects.hidden_from(user).values("pk")
    # Did the fix work? Before and after each done fix, and the timeline with the fixes.
    found = impact.mode_impact(category, user)
    context: dict[str, Any] = {
        "category": category,
        "impact": found,
        "timeline_svg": draw_timeline(found.timeline, category.path) if found.timeline else "",
        "open_flags": RecurrenceFlag.objects.visible_to(user)
        .filter(category__in=subtree, state=FlagState.OPEN)
        .select_related("incident", "category")
        .prefetch_related(Prefetch("remediations", Remediation.objects.visible_to(user))),
        "children": FailureCategory.objects.visible_to(user).filter(parent=category),
        "incidents": Incident.objects.visible_to(user)
        .originals(user)
        .in_category(category)
        .for_list()[:100],
        "causes": Cause.objects.filter(category__in=subtree)
        .exclude(incident__in=hidden)
        .select_related("incident", "category"),
        "remediations": Remediation.objects.visible_to(user).in_category(category).for_list(),
        # When a game-day scenario on it or below it last ran, and those scenarios.
        "tests": coverage.mode_scenarios(category, user),
    }
    return render(request, "incidents/category_detail.html", context)


@require_http_methods(["GET", "POST"])
@writer_required
def category_edit(request: HttpRequest, slug: str) -> HttpResponse:
    category = get_object_or_404(FailureCategory.objects.visible_to(request.user), slug=slug)
    form = CategoryForm(request.POST or None, instance=category, viewer=request.user)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_category(
                form.save(commit=False), by=request.user,
                expected_version=form.cleaned_data.get("version"),
            )  # fmt: skip
        except StaleVersion as stale:
            current = FailureCategory.objects.get(pk=stale.instance.pk)
            theirs = current.description[:200] or "(no description)"
            data = request.POST.copy()
            data["version"] = str(current.version)  # a second save, after merging, goes through
            form = CategoryForm(data, instance=current, viewer=request.user)
            form.is_valid()
            form.add_error(
                None,
                "Someone saved this category while you were editing: nothing of yours was "
                f"saved. It is now “{current.path}”: {theirs}. Your text is kept below: "
                "merge and save again.",
            )
            status = 409
        else:
            messages.success(request, f"Category “{category.path}” saved.")
            return redirect(category)
    status = status if status != 200 else (400 if form.errors else 200)
    return render(
        request, "incidents/category_form.html", {"form": form, "category": category},
        status=status,
    )  # fmt: skip
