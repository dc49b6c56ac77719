"""The weekly digest (email and webhook) and the overdue reminders, each sent once."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from common.models import Notification
from common.tasks import send_due_notifications
from reviews import digest
from reviews.tasks import remind_overdue_owners, send_weekly_digest
from reviews.weeks import Week
from tests.factories import RemediationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(django_capture_on_commit_callbacks: Any) -> Any:
    """Run a task as a worker would: its deliveries go out when its transaction commits."""

    def run(task: Any, *args: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return task(*args)

    return run


def test_the_digest_goes_out_once_per_recipient_and_channel(
    kb: dict[str, Any], week: Week, webhook: Any, delivered: Any
) -> None:
    assert delivered(send_weekly_digest) == {"email": True, "webhook": True}
    # A retry or a second beat:
    assert delivered(send_weekly_digest) == {"email": False, "webhook": False}
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
    assert all(len(m.to) == 1 for m in mail.outbox)  # nobody sees the others' addresses
    message = mail.outbox[0]
    assert message.subject == f"[Once] Weekly review {week.label}"
    assert "New incidents: 2" in message.body and "SEV1 INC-" in message.body
    assert "Recurred after a fix: 1" in message.body
    assert f"/review/{week.label}/" in message.body
    (posted,) = webhook.received
    assert posted["text"] == message.body
    assert posted["review"]["totals"]["overdue_remediations"] == 2
    assert Notification.objects.filter(key=f"digest:{week.label}", state="sent").count() == 3


def test_someone_who_joins_mid_week_gets_that_weeks_digest_and_nobody_else_again(
    kb: dict[str, Any], delivered: Any
) -> None:
    delivered(send_weekly_digest)
    UserFactory(username="carol")
    delivered(send_weekly_digest)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "alice@example.com", "bob@example.com", "carol@example.com",
    ]  # fmt: skip


def test_configured_recipients_replace_the_team(
    kb: dict[str, Any], settings: Any, delivered: Any
) -> None:
    settings.ONCE_DIGEST_RECIPIENTS = ["sre-leads@example.com"]
    delivered(send_weekly_digest)
    assert [m.to for m in mail.outbox] == [["sre-leads@example.com"]]


def test_a_failed_webhook_is_retried_without_emailing_twice(
    kb: dict[str, Any], webhook: Any, clock: Any, delivered: Any
) -> None:
    webhook.fail_next = 1
    delivered(digest.send_digest, Week.current())
    assert len(mail.outbox) == 2 and webhook.received == []
    # The beat came again before the retry was due: nothing new is recorded or sent.
    assert delivered(digest.send_digest, Week.current()) == {"email": False, "webhook": False}
    clock.advance(minutes=1)
    delivered(send_due_notifications)
    assert len(mail.outbox) == 2 and len(webhook.received) == 1


def test_owners_get_one_reminder_per_overdue_remediation_per_week(
    kb: dict[str, Any], week: Week, delivered: Any
) -> None:
    assert delivered(remind_overdue_owners) == 1  # bob's; the runbook has no owner
    assert delivered(remind_overdue_owners) == 0  # the next day, or a second worker
    (message,) = mail.outbox
    assert message.to == ["bob@example.com"]
    assert message.subject == "[Once] 1 overdue remediation"
    assert "Alert on DNS latency" in message.body
    assert delivered(digest.remind_overdue, week.next) == 1  # still overdue next week: again


def test_a_remediation_that_falls_overdue_mid_week_is_reminded_that_day_alone(
    kb: dict[str, Any], week: Week, bob: Any, delivered: Any
) -> None:
    delivered(remind_overdue_owners)
    RemediationFactory(title="Rotate the DNS keys", owner=bob, opened_at=kb["overdue"].opened_at,
                       due_date=timezone.localdate() - datetime.timedelta(days=1))  # fmt: skip
    assert delivered(remind_overdue_owners) == 1
    assert delivered(remind_overdue_owners) == 0
    first, second = mail.outbox
    assert "Alert on DNS latency" in first.body
    assert "Rotate the DNS keys" in second.body and "Alert on DNS latency" not in second.body


def test_beat_runs_the_digest_at_the_configured_time() -> None:
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["weekly-review-digest"]["task"] == "reviews.tasks.send_weekly_digest"
    assert schedule["weekly-review-digest"]["schedule"] == crontab(
        day_of_week="mon", hour=8, minute=0
    )
    assert (
        schedule["overdue-remediation-reminders"]["task"] == "reviews.tasks.remind_overdue_owners"
    )
    assert schedule["send-due-notifications"]["task"] == "common.tasks.send_due_notifications"


def test_a_bad_schedule_stops_start_up_with_a_clear_sentence() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()"],
        env={**__import__("os").environ, "ONCE_DIGEST_AT": "someday 25:00"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert (
        "ONCE_DIGEST_AT must be a weekday and a 24-hour time like 'mon 08:30', not 'someday 25:00'."
        in result.stderr
    )
