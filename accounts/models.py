"""What a person holds to reach Once without a session: a secret calendar feed URL and API
tokens. Secrets are stored as hashes: the database alone can't open a feed or call the API."""

from __future__ import annotations

import datetime
import hashlib
import secrets
import string
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from common import audit
from common.validation import Errors, clean_text


def hash_secret(secret: str) -> str:
    """SHA-256 of a secret: enough for 256 random bits (no salt or stretching needed).

    Salts and slow hashes (PBKDF2, Argon2) protect *guessable* secrets such as passwords: they
    stop precomputed tables and make each guess expensive. A secret of 256 random bits can't
    be guessed at any speed, so a plain SHA-256 is as strong as the secret itself, and being
    deterministic it can be looked up through a unique index on every request instead of
    being checked against each stored row.
    """
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
    def issue(cls, user: Any) -> tuple[CalendarFeed, str]:
        """A new feed for `user`, revoking the one they had; returns it and its secret (shown
        once: only its hash is kept). Two at once for one person (a double click) take turns:
        the person's row is locked, so the second revokes the first's feed, never meeting
        the one-active-feed constraint."""
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        cls.revoke_for(user)
        secret = secrets.token_urlsafe(32)
        return cls.objects.create(user=user, key_hash=hash_secret(secret)), secret

    @classmethod
    def revoke_for(cls, user: Any) -> int:
        """Revoke `user`'s active feed: its URL answers 404 from now on."""
        return cls.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )


# --- API tokens ------------------------------------------------------------------------------
# Our own, not django-rest-knox: knox hashes and expires keys too, but keeps no name and no last
# use, and deletes a token when it expires or is revoked (nothing left to list or audit). A
# custom knox token model would cost more than these few lines on the calendar feed's pattern.

# Keys start with this, so secret scanners (GitHub's, gitleaks, trufflehog) can recognise one
# pasted into a repository or a chat, and a person can tell it from other secrets at a glance.
TOKEN_PREFIX = "once_"  # noqa: S105  (a prefix, not a secret)
# 43 letters and digits: 43 × log2(62) ≈ 256 random bits. No "-": a double click selects the
# whole key, prefix included (word characters only).
_KEY_ALPHABET = string.ascii_letters + string.digits
_KEY_LENGTH = 43
DEFAULT_TOKEN_DAYS = 90  # PRODUCT.md, "REST API"
MAX_TOKEN_DAYS = 365  # a key that never has to be renewed is a key nobody remembers to revoke
MAX_TOKEN_NAME = 100
MAX_ACTIVE_TOKENS = 50  # per person: enough for every script they run, not an unbounded list
# The last use is written at most this often per token: a script that calls the API in a loop
# must not turn every read into a write.
LAST_USE_PRECISION = datetime.timedelta(minutes=1)


def new_api_key() -> str:
    """A fresh key: `once_` and 43 random letters and digits (about 256 bits)."""
    return TOKEN_PREFIX + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(_KEY_LENGTH))


def clean_token_request(name: Any, days: Any, errors: Errors) -> tuple[str, int]:
    """The one validator of a new token, shared by /account/tokens/ and `create_api_token`:
    a name (one line, at most MAX_TOKEN_NAME characters) and a lifetime of 1 to MAX_TOKEN_DAYS
    days (None: DEFAULT_TOKEN_DAYS). Messages go to `errors` at ("name",) and ("days",)."""
    name = clean_text(
        name, ("name",), errors, max_length=MAX_TOKEN_NAME, single_line=True, strip=True,
        required=True,
    )  # fmt: skip
    if days is None:
        days = DEFAULT_TOKEN_DAYS
    if isinstance(days, bool) or not isinstance(days, int):
        errors.add(("days",), f"must be a whole number of days from 1 to {MAX_TOKEN_DAYS}.")
        days = DEFAULT_TOKEN_DAYS
    elif not 1 <= days <= MAX_TOKEN_DAYS:
        errors.add(("days",), f"must be from 1 to {MAX_TOKEN_DAYS} days, not {days:,}.")
    return name, days


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def unrevoked(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)

    def active(self, now: datetime.datetime | None = None) -> ApiTokenQuerySet:
        """Tokens that open the API now: not revoked, not expired, their person active."""
        return self.unrevoked().filter(expires_at__gt=now or timezone.now(), user__is_active=True)

    def for_key(self, key: str) -> ApiToken | None:
        """The token a key belongs to, whatever its state (the caller says why it's refused)."""
        return self.select_related("user").filter(key_hash=hash_secret(key)).first()

    @transaction.atomic
    def revoke(self, *, by: Any = None) -> int:
        """Revoke these tokens (those not revoked yet): their keys answer 401 from now on.
        Returns how many were revoked; each is an audit event (`token_revoked`) by `by`, or by
        the signed-in user of the current request when `by` is None."""
        now = timezone.now()
        tokens = list(self.unrevoked().select_for_update().select_related("user"))
        count = ApiToken.objects.filter(pk__in=[t.pk for t in tokens]).update(revoked_at=now)
        for token in tokens:
            _audit_token(audit.Action.TOKEN_REVOKED, token, by)
        return count


class ApiToken(models.Model):
    """A person's key to the API (`Authorization: Token <key>`), kept only as its hash."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=MAX_TOKEN_NAME, help_text="What the token is for.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="api_token_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        """The token's state as pages and the admin say it: "revoked", "expired" or "active"."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired else "active"

    @classmethod
    @transaction.atomic
    def issue(
        cls, user: Any, *, name: Any, days: Any = None, by: Any = None
    ) -> tuple[ApiToken, str]:
        """A new token for `user`; returns it and its key, which is shown once and never
        stored (only its hash is). Raises RecordInvalid for a bad name or lifetime, or when
        the person already has MAX_ACTIVE_TOKENS tokens in force; the person's row is locked,
        so two requests at once can't both pass that count. The audit log gets a
        `token_created` event by `by` (default: the current request's user; outside a request,
        the system, as with `create_api_token`)."""
        errors = Errors()
        name, days = clean_token_request(name, days, errors)
        errors.raise_if_any()
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        now = timezone.now()
        if cls.objects.filter(user=user).active(now).count() >= MAX_ACTIVE_TOKENS:
            errors.add(
                (), f"You have {MAX_ACTIVE_TOKENS} tokens in force, the most one person may "
                "have: revoke one you no longer use first.",
            )  # fmt: skip
            errors.raise_if_any()
        key = new_api_key()
        token = cls.objects.create(
            user=user,
            name=name,
            key_hash=hash_secret(key),
            created_at=now,
            expires_at=now + datetime.timedelta(days=days),
        )
        _audit_token(audit.Action.TOKEN_CREATED, token, by)
        return token, key

    def note_use(self, now: datetime.datetime) -> None:
        """Record that the token was used at `now`: one UPDATE at most per LAST_USE_PRECISION,
        and none while the time already shown is recent enough. The condition is in the
        UPDATE itself, so concurrent requests with the same key write it once."""
        if self.last_used_at is not None and now - self.last_used_at < LAST_USE_PRECISION:
            return
        ApiToken.objects.filter(pk=self.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USE_PRECISION)
        ).update(last_used_at=now)
        self.last_used_at = now


def _audit_token(action: str, token: ApiToken, by: Any) -> None:
    """One audit event about `token`: whose it is and until when, never any part of the key."""
    audit.record(
        action,
        by=by if by is not None else audit.current_user(),
        target=token,
        detail={"owner": token.user.get_username(), "expires_at": token.expires_at.isoformat()},
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
