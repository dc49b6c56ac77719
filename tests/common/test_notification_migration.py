"""The upgrade to the delivery log: what the old claims say was sent is not sent again."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from common.models import Notification
from incidents.actions import get_or_create_category
from remediations import notifications
from remediations.models import RecurrenceFlag
from reviews import digest
from reviews.weeks import Week
from tests.factories import IncidentFactory, UserFactory

BEFORE = [
    ("remediations", "0003_recurrenceflag_flag_open_raised_idx_and_more"),
    ("reviews", "0002_digestdelivery_overduereminder"),
]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _old_remediation(old: Any, **fields: Any) -> Any:
    """A remediation as the schema before the upgrade stores it (the factory writes today's)."""
    return old.get_model("remediations", "Remediation").objects.create(version=1, **fields)


@pytest.fixture
def before_the_upgrade(transactional_db: Any) -> Iterator[Any]:
    """The database as the version before the delivery log left it; migrated back after."""
    old = _migrate(BEFORE)
    try:
        yield old
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_what_the_old_claims_say_was_sent_is_not_sent_again(
    before_the_upgrade: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    old = before_the_upgrade
    settings.ONCE_WEBHOOK_URL = "http://127.0.0.1:9/hook"  # nothing listens: a send would show
    week = Week.current()
    now = timezone.now()
    carol, dave = UserFactory(username="carol"), UserFactory(username="dave")
    envoy = get_or_create_category("Networking > Envoy")
    fix = _old_remediation(old, title="Move to HTTP/2", category_id=envoy.pk, status="done",
                           owner_id=carol.pk, opened_at=now - datetime.timedelta(days=60),
                           done_at=now - datetime.timedelta(days=30))  # fmt: skip
    incident = IncidentFactory(started_at=now - datetime.timedelta(days=1), categories=[envoy])
    told = old.get_model("remediations", "RecurrenceFlag").objects.create(
        incident_id=incident.pk, remediation_id=fix.pk, category_id=envoy.pk,
        owner_notified_at=now, webhook_notified_at=now,
    )  # fmt: skip
    overdue = [
        _old_remediation(old, title=f"Overdue {n}", owner_id=dave.pk,
                         opened_at=now - datetime.timedelta(days=20),
                         due_date=timezone.localdate() - datetime.timedelta(days=2))
        for n in range(2)
    ]  # fmt: skip
    old.get_model("reviews", "DigestDelivery").objects.bulk_create(
        [old.get_model("reviews", "DigestDelivery")(week_start=week.monday, channel=channel)
         for channel in ("email", "webhook")]
    )  # fmt: skip
    for remediation in overdue:
        old.get_model("reviews", "OverdueReminder").objects.create(
            remediation_id=remediation.pk, week_start=week.monday
        )

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    flag = RecurrenceFlag.objects.get(pk=told.pk)
    assert sorted(
        Notification.objects.filter(state="sent").values_list("key", "channel", "recipient")
    ) == sorted([
        (f"digest:{week.label}", "email", "carol@example.com"),
        (f"digest:{week.label}", "email", "dave@example.com"),
        (f"digest:{week.label}", "webhook", settings.ONCE_WEBHOOK_URL),
        (f"flag:{flag.pk}", "email", "carol@example.com"),
        (f"flag:{flag.pk}", "webhook", settings.ONCE_WEBHOOK_URL),
        (f"overdue:{week.label}:{dave.pk}:{min(r.pk for r in overdue)}", "email", "dave@example.com"),
    ])  # fmt: skip

    # What runs after the upgrade records nothing new, so nobody hears it twice.
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.announce([flag.pk]) == 0
        assert digest.send_digest(week) == {"email": False, "webhook": False}
        assert digest.remind_overdue(week) == 0
    assert Notification.objects.count() == before and mail.outbox == []


def test_the_downgrade_puts_the_claims_back(before_the_upgrade: Any) -> None:
    carol = UserFactory(username="carol")
    envoy = get_or_create_category("Networking > Envoy")
    old = before_the_upgrade
    fix = _old_remediation(old, title="Fix", category_id=envoy.pk, owner_id=carol.pk,
                           status="done", opened_at=timezone.now() - datetime.timedelta(days=9),
                           done_at=timezone.now() - datetime.timedelta(days=8))  # fmt: skip
    incident = IncidentFactory(categories=[envoy])
    flag = old.get_model("remediations", "RecurrenceFlag").objects.create(
        incident_id=incident.pk, remediation_id=fix.pk, category_id=envoy.pk,
        owner_notified_at=timezone.now(),
    )  # fmt: skip
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    old = _migrate(BEFORE)
    flag = old.get_model("remediations", "RecurrenceFlag").objects.get(pk=flag.pk)
    assert flag.owner_notified_at is not None and flag.webhook_notified_at is None
