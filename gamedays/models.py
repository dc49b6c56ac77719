"""Game days and their scenarios: "we fixed, then tested the fix" (PRODUCT.md, "Game day",
"Scenario")."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from common.concurrency import VersionedModel
from incidents.models import (
    FailureCategory,
    Incident,
    PartsSnapshot,
    Service,
    sees_every_incident,
)
from remediations.models import Remediation


class Environment(models.TextChoices):
    QA = "qa", "QA"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"


class GameDayStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Outcome(models.TextChoices):
    PENDING = "pending", "Pending"
    HELD = "held", "Held"
    FAILED = "failed", "Failed"
    ABORTED = "aborted", "Aborted"


class GameDayQuerySet(models.QuerySet["GameDay"]):
    def upcoming(self) -> GameDayQuerySet:
        return self.filter(
            status__in=[GameDayStatus.PLANNED, GameDayStatus.RUNNING],
        ).order_by("scheduled_at", "pk")


class ScenarioQuerySet(models.QuerySet["Scenario"]):
    def visible_to(self, user: Any) -> ScenarioQuerySet:
        """The scenarios `user` may see: one linked to an incident hidden from `user` (it
        caused it) shares that incident's visibility (PRODUCT.md, "Who may see")."""
        if sees_every_incident(user):
            return self
        return self.exclude(incidents__in=Incident.objects.hidden_from(user).values("pk"))

    def hidden_from(self, user: Any) -> ScenarioQuerySet:
        """The complement of `visible_to` (small: few incidents are restricted)."""
        if sees_every_incident(user):
            return self.none()
        links = Scenario.incidents.through.objects.filter(
            incident__in=Incident.objects.hidden_from(user).values("pk")
        )
        return self.filter(pk__in=links.values("scenario_id"))

    def in_category(self, category: FailureCategory) -> ScenarioQuerySet:
        """Scenarios on the failure mode or on a mode below it: what tests it."""
        return self.filter(category__in=category.descendants())

    def ran(self) -> ScenarioQuerySet:
        """Scenarios that ran (held, failed or aborted): a pending one tested nothing yet."""
        return self.filter(ran_at__isnull=False)


class GameDay(VersionedModel):
    """A planned exercise that breaks things on purpose to learn and to test fixes."""

    # Import and export match game days on it (idempotent), as incidents; NULL when none.
    external_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    title = models.CharField(max_length=200)
    scheduled_at = models.DateTimeField()
    environment = models.CharField(
        max_length=16, choices=Environment.choices, default=Environment.STAGING
    )
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="game_days_facilitated",
    )  # fmt: skip
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="game_days"
    )
    plan = models.TextField(blank=True, help_text="Markdown.")
    notes = models.TextField(blank=True, help_text="Markdown.")
    status = models.CharField(
        max_length=16, choices=GameDayStatus.choices, default=GameDayStatus.PLANNED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Each version keeps its participants and scenarios (`parts`), like an incident's.
    history = HistoricalRecords(excluded_fields=["updated_at"], bases=[PartsSnapshot])
    objects = GameDayQuerySet.as_manager()

    class Meta:
        ordering = ["-scheduled_at", "-id"]
        indexes = [models.Index(fields=["scheduled_at"], name="gameday_scheduled_idx")]
        constraints = [
            models.UniqueConstraint(fields=["external_id"], name="unique_gameday_external_id"),
            models.CheckConstraint(
                condition=Q(status__in=GameDayStatus.values), name="gameday_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(environment__in=Environment.values), name="gameday_environment_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("game_day_detail", args=[self.pk])


class Scenario(models.Model):
    """One experiment of a game day, aimed at a failure mode and at the fixes that claim to
    cover it. Written with its game day, under the game day's version."""

    game_day = models.ForeignKey(GameDay, on_delete=models.CASCADE, related_name="scenarios")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=200, blank=True)
    # The failure mode it exercises.
    category = models.ForeignKey(
        FailureCategory, on_delete=models.PROTECT, related_name="scenarios"
    )
    services = models.ManyToManyField(Service, blank=True, related_name="scenarios")
    injection = models.TextField(help_text="What is injected: the failure, and how.")
    # The steady-state hypothesis: what must keep working while the failure is injected.
    hypothesis = models.TextField(blank=True)
    abort_conditions = models.TextField(blank=True)
    rollback_plan = models.TextField(blank=True)
    # The fixes it verifies: done remediations covering its failure mode.
    verifies = models.ManyToManyField(Remediation, blank=True, related_name="verified_by")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    observations = models.TextField(blank=True, help_text="Markdown.")
    ran_at = models.DateTimeField(null=True, blank=True)
    # Incidents it caused ("this hurt real users"), filled in from it and linked back.
    incidents = models.ManyToManyField(Incident, blank=True, related_name="scenarios")
    # The Chaos Toolkit journal it was recorded from, if any (its summary, not the whole run).
    journal = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScenarioQuerySet.as_manager()

    class Meta:
        ordering = ["game_day", "position", "id"]
        indexes = [
            # "When was this mode last tested": scenarios that ran, by category and time.
            models.Index(
                fields=["category", "ran_at"],
                condition=Q(ran_at__isnull=False),
                name="scenario_category_ran_idx",
            ),  # fmt: skip
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values), name="scenario_outcome_valid"
            ),
            # A scenario that has an outcome ran at some time; a pending one has not run.
            models.CheckConstraint(
                condition=(Q(outcome=Outcome.PENDING) & Q(ran_at__isnull=True))
                | (~Q(outcome=Outcome.PENDING) & Q(ran_at__isnull=False)),
                name="scenario_ran_at_iff_outcome",
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.category} scenario"

    def get_absolute_url(self) -> str:
        return f"{self.game_day.get_absolute_url()}#scenario-{self.pk}"

    @property
    def name(self) -> str:
        """What a page calls it: its title, or what it injects."""
        if self.title:
            return self.title
        lines = self.injection.strip().splitlines()
        return lines[0][:120] if lines else f"{self.category} scenario"
