from django.conf import settings
from django.db import models

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
