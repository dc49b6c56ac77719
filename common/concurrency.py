"""Optimistic concurrency: a write names the version it was based on, and a stale one is refused.

The check is one conditional UPDATE (`... WHERE id = %s AND version = %s`), atomic on both
PostgreSQL and SQLite, so of N concurrent writers holding the same version exactly one wins.
"""

import hashlib
from typing import Any

from django.db import models, transaction


class StaleVersion(Exception):
    """Raised when a write was based on a version that is no longer the current one."""

    def __init__(self, instance: "VersionedModel", submitted_version: int) -> None:
        super().__init__(f"{instance} changed since version {submitted_version}.")
        self.instance = instance
        self.submitted_version = submitted_version


class VersionedModel(models.Model):
    """A model whose rows carry a version number that each save increases by one."""

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


def claim_version(instance: VersionedModel, submitted_version: int) -> None:
    """Move the row from `submitted_version` to the next one, or raise StaleVersion.

    Call inside `transaction.atomic()` before saving the instance's other fields.
    """
    model = type(instance)
    claimed = model._default_manager.filter(pk=instance.pk, version=submitted_version).update(
        version=submitted_version + 1
    )
    if not claimed:
        current = model._default_manager.get(pk=instance.pk)
        raise StaleVersion(current, submitted_version)
    instance.version = submitted_version + 1


def save_versioned(
    instance: VersionedModel, *, by: Any, expected_version: int | None, creator_field: str
) -> None:
    """Save a new row (recording its creator) or an update based on `expected_version`.

    Raises StaleVersion, writing nothing, when that version is no longer the current one.
    The edit history (django-simple-history) records `by` as the author of this version.
    """
    user = by if by is not None and by.is_authenticated else None
    with transaction.atomic():
        if instance.pk is None:
            if user is not None and getattr(instance, f"{creator_field}_id") is None:
                setattr(instance, creator_field, user)
        else:
            # No version given counts as stale: an update must say what it was based on.
            claim_version(instance, expected_version if expected_version is not None else -1)
        if user is not None:
            instance._history_user = user  # type: ignore[attr-defined]  # read by simple-history
        instance.save()


def serialize(name: str) -> None:
    """Wait until no other transaction holds the lock `name`, then hold it until this one ends.

    For a rule that spans rows a version cannot guard (no incident is a duplicate of a
    duplicate: two people marking A a duplicate of B and B of A at the same moment each change
    only their own row, and would leave a cycle). Call inside `transaction.atomic()`, before
    reading what the rule checks. PostgreSQL: a transaction-level advisory lock keyed by
    `name`; SQLite lets one writer at a time through already, so nothing is taken there.
    """
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
