from django.conf import settings
from django.db import models
from django.utils import timezone

from common.concurrency import VersionedModel
from incidents.models import Incident


class ReviewMeeting(VersionedModel):
    """The weekly review of one ISO week: its notes, who came, and what was reviewed."""

    # The Monday that starts the ISO week.
    week_start = models.DateField()
    notes = models.TextField(blank=True, help_text="Markdown.")
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    reviewed_incidents = models.ManyToManyField(
        Incident, blank=True, related_name="review_meetings"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-week_start"]
        constraints = [
            models.UniqueConstraint(fields=["week_start"], name="unique_meeting_per_week"),
        ]

    def __str__(self) -> str:
        year, week, _ = self.week_start.isocalendar()
        return f"Review {year}-W{week:02d}"

    def attendee_names(self) -> list[str]:
        return list(self.attendees.order_by("username").values_list("username", flat=True))


class DecisionKind(models.TextChoices):
    REVIEWED = "reviewed", "Reviewed"
    TRIAGED = "triaged", "Triaged"
    REASSIGNED = "reassigned", "Reassigned"
    RESCHEDULED = "rescheduled", "Rescheduled"
    REOPENED = "reopened", "Reopened"
    MARKED_DONE = "marked_done", "Marked done"
    STATUS_CHANGED = "status_changed", "Status changed"


class ReviewDecision(models.Model):
    """One decision made on a week's review page: the meeting's minutes, written as it goes.

    Written by `reviews.actions` in the transaction of the decision itself, so the minutes
    hold exactly what was done. The subject and detail are kept as text: the minutes still
    read right after the incident or remediation changes again or is deleted.
    """

    meeting = models.ForeignKey(ReviewMeeting, on_delete=models.CASCADE, related_name="decisions")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=DecisionKind.choices)
    # What it was about ("INC-12 etcd lost quorum", a remediation's title) and what was
    # decided ("the fix did not hold: resize the disks", "bob → alice").
    subject = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    url = models.CharField(max_length=200, blank=True)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    remediation = models.ForeignKey(
        "remediations.Remediation", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    flag = models.ForeignKey(
        "remediations.RecurrenceFlag", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    # A triage's outcome (remediations.models.FlagOutcome), empty for the other kinds.
    outcome = models.CharField(max_length=20, blank=True)
    # What the decision calls for next, as [{"label", "url"}]: open a follow-up of a fix that
    # did not hold, reclassify an incident that was not a recurrence.
    next_steps = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["meeting", "at", "id"], name="decision_meeting_at_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=DecisionKind.values), name="decision_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"
