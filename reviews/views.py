"""/review/ and /review/<YYYY>-W<WW>/: the agenda, and the decisions made on it.

Every decision is a plain form POST that works without JavaScript (it redirects back to the
agenda, at the row). With htmx the same POST answers with just the changed row or section,
which replaces the old one in place.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from common.concurrency import StaleVersion
from common.validation import Errors
from incidents.models import Incident
from remediations.actions import (
    FlagAlreadyResolved,
    TriageRefused,
    merged_changes,
    save_remediation,
    triage_flag,
)
from remediations.forms import TriageForm
from remediations.models import RecurrenceFlag, Remediation, RemediationStatus
from remediations.records import clean_remediation
from reviews import actions, agenda
from reviews.forms import MeetingForm, RemediationDecisionForm, ReviewedForm
from reviews.models import ReviewMeeting
from reviews.weeks import Week


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


def _agenda_page(request: HttpRequest, week: Week, status: int = 200, **bound: Any) -> HttpResponse:
    """The agenda; `bound` holds forms that failed validation, shown on their rows."""
    built = agenda.build(week)
    # Only rows whose decision failed carry a form; the others render from the model itself
    # (building a form per row is a good part of a long agenda's time).
    failed = {tuple(key.split("_", 1)): form for key, form in bound.items()}
    remediation_forms = {pk: f for (kind, pk), f in failed.items() if kind == "remediation"}
    flag_forms = {pk: f for (kind, pk), f in failed.items() if kind == "flag"}
    peak = max((n for trend in built.trends for n in trend.counts), default=0)
    context = {
        "agenda": built,
        "week": week,
        "presenting": request.GET.get("present") == "1",
        "meeting_form": bound.get("meeting_form") or MeetingForm(instance=built.meeting),
        "meeting": built.meeting,
        "remediation_forms": remediation_forms,
        "flag_forms": flag_forms,
        "team": _owners(),
        "statuses": RemediationStatus.choices,
        "trend_peak": peak,
    }
    return render(request, "reviews/agenda.html", context, status=status)


def _back(week: Week, anchor: str) -> HttpResponse:
    return redirect(reverse("review_week", args=[week.label]) + f"#{anchor}")


@require_POST
def incident_reviewed(request: HttpRequest, week: str, pk: int) -> HttpResponse:
    the_week = _week(week)
    incident = get_object_or_404(Incident, pk=pk)
    form = ReviewedForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            actions.mark_reviewed(
                incident, week=the_week, by=request.user,
                expected_version=form.cleaned_data["version"],
            )  # fmt: skip
        except StaleVersion:
            error = "Someone changed this incident meanwhile: reload the agenda and decide again."
    else:
        error = "The page was out of date: reload the agenda."
    if _is_htmx(request):
        incident.refresh_from_db()
        context = {"incident": incident, "week": the_week, "reviewed": not error, "error": error}
        return render(request, "reviews/_incident_row.html", context)
    if error:
        messages.error(request, f"{incident.reference}: {error}")
    else:
        messages.success(request, f"{incident.reference} is reviewed.")
    return _back(the_week, f"incident-{incident.pk}")


@require_POST
def flag_decision(request: HttpRequest, week: str, pk: int) -> HttpResponse:
    the_week = _week(week)
    flag = get_object_or_404(RecurrenceFlag.objects.select_related("incident", "category"), pk=pk)
    form = TriageForm(request.POST, prefix=f"flag-{flag.pk}")
    error = ""
    if form.is_valid():
        try:
            triage_flag(
                flag, outcome=form.cleaned_data["outcome"], by=request.user,
                note=form.cleaned_data["note"],
            )  # fmt: skip
        except TriageRefused as refused:
            form.add_error("note", str(refused))
        except FlagAlreadyResolved as already:
            error = str(already)
    if _is_htmx(request):
        return render(
            request, "reviews/_flag_row.html",
            {"flag": flag, "form": form, "week": the_week, "error": error},
        )  # fmt: skip
    if form.errors:
        return _agenda_page(request, the_week, status=400, **{f"flag_{flag.pk}": form})
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request, f"{flag.incident.reference}: {flag.get_outcome_display().lower()}."
        )
    return _back(the_week, f"flag-{flag.pk}")


@require_POST
def remediation_decision(request: HttpRequest, week: str, pk: int) -> HttpResponse:
    the_week = _week(week)
    remediation = get_object_or_404(Remediation.objects.select_related("owner", "category"), pk=pk)
    form = RemediationDecisionForm(
        request.POST, instance=remediation, prefix=f"remediation-{remediation.pk}"
    )
    error = ""
    if form.is_valid():
        errors = Errors()
        record = clean_remediation(merged_changes(remediation, form.record()), errors)
        form.show(errors)
    if form.is_valid():
        try:
            save_remediation(
                remediation, record, by=request.user,
                expected_version=form.cleaned_data["version"],
            )  # fmt: skip
        except StaleVersion:
            error = (
                "Someone changed this remediation meanwhile: reload the agenda and decide again."
            )
    if _is_htmx(request):
        if not error and not form.errors:
            remediation.refresh_from_db()
            form = RemediationDecisionForm(
                instance=remediation, prefix=f"remediation-{remediation.pk}"
            )
        context = {
            "remediation": remediation, "form": form, "week": the_week, "error": error,
            "saved": not error and not form.errors, "statuses": RemediationStatus.choices,
        }  # fmt: skip
        return render(request, "reviews/_remediation_row.html", context)
    if form.errors:
        return _agenda_page(
            request, the_week, status=400, **{f"remediation_{remediation.pk}": form}
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"“{remediation.title}” saved.")
    return _back(the_week, f"remediation-{remediation.pk}")


@require_POST
def meeting_notes(request: HttpRequest, week: str) -> HttpResponse:
    the_week = _week(week)
    meeting = ReviewMeeting.objects.filter(week_start=the_week.monday).first()
    form = MeetingForm(request.POST, instance=meeting or ReviewMeeting(week_start=the_week.monday))
    saved = form.is_valid()
    if saved:
        try:
            actions.save_meeting(form, expected_version=form.cleaned_data.get("version"))
        except StaleVersion as stale:
            saved = False
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
    if _is_htmx(request):
        context = {
            "meeting_form": form, "week": the_week, "saved": saved,
            "meeting": shown or form.instance, "team": _owners(),
        }  # fmt: skip
        return render(request, "reviews/_meeting.html", context)
    if not saved:
        return _agenda_page(request, the_week, status=400, meeting_form=form)
    messages.success(request, "Meeting notes saved.")
    return _back(the_week, "meeting")
