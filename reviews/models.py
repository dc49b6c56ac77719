from django.conf import settings
from django.db import models

from incidents.models import Incident


class ReviewMeeting(models.Model):
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


class DigestDelivery(models.Model):
    """A weekly digest sent on one channel: claimed before sending, so it goes out once."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    week_start = models.DateField()
    channel = models.CharField(max_length=16, choices=Channel.choices)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["week_start", "channel"], name="one_digest_per_week_and_channel"
            ),
        ]

    def __str__(self) -> str:
        return f"Digest {self.week_start} by {self.channel}"


class OverdueReminder(models.Model):
    """One reminder to a remediation's owner per overdue remediation per ISO week."""

    remediation = models.ForeignKey(
        "remediations.Remediation", on_delete=models.CASCADE, related_name="+"
    )
    week_start = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["remediation", "week_start"], name="one_reminder_per_remediation_week"
            ),
        ]

    def __str__(self) -> str:
        return f"Reminder for remediation {self.remediation_id}, week of {self.week_start}"
