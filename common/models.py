"""The delivery log: one row per message to one recipient on one channel.

Shaped after healthchecks' `Notification` (CONVENTIONS.md, "Notifications"): the row is both
the claim that stops a message going out twice and the record staff read when one did not go
out. `common/notifications.py` records and delivers rows; `common/transports.py` sends them.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from common import dates


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


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """The audit log is append-only: the ORM refuses to change or remove its rows in bulk."""

    def update(self, **kwargs: object) -> int:
        raise AppendOnly()

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly()


class AppendOnly(Exception):  # noqa: N818  (the sentence reads better than "AppendOnlyError")
    """Raised on an attempt to change or delete an audit event."""

    def __init__(self) -> None:
        super().__init__("The audit log is append-only: its events are never changed or deleted.")


class AuditAction(models.TextChoices):
    """What an audit event records (PRODUCT.md: "/audit/ lists sign-ins, views of restricted
    incidents, exports, deletions, and changes of roles or visibility")."""

    SIGN_IN = "sign_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    SIGN_OUT = "sign_out", "Signed out"
    RESTRICTED_VIEW = "restricted_view", "Viewed a restricted incident"
    EXPORT = "export", "Exported"
    DELETION = "deletion", "Deleted"
    # is_staff, is_superuser, is_active, or permissions of a user or a group.
    ROLE_CHANGE = "role_change", "Changed a role"
    GROUP_CHANGE = "group_change", "Changed group membership"
    VISIBILITY_CHANGE = "visibility_change", "Changed who may see an incident"
    TOKEN_CREATED = "token_created", "Created an API token"
    TOKEN_REVOKED = "token_revoked", "Revoked an API token"


class AuditEvent(models.Model):
    """Something an auditor may ask about: who did what to what, when, and from where.

    Written only by `common.audit.record`; never changed or deleted (see `AppendOnly`, and on
    PostgreSQL the trigger of migration 0002).
    """

    Action = AuditAction

    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    # Who: null for the system (a management command, a task), or once the user is deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The username as it was, kept when the account is renamed or deleted; for a failed
    # sign-in, the name that was tried (which may belong to nobody).
    username = models.CharField(max_length=150, blank=True)
    # What it was done to: "incident", "user", "group", "failure category"…, its primary key
    # and a short label as they were at the time (the row may be gone since).
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    # From where: the client's address (common.clientip), null outside a request.
    address = models.GenericIPAddressField(null=True, blank=True)
    # Specifics as JSON: before/after of a change, a command's arguments, a sign-in's backend.
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="auditevent_newest_idx"),
            models.Index(fields=["action", "-at"], name="auditevent_action_idx"),
            models.Index(fields=["username", "-at"], name="auditevent_username_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=AuditAction.values),
                name="auditevent_action_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or 'system'} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AppendOnly()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnly()

    def detail_lines(self) -> list[str]:
        """The detail as short lines for people: "is staff: False → True", "groups added:
        Viewers" (from {"added": ["Viewers"], "of": "groups"})."""
        lines = []
        of = self.detail.get("of")
        for key, value in self.detail.items():
            if key == "of":
                continue
            if isinstance(value, list) and len(value) == 2 and key in _BEFORE_AFTER:
                text = f"{_shown(value[0])} → {_shown(value[1])}"
            else:
                text = _shown(value)
            name = f"{of} {key}" if of and key in ("added", "removed") else key
            lines.append(f"{name.replace('_', ' ')}: {text}")
        return lines


def _iso_moment(value: str) -> datetime.datetime | None:
    """`value` as an aware time when it is an ISO 8601 date-time with its offset, else None."""
    if len(value) < 20 or value[4:5] != "-" or value[10:11] != "T":
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else None


# Detail keys whose value is [before, after].
_BEFORE_AFTER = {"visibility", "access_groups", "is_active", "is_staff", "is_superuser"}


def _shown(value: object) -> str:
    """A detail value as text; a stored ISO time ("expires_at") reads as every time does,
    "2027-03-01 07:06 UTC" (common/dates.py, issue 16: one format across pages)."""
    if isinstance(value, str):
        moment = _iso_moment(value)
        if moment is not None:
            return dates.moment(moment)
    if isinstance(value, dict):
        return "; ".join(f"{key.replace('_', ' ')} {_shown(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value) if value else "none"
    if value is None:
        return "—"
    return str(value)
