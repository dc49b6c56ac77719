"""The delivery log: one row per message to one recipient on one channel.

Shaped after healthchecks' `Notification` (CONVENTIONS.md, "Notifications"): the row is both
the claim that stops a message going out twice and the record staff read when one did not go
out. `common/notifications.py` records and delivers rows; `common/transports.py` sends them.
"""

from __future__ import annotations

import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone


class NotificationQuerySet(models.QuerySet["Notification"]):
    def due(self, now: datetime.datetime | None = None) -> NotificationQuerySet:
        """Waiting for an attempt whose time has come, or claimed by a worker whose lease ran
        out (it crashed or hung mid-send)."""
        return self.filter(
            state__in=(Notification.State.PENDING, Notification.State.SENDING),
            next_attempt_at__lte=now or timezone.now(),
        )


class Notification(models.Model):
    """One message to one recipient on one channel, and how its delivery went."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    class State(models.TextChoices):
        # Waiting for its next attempt (at next_attempt_at); after a failed attempt, last_error
        # says why.
        PENDING = "pending", "Pending"
        # Claimed by a worker until next_attempt_at (the lease); due again if that passes.
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        # Given up: every attempt failed, or the failure can't be fixed by trying again.
        FAILED = "failed", "Failed"

    # What the message announces, the same for every recipient: "flag:42", "digest:2026-W48",
    # "overdue:2026-W48:7:113". With channel and recipient it makes the message unique.
    key = models.CharField(max_length=200)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # An email address, or the webhook's URL.
    recipient = models.CharField(max_length=1000)
    # Single-line and bounded (common.notifications.one_line), so it is always a valid header.
    subject = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    # Machine-readable detail: the JSON POSTed to a webhook (with "text" = body); for email,
    # what the message covers (the overdue reminders keep their remediations here).
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Pending: when to try next. Sending: when the worker's claim lapses. Sent, failed: null.
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The periodic sweep: what is due, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=("pending", "sending")),
                name="notification_due_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "channel", "recipient"], name="unique_notification_per_recipient"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=("email", "webhook")), name="notification_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=("pending", "sending", "sent", "failed")),
                name="notification_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} by {self.channel} to {self.recipient}"
