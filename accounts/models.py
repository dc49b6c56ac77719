"""What a person holds to reach Once without a session: a secret calendar feed URL (and, later,
API tokens). Secrets are stored as hashes: the database alone can't open a feed."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone


def hash_secret(secret: str) -> str:
    """SHA-256 of a secret: enough for 256 random bits (no salt or stretching needed)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class CalendarFeedQuerySet(models.QuerySet["CalendarFeed"]):
    def active(self) -> CalendarFeedQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)

    def for_secret(self, secret: str) -> CalendarFeed | None:
        """The active feed a URL's secret opens, or None (wrong, revoked, or user inactive)."""
        return self.active().select_related("user").filter(key_hash=hash_secret(secret)).first()


class CalendarFeed(models.Model):
    """A person's secret iCalendar URL for game days; at most one active at a time."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = CalendarFeedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(revoked_at__isnull=True),
                name="one_active_calendar_feed_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"

    @classmethod
    @transaction.atomic
    def issue(cls, user: AbstractBaseUser) -> tuple[CalendarFeed, str]:
        """A new feed for `user`, revoking the one they had; returns it and its secret (shown
        once: only its hash is kept). Two at once for one person (a double click) take turns:
        the person's row is locked, so the second revokes the first's feed, never meeting
        the one-active-feed constraint."""
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        cls.revoke_for(user)
        secret = secrets.token_urlsafe(32)
        return cls.objects.create(user=user, key_hash=hash_secret(secret)), secret

    @classmethod
    def revoke_for(cls, user: AbstractBaseUser) -> int:
        """Revoke `user`'s active feed: its URL answers 404 from now on."""
        return cls.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )


class SingleSignOnIdentity(models.Model):
    """Who a person is at the OpenID provider (issuer + subject), bound to their Once account.

    The subject (`sub`) is the one identifier a provider promises never to reassign; emails and
    usernames change and can be reused. So after the first sign-in, only this binds.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    last_login_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "single sign-on identity"
        verbose_name_plural = "single sign-on identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="unique_sso_subject"),
            models.UniqueConstraint(fields=["user", "issuer"], name="one_sso_identity_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"
