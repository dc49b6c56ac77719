from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from common.concurrency import VersionedModel
from incidents.models import FailureCategory, Incident


class RemediationKind(models.TextChoices):
    PREVENT = "prevent", "Prevent"
    MITIGATE = "mitigate", "Mitigate"
    DETECT = "detect", "Detect"
    PROCESS = "process", "Process"


class RemediationStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    WONT_DO = "wont_do", "Won't do"


OPEN_STATUSES = (RemediationStatus.OPEN, RemediationStatus.IN_PROGRESS)


def done_at_for(
    status: str, done_at: datetime.datetime | None, opened_at: datetime.datetime | None
) -> datetime.datetime | None:
    """done_at in step with the status: kept or set to now when done, empty otherwise."""
    if status != RemediationStatus.DONE:
        return None
    if done_at is not None:
        return done_at
    now = timezone.now()
    return max(now, opened_at) if opened_at else now


class RemediationQuerySet(models.QuerySet["Remediation"]):
    def still_open(self) -> RemediationQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def covering(self, category: FailureCategory) -> RemediationQuerySet:
        """Remediations on the category or on any category above it."""
        return self.filter(category__in=FailureCategory.objects.ancestors_of(category))

    def in_category(self, category: FailureCategory) -> RemediationQuerySet:
        """Remediations on the category or on any category below it."""
        return self.filter(category__in=category.descendants())

    def overdue(self, today: datetime.date | None = None) -> RemediationQuerySet:
        return self.still_open().filter(due_date__lt=today or timezone.localdate())

    def for_list(self) -> RemediationQuerySet:
        return self.select_related("owner", "category", "incident")


class Remediation(VersionedModel):
    """A follow-up action meant to stop a failure mode from coming back."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown.")
    kind = models.CharField(
        max_length=16, choices=RemediationKind.choices, default=RemediationKind.PREVENT
    )
    status = models.CharField(
        max_length=16, choices=RemediationStatus.choices, default=RemediationStatus.OPEN
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="remediations_owned",
    )  # fmt: skip
    due_date = models.DateField(null=True, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    tracker_url = models.URLField(max_length=500, blank=True)
    # The failure mode this remediation addresses; it covers every category below it too.
    category = models.ForeignKey(
        FailureCategory, null=True, blank=True, on_delete=models.PROTECT,
        related_name="remediations",
    )  # fmt: skip
    # The incident it came from, if any: a remediation can also be opened for a category alone.
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="remediations"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = RemediationQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            # The weekly review: open work by due date, and what was done in a week.
            models.Index(
                fields=["due_date", "id"],
                condition=Q(status__in=OPEN_STATUSES),
                name="remediation_open_due_idx",
            ),
            models.Index(fields=["done_at"], name="remediation_done_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=RemediationKind.values), name="remediation_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=RemediationStatus.values), name="remediation_status_valid"
            ),
            # The recurrence rules compare incidents with done_at, so "done" must say when.
            models.CheckConstraint(
                condition=(Q(status=RemediationStatus.DONE) & Q(done_at__isnull=False))
                | (~Q(status=RemediationStatus.DONE) & Q(done_at__isnull=True)),
                name="remediation_done_at_iff_done",
            ),
            models.CheckConstraint(
                condition=Q(done_at__isnull=True) | Q(done_at__gte=F("opened_at")),
                name="remediation_done_not_before_opened",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("remediation_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_date is not None and self.due_date < timezone.localdate()

    def clean(self) -> None:
        if self.done_at and self.opened_at and self.done_at < self.opened_at:
            raise ValidationError({"done_at": "A remediation can't be done before it was opened."})


class RecurrenceLink(models.Model):
    """An incident that happened while a remediation covering its failure mode was still open."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="recurrence_links"
    )
    remediation = models.ForeignKey(
        Remediation, on_delete=models.CASCADE, related_name="recurrence_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "remediation"], name="unique_link_per_incident_remediation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident.reference} ↔ {self.remediation}"


class FlagState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    DISMISSED = "dismissed", "Dismissed"
    CLEARED = "cleared", "Cleared"


class RecurrenceFlag(models.Model):
    """A failure mode that came back: an incident that started after a covering fix was done."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="flags")
    remediation = models.ForeignKey(Remediation, on_delete=models.CASCADE, related_name="flags")
    # The incident's category that the remediation covers (the failure mode that recurred).
    category = models.ForeignKey(FailureCategory, on_delete=models.PROTECT, related_name="flags")
    state = models.CharField(max_length=16, choices=FlagState.choices, default=FlagState.OPEN)
    raised_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    # Why the engine cleared the flag (its condition stopped holding), or re-opened it.
    reason = models.TextField(blank=True)
    # Who was told is in the delivery log (common.models.Notification, key "flag:<id>").

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["state"], name="flag_state_idx"),
            # The weekly review lists open flags, newest first.
            models.Index(
                fields=["-raised_at", "-id"],
                condition=Q(state="open"),
                name="flag_open_raised_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "remediation"], name="unique_flag_per_incident_remediation"
            ),
            models.CheckConstraint(
                condition=Q(state__in=FlagState.values), name="flag_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} recurred in {self.incident.reference} after “{self.remediation}”"

    def get_absolute_url(self) -> str:
        return reverse("flag_detail", args=[self.pk])
