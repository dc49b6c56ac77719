"""/review/ and /review/<YYYY>-W<WW>/: the agenda, and the decisions made on it.

Every decision is a plain form POST that works without JavaScript: it redirects back to the
agenda at the row or section, with what happened said there; a refused one shows the agenda
again (400, or 409 when someone else decided first) with the reason on the row and what was
typed kept. With htmx the same POST answers with just the changed row or group, which
replaces the old one in place, and with the minutes ("Decided in this meeting") swapped out of
band. Each decision is written into the minutes by `reviews.actions`, in its own transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from common.concurrency import StaleVersion
from common.forms import id_of
from common.permissions import writer_required
from common.validation import Errors
from incidents.models import FailureCategory, Incident
from remediations.actions import FlagAlreadyResolved, TriageRefused, merged_changes
from remediations.forms import TriageForm
from remediations.models import RecurrenceFlag, Remediation, RemediationStatus
from remediations.records import clean_remediation
from reviews import actions, agenda
from reviews.forms import (
    GroupTriageForm,
    MeetingForm,
    RemediationDecisionForm,
    ReopenForm,
    ReviewedForm,
)
from reviews.models import ReviewMeeting
from reviews.weeks import Week

STALE_INCIDENT = "Someone changed this incident meanwhile: reload the agenda and decide again."
STALE_REMEDIATION = (
    "Someone changed this remediation meanwhile: reload the agenda and decide again."
)
OUT_OF_DATE = "The page was out of date: reload the agenda and decide again."
# The rows a decision is made on, by the prefix of their id on the page ("flag-12").
ROW_KINDS = ("incident", "flag", "mode", "remediation", "done")


@dataclass
class Note:
    """A sentence shown at a section of the agenda: what a decision did, or why it was refused."""

    text: str
    level: str = "success"


def _week(label: str) -> Week:
    try:
        return Week.parse(label)
    except ValueError as error:
        raise Http404(str(error)) from error


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@require_GET
def review_this_week(request: HttpRequest) -> HttpResponse:
    return _agenda_page(request, Week.current())


@require_GET
def review_week(request: HttpRequest, week: str) -> HttpResponse:
    return _agenda_page(request, _week(week))


def _owners() -> list[tuple[int, str]]:
    """Everyone a remediation can be assigned to: one query, shared by every row's form."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return list(users.values_list("pk", "username"))


def _agenda_page(
    request: HttpRequest,
    week: Week,
    status: int = 200,
    *,
    bound: dict[str, dict[int, Any]] | None = None,
    errors: dict[str, dict[int, str]] | None = None,
    notes: dict[str, list[Note]] | None = None,
    meeting_form: MeetingForm | None = None,
) -> HttpResponse:
    """The agenda. A refused decision comes back with its form (`bound`, by kind and row),
    the reason on its row (`errors`) or at its section (`notes`)."""
    built = agenda.build(week, viewer=request.user)
    top, by_section = _messages_by_section(request)
    for section, extra in (notes or {}).items():
        by_section[section] += extra
    peak = max((n for trend in built.trends for n in trend.counts), default=0)
    context = {
        "agenda": built,
        "week": week,
        "presenting": request.GET.get("present") == "1",
        "meeting_form": meeting_form or MeetingForm(instance=built.meeting),
        "meeting": built.meeting,
        "attendee_names": built.attendee_names,
        "decisions": built.decisions,
        "bound": {kind: {} for kind in ROW_KINDS} | (bound or {}),
        "errors": {kind: {} for kind in ROW_KINDS} | (errors or {}),
        "section_notes": by_section,
        "messages": top,  # the others are shown at their section
        "team": _owners(),
        "statuses": RemediationStatus.choices,
        "trend_peak": peak,
    }
    return render(request, "reviews/agenda.html", context, status=status)


def _messages_by_section(request: HttpRequest) -> tuple[list[Any], dict[str, list[Note]]]:
    """The flashed messages: those tagged "at:<section>" go to that section, the rest on top."""
    top: list[Any] = []
    by_section: dict[str, list[Note]] = defaultdict(list)
    for message in messages.get_messages(request):
        at = [t[3:] for t in message.extra_tags.split() if t.startswith("at:")]
        if at:
            by_section[at[0]].append(Note(str(message), message.level_tag))
        else:
            top.append(message)
    return top, by_section


def _back(request: HttpRequest, week: Week, anchor: str, section: str, text: str) -> HttpResponse:
    """Without JavaScript: say what happened at the section and go back to the row."""
    messages.success(request, text, extra_tags=f"at:{section}")
    return redirect(reverse("review_week", args=[week.label]) + f"#{anchor}")


def _fragment(
    request: HttpRequest, template: str, context: dict[str, Any], week: Week, status: int = 200
) -> HttpResponse:
    """A row or group for htmx, with the minutes swapped out of band (they may have grown)."""
    html = render_to_string(template, {"week": week, **context}, request=request)
    html += render_to_string(
        "reviews/_decisions.html",
        {"week": week, "decisions": agenda.decisions_of(week, viewer=request.user), "oob": True},
        request=request,
    )
    return HttpResponse(html, status=status)


# --- Incidents -------------------------------------------------------------------------------


@require_POST
@writer_required
def incident_reviewed(request: HttpRequest, week: str, pk: int) -> HttpResponse:
    the_week = _week(week)
    incident = get_object_or_404(Incident.objects.visible_to(request.user), pk=pk)
    form = ReviewedForm(request.POST)
    error, status = "", 200
    if not form.is_valid():
        error, status = _first_error(form), 400
    else:
        try:
            actions.mark_reviewed(
                incident, week=the_week, by=request.user,
                expected_version=form.cleaned_data["version"],
                resolved_at=form.cleaned_data["resolved_at"],
            )  # fmt: skip
        except actions.ReviewRefused as refused:
            error, status = str(refused), 400
        except StaleVersion:
            error, status = STALE_INCIDENT, 409
    if _is_htmx(request):
        incident.refresh_from_db()
        context = {
            "incident": incident, "reviewed": not error, "error": error,
            "form": form if error else None,
        }  # fmt: skip
        return _fragment(request, "reviews/_incident_row.html", context, the_week, status)
    if error:
        return _agenda_page(
            request, the_week, status,
            bound={"incident": {incident.pk: form}}, errors={"incident": {incident.pk: error}},
        )  # fmt: skip
    section = "new" if incident.started_at >= the_week.starts_at else "unreviewed"
    anchor = f"incident-{incident.pk}" if section == "new" else section
    return _back(request, the_week, anchor, section, f"{incident.reference} is reviewed.")


def _first_error(form: Any) -> str:
    for name, messages_ in form.errors.items():
        if name == "version":
            return OUT_OF_DATE
        label = form.fields[name].label if name in form.fields else ""
        return f"{label}: {messages_[0]}" if label else str(messages_[0])
    return OUT_OF_DATE


# --- Recurrence flags ------------------------------------------------------------------------


def _hidden(user: Any) -> Any:
    """The incidents `user` may not see, as a subquery: their flags and remediations are
    absent from the review's actions too (404, as on their own pages)."""
    return Incident.objects.hidden_from(user).values("pk")


def _flags(user: Any) -> Any:
    hidden = _hidden(user)
    return (
        RecurrenceFlag.objects.visible_to(user)
        .select_related("incident", "category")
        .prefetch_related(
            Prefetch("remediations", Remediation.objects.exclude(incident__in=hidden))
        )
    )


def _remediations(user: Any) -> Any:
    return Remediation.objects.exclude(incident__in=_hidden(user)).select_related(
        "owner", "category"
    )


@require_POST
@writer_required
def flag_decision(request: HttpRequest, week: str, pk: int) -> HttpResponse:
    the_week = _week(week)
    flag = get_object_or_404(_flags(request.user), pk=pk)
    form = TriageForm(request.POST, prefix=f"flag-{flag.pk}")
    error, status = "", 200
    if not form.is_valid():
        error, status = "Choose an outcome: press one of the three buttons.", 400
    else:
        try:
            actions.triage(
                flag, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"],
                week=the_week, by=request.user,
            )  # fmt: skip
        except TriageRefused as refused:
            error, status = str(refused), 400
        except FlagAlreadyResolved as already:
            error, status = str(already), 409
    if _is_htmx(request):
        context = {"flag": flag, "form": form, "error": error}
        return _fragment(request, "reviews/_flag_row.html", context, the_week, status)
    if status == 409:  # no longer on the agenda: say so at the section
        return _agenda_page(
            request, the_week, status,
            notes={"flags": [Note(f"{flag.incident.reference}: {error}", "error")]},
        )  # fmt: skip
    if error:
        return _agenda_page(
            request, the_week, status,
            bound={"flag": {flag.pk: form}}, errors={"flag": {flag.pk: error}},
        )  # fmt: skip
    return _back(request, the_week, "flags", "flags", _triaged_text(flag))


def _triaged_text(flag: RecurrenceFlag) -> str:
    text = f"{flag.incident.reference}: {flag.get_outcome_display().lower()}."
    if actions.next_steps_of(flag):
        text += " What to do next is under “Decided in this meeting”."
    return text


@require_POST
@writer_required
def flag_group_decision(request: HttpRequest, week: str, category: int) -> HttpResponse:
    """One outcome and note for every open recurrence of a failure mode the page showed."""
    the_week = _week(week)
    modes = FailureCategory.objects.visible_to(request.user).only("pk", "path", "slug")
    mode = get_object_or_404(modes, pk=category)
    form = GroupTriageForm(request.POST, prefix=f"mode-{mode.pk}")
    error, status = "", 200
    results: list[actions.Triaged] = []
    if not form.is_valid():
        error = (
            "Choose an outcome: press one of the three buttons."
            if "outcome" in form.errors
            else _first_error(form)
        )
        status = 400
    else:
        flags = list(
            _flags(request.user)
            .filter(pk__in=form.cleaned_data["flags"], category=mode)
            .order_by("pk")
        )
        try:
            results = actions.triage_group(
                flags, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"],
                week=the_week, by=request.user,
            )  # fmt: skip
        except TriageRefused as refused:
            error, status = str(refused), 400
    failed = [r for r in results if r.error]
    if failed:
        status = 409
    if _is_htmx(request):
        shown = sorted(
            _flags(request.user).filter(pk__in=_posted_ids(request, mode.pk), category=mode),
            key=lambda f: (f.incident.started_at, f.pk),
        )
        context = {
            "group": agenda.FlagGroup(mode, shown, len(shown)), "form": form, "error": error,
            "bound": {"flag": {}}, "errors": {"flag": {r.flag.pk: r.error for r in failed}},
        }  # fmt: skip
        return _fragment(request, "reviews/_flag_group.html", context, the_week, status)
    if error:
        return _agenda_page(
            request, the_week, status,
            bound={"mode": {mode.pk: form}}, errors={"mode": {mode.pk: error}},
        )  # fmt: skip
    notes = [Note(_triaged_text(r.flag)) for r in results if not r.error]
    notes += [Note(f"{r.flag.incident.reference}: {r.error}", "error") for r in failed]
    if failed:
        return _agenda_page(request, the_week, status, notes={"flags": notes})
    for note in notes:
        messages.success(request, note.text, extra_tags="at:flags")
    return redirect(reverse("review_week", args=[the_week.label]) + "#flags")


def _posted_ids(request: HttpRequest, category: int) -> list[int]:
    ids = map(id_of, request.POST.getlist(f"mode-{category}-flags"))
    return [pk for pk in ids if pk is not None]


# --- Remediations ----------------------------------------------------------------------------


@require_POST
@writer_required
def remediation_decision(request: HttpRequest, week: str, pk: int) -> HttpResponse:
    the_week = _week(week)
    remediation = get_object_or_404(_remediations(request.user), pk=pk)
    overdue = remediation.due_date is not None and remediation.due_date < the_week.monday
    form = RemediationDecisionForm(
        request.POST, instance=remediation, prefix=f"remediation-{remediation.pk}"
    )
    error, status = "", 200
    if form.is_valid():
        errors = Errors()
        record = clean_remediation(merged_changes(remediation, form.record()), errors)
        form.show(errors)
    if form.is_valid():
        try:
            actions.decide_remediation(
                remediation, record, week=the_week, by=request.user,
                expected_version=form.cleaned_data["version"],
            )  # fmt: skip
        except StaleVersion:
            error, status = STALE_REMEDIATION, 409
    else:
        status = 400
    if _is_htmx(request):
        saved = not error and not form.errors
        if saved:
            remediation.refresh_from_db()
            form = RemediationDecisionForm(
                instance=remediation, prefix=f"remediation-{remediation.pk}"
            )
        context = {
            "remediation": remediation, "form": form if not saved else None, "error": error,
            "saved": saved, "statuses": RemediationStatus.choices,
        }  # fmt: skip
        return _fragment(request, "reviews/_remediation_row.html", context, the_week, status)
    if status != 200:
        return _agenda_page(
            request, the_week, status,
            bound={"remediation": {remediation.pk: form}},
            errors={"remediation": {remediation.pk: error}} if error else None,
        )  # fmt: skip
    return _back(
        request, the_week, f"remediation-{remediation.pk}", "overdue" if overdue else "due",
        f"“{remediation.title}” saved.",
    )  # fmt: skip


@require_POST
@writer_required
def remediation_reopen(request: HttpRequest, week: str, pk: int) -> HttpResponse:
    """A fix marked done this week turns out not to be: open again (done time cleared)."""
    the_week = _week(week)
    remediation = get_object_or_404(_remediations(request.user), pk=pk)
    form = ReopenForm(request.POST)
    error, status = "", 200
    if not form.is_valid():
        error, status = OUT_OF_DATE, 400
    elif remediation.status != RemediationStatus.DONE:
        error, status = (
            f"It is already {remediation.get_status_display().lower()}: reload the agenda.",
            409,
        )
    else:
        errors = Errors()
        record = clean_remediation(
            merged_changes(remediation, {"status": RemediationStatus.OPEN}), errors
        )
        if errors:
            error, status = " ".join(message for _, message in errors.items), 400
        else:
            try:
                actions.decide_remediation(
                    remediation, record, week=the_week, by=request.user,
                    expected_version=form.cleaned_data["version"],
                )  # fmt: skip
            except StaleVersion:
                error, status = STALE_REMEDIATION, 409
    if _is_htmx(request):
        remediation.refresh_from_db()
        context = {"remediation": remediation, "error": error, "reopened": not error}
        return _fragment(request, "reviews/_done_row.html", context, the_week, status)
    if error:
        return _agenda_page(request, the_week, status, errors={"done": {remediation.pk: error}})
    return _back(
        request, the_week, "done", "done", f"“{remediation.title}” is open again.",
    )  # fmt: skip


# --- Meeting notes ---------------------------------------------------------------------------


@require_POST
@writer_required
def meeting_notes(request: HttpRequest, week: str) -> HttpResponse:
    the_week = _week(week)
    meeting = ReviewMeeting.objects.filter(week_start=the_week.monday).first()
    form = MeetingForm(request.POST, instance=meeting or ReviewMeeting(week_start=the_week.monday))
    saved = form.is_valid()
    conflict = False
    if saved:
        try:
            actions.save_meeting(
                form, by=request.user, expected_version=form.cleaned_data.get("version")
            )
        except StaleVersion as stale:
            saved, conflict = False, True
            # Their notes are shown above the form (the stored meeting); this editor's stay in
            # the form, now based on the current version, so merging and saving goes through.
            current = ReviewMeeting.objects.get(pk=stale.instance.pk)
            data = request.POST.copy()
            data["version"] = str(current.version)
            form = MeetingForm(data, instance=current)
            form.is_valid()
            form.add_error(
                None,
                "Someone saved the notes while you were writing: nothing of yours was saved. "
                "Their notes are shown above, yours are kept below: merge them and save again.",
            )
    if saved:
        form = MeetingForm(instance=form.instance)  # the next save starts from this version
    shown = (
        ReviewMeeting.objects.filter(pk=form.instance.pk).first() if form.instance.pk else None
    )  # what is stored, never the refused text
    status = 200 if saved else (409 if conflict else 400)
    if _is_htmx(request):
        context = {
            "meeting_form": form, "week": the_week, "saved": saved, "conflict": conflict,
            "meeting": shown or form.instance, "team": _owners(),
            "attendee_names": shown.attendee_names() if shown else [],
        }  # fmt: skip
        return render(request, "reviews/_meeting.html", context, status=status)
    if not saved:
        return _agenda_page(request, the_week, status, meeting_form=form)
    return _back(request, the_week, "meeting", "meeting", "Meeting notes saved.")
