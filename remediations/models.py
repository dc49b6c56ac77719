from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from common.concurrency import VersionedModel
from incidents.models import FailureCategory, Incident, sees_every_incident


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


class Effectiveness(models.TextChoices):
    """What the evidence says of a done fix (PRODUCT.md, "Effectiveness of a done fix")."""

    UNVERIFIED = "unverified", "Unverified"
    HOLDING = "holding", "Holding"
    VERIFIED = "verified", "Verified"
    REGRESSED = "regressed", "Regressed"


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


# Fields the engine derives: kept out of versions and history (a recomputation is no edit).
DERIVED_FIELDS = [
    "effectiveness", "effectiveness_since", "effectiveness_evidence", "verified_at",
    "regressed_at",
]  # fmt: skip


class RemediationQuerySet(models.QuerySet["Remediation"]):
    def visible_to(self, user: Any) -> RemediationQuerySet:
        """The remediations `user` may see: a remediation shares the visibility of the
        incident it came from, and of the game-day scenario it came from (a scenario linked
        to an incident `user` may not see is hidden too). PRODUCT.md, "Who may see"."""
        if sees_every_incident(user):
            return self
        hidden = Incident.objects.hidden_from(user).values("pk")
        return self.exclude(incident__in=hidden).exclude(scenario__incidents__in=hidden)

    def hidden_from(self, user: Any) -> RemediationQuerySet:
        """The complement of `visible_to`: the remediations of an incident, or of a game-day
        scenario linked to an incident, that `user` may not see (few: use as a subquery)."""
        if sees_every_incident(user):
            return self.none()
        hidden = Incident.objects.hidden_from(user).values("pk")
        return self.filter(Q(incident__in=hidden) | Q(scenario__incidents__in=hidden))

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


def withheld_versions(user: Any) -> Callable[[Any], bool] | None:
    """Which saved versions (history rows) of remediations `user` may not see: those saved
    while it belonged to an incident, or came from a game-day scenario, hidden from them (a
    fix moved out of a restricted incident keeps its earlier words there). None: every one
    may be seen. PRODUCT.md, "Who may see and change what": absent from every history."""
    if sees_every_incident(user):
        return None
    hidden = Incident.objects.hidden_from(user).values("pk")
    incidents = set(hidden.values_list("pk", flat=True))
    scenario_model: Any = Remediation._meta.get_field("scenario").related_model
    scenarios = set(
        scenario_model.objects.filter(incidents__in=hidden).values_list("pk", flat=True)
    )
    return lambda row: row.incident_id in incidents or row.scenario_id in scenarios


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
    # The game-day scenario it came from, if any (PRODUCT.md, "Remediation": "where it came
    # from"). Named by string: game days build on remediations, not the other way round.
    scenario = models.ForeignKey(
        "gamedays.Scenario", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="remediations",
    )  # fmt: skip
    # The fix this one follows up, when that one did not hold (a flag triaged "the fix did
    # not hold" offers to open it).
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Derived by remediations.effectiveness from the evidence, never typed, and not part of
    # the versioned record: NULL while the remediation is not done.
    # NULL, not "": the API says null for "not done", and the constraint below checks it.
    effectiveness = models.CharField(  # noqa: DJ001
        max_length=16, choices=Effectiveness.choices, null=True, blank=True, editable=False
    )
    # When the evidence behind `effectiveness` happened, and what it was, in a sentence.
    effectiveness_since = models.DateTimeField(null=True, blank=True, editable=False)
    effectiveness_evidence = models.CharField(max_length=300, blank=True, editable=False)
    # The latest evidence of each kind, whichever won.
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    regressed_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["updated_at", *DERIVED_FIELDS])
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
            # A service page names the few latest open and done fixes of each failure mode
            # (reports.services._latest_fixes): read from the end of these, not ranked.
            models.Index(
                fields=["category", "-opened_at", "id"],
                condition=Q(status__in=OPEN_STATUSES),
                name="remediation_open_latest_idx",
            ),
            models.Index(
                fields=["category", "-done_at", "-opened_at", "id"],
                condition=Q(status=RemediationStatus.DONE),
                name="remediation_done_latest_idx",
            ),
            models.Index(
                fields=["effectiveness", "done_at"],
                condition=Q(effectiveness__isnull=False),
                name="remediation_effectiveness_idx",
            ),
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
            models.CheckConstraint(
                condition=Q(effectiveness__isnull=True)
                | Q(effectiveness__in=Effectiveness.values, status=RemediationStatus.DONE),
                name="remediation_effectiveness_only_when_done",
            ),
            models.CheckConstraint(
                condition=~Q(follow_up_of=F("id")), name="remediation_not_its_own_follow_up"
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

    # No index of its own: unique_link_per_incident_remediation starts with it. Every index
    # costs on each of the hundreds of thousands of rows a full reconciliation writes.
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="recurrence_links", db_index=False
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


class FlagOutcome(models.TextChoices):
    """How a person triaged a flag (PRODUCT.md, "Triage")."""

    FIX_DID_NOT_HOLD = "fix_did_not_hold", "The fix did not hold"
    PARTIAL = "partial", "Partly expected"
    NOT_A_RECURRENCE = "not_a_recurrence", "Not a recurrence"


# The state a decision puts a flag in (and puts it back in when it holds again after clearing).
STATE_OF_OUTCOME = {
    FlagOutcome.FIX_DID_NOT_HOLD: FlagState.ACKNOWLEDGED,
    FlagOutcome.PARTIAL: FlagState.ACKNOWLEDGED,
    FlagOutcome.NOT_A_RECURRENCE: FlagState.DISMISSED,
}


class RecurrenceFlagQuerySet(models.QuerySet["RecurrenceFlag"]):
    def visible_to(self, user: Any) -> RecurrenceFlagQuerySet:
        """The flags `user` may see: those of an incident `user` may see that name no fix
        hidden from `user` (PRODUCT.md, "Who may see and change what": a flag shares the
        visibility of its incident and of its fixes).

        A flag naming a hidden fix betrays that fix (a public incident "recurred after a
        fix"), and its one outcome judges every fix it names, so it is hidden whole: one
        triage never decides on a fix the person can't see (and its URL answers 404).
        """
        if sees_every_incident(user):
            return self
        hidden_fixes = Remediation.objects.hidden_from(user).values("pk")
        return self.exclude(incident__in=Incident.objects.hidden_from(user).values("pk")).exclude(
            pk__in=FlagFix.objects.filter(remediation__in=hidden_fixes).values("flag_id")
        )


class RecurrenceFlag(models.Model):
    """A failure mode that came back: an incident of it started after fixes covering it that
    promised to stop it (kinds in ONCE_RECURRENCE_KINDS) were done.

    One per (incident, failure mode), naming every such fix (`remediations`). The state is
    open until a person triages it with an outcome; the engine clears it, keeping any
    decision, when its facts stop holding, and restores it when they hold again.
    """

    # Neither has an index of its own: unique_flag_per_incident_category and
    # flag_category_state_idx start with them.
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="flags", db_index=False
    )
    # The failure mode that recurred: the narrowest of the incident's categories on its branch.
    category = models.ForeignKey(
        FailureCategory, on_delete=models.PROTECT, related_name="flags", db_index=False
    )
    # The done fixes that did not hold (kept in step by the engine).
    remediations = models.ManyToManyField(
        Remediation, through="FlagFix", related_name="flags", blank=True
    )
    state = models.CharField(max_length=16, choices=FlagState.choices, default=FlagState.OPEN)
    # The person's decision; kept when the engine clears the flag.
    # NULL until a person triages it: the API's `outcome` is null, not "".
    outcome = models.CharField(  # noqa: DJ001
        max_length=20, choices=FlagOutcome.choices, null=True, blank=True
    )
    raised_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    # Why the engine cleared the flag (its condition stopped holding), or re-opened it.
    reason = models.TextField(blank=True)
    # Who was told is in the delivery log (common.models.Notification, key "flag:<id>").

    objects = RecurrenceFlagQuerySet.as_manager()

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
            models.Index(fields=["category", "state"], name="flag_category_state_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "category"], name="unique_flag_per_incident_category"
            ),
            models.CheckConstraint(
                condition=Q(state__in=FlagState.values), name="flag_state_valid"
            ),
            # A decision and the state it puts the flag in go together; clearing keeps either.
            models.CheckConstraint(
                condition=Q(state=FlagState.OPEN, outcome__isnull=True)
                | Q(
                    state=FlagState.ACKNOWLEDGED,
                    outcome__in=[FlagOutcome.FIX_DID_NOT_HOLD, FlagOutcome.PARTIAL],
                )
                | Q(state=FlagState.DISMISSED, outcome=FlagOutcome.NOT_A_RECURRENCE)
                | Q(state=FlagState.CLEARED, outcome__isnull=True)
                | Q(state=FlagState.CLEARED, outcome__in=FlagOutcome.values),
                name="flag_outcome_matches_state",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} recurred in {self.incident.reference}"

    def get_absolute_url(self) -> str:
        return reverse("flag_detail", args=[self.pk])


class FlagFix(models.Model):
    """A fix a flag names: done before the incident started, covering its failure mode."""

    # Indexed by unique_fix_per_flag, which starts with it.
    flag = models.ForeignKey(
        RecurrenceFlag, on_delete=models.CASCADE, related_name="fixes", db_index=False
    )
    remediation = models.ForeignKey(Remediation, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flag", "remediation"], name="unique_fix_per_flag"),
        ]

    def __str__(self) -> str:
        return f"flag {self.flag_id} names remediation {self.remediation_id}"


class ReconciliationRun(models.Model):
    """One run of the periodic reconciliation: how the next one knows what changed since.

    An incremental run evaluates what was saved after the last finished run started (less a
    margin for transactions that were open then); a full run evaluates everything.
    """

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    full = models.BooleanField(default=False)
    incidents = models.PositiveIntegerField(default=0)
    remediations = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        kind = "full" if self.full else "incremental"
        return f"{kind} reconciliation at {self.started_at:%Y-%m-%d %H:%M:%S}"
