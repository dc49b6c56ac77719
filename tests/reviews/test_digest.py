"""The weekly digest (email and webhook) and the overdue reminders, each sent once."""

from __future__ import annotations

from typing import Any

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core import mail

from reviews import digest
from reviews.tasks import remind_overdue_owners, send_weekly_digest
from reviews.weeks import Week

pytestmark = pytest.mark.django_db


def test_the_digest_goes_out_once_by_email_and_webhook(kb: dict[str, Any], week: Week, webhook: Any) -> None:
    assert send_weekly_digest() == {"email": True, "webhook": True}
    assert send_weekly_digest() == {"email": False, "webhook": False}  # a retry or a second beat
    (message,) = mail.outbox
    assert message.subject == f"[Once] Weekly review {week.label}"
    assert sorted(message.to) == ["alice@example.com", "bob@example.com"]
    assert "New incidents: 2" in message.body and "SEV1 INC-" in message.body
    assert "Recurred after remediation: 1" in message.body
    assert f"/review/{week.label}/" in message.body
    (posted,) = webhook.received
    assert posted["text"] == message.body
    assert posted["review"]["totals"]["overdue_remediations"] == 2


def test_configured_recipients_replace_the_team(kb: dict[str, Any], settings: Any) -> None:
    settings.ONCE_DIGEST_RECIPIENTS = ["sre-leads@example.com"]
    send_weekly_digest()
    assert mail.outbox[0].to == ["sre-leads@example.com"]


def test_a_failed_webhook_is_retried_without_emailing_twice(kb: dict[str, Any], webhook: Any) -> None:
    webhook.fail_next = 1
    with pytest.raises(OSError):  # urllib's HTTPError: the task's autoretry covers OSError
        digest.send_digest(Week.current())
    assert len(mail.outbox) == 1 and webhook.received == []
    assert digest.send_digest(Week.current()) == {"email": False, "webhook": True}
    assert len(mail.outbox) == 1 and len(webhook.received) == 1


def test_owners_get_one_reminder_per_overdue_remediation_per_week(kb: dict[str, Any], week: Week) -> None:
    assert remind_overdue_owners() == 1  # bob's; the runbook has no owner
    assert remind_overdue_owners() == 0
    (message,) = mail.outbox
    assert message.to == ["bob@example.com"]
    assert "Alert on DNS latency" in message.body
    assert digest.remind_overdue(week.next) == 1  # still overdue next week: reminded again


def test_beat_runs_the_digest_at_the_configured_time() -> None:
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["weekly-review-digest"]["task"] == "reviews.tasks.send_weekly_digest"
    assert schedule["weekly-review-digest"]["schedule"] == crontab(day_of_week="mon", hour=8, minute=0)
    assert schedule["overdue-remediation-reminders"]["task"] == "reviews.tasks.remind_overdue_owners"


def test_a_bad_schedule_stops_start_up_with_a_clear_sentence() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()"],
        env={**__import__("os").environ, "ONCE_DIGEST_AT": "someday 25:00"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert "ONCE_DIGEST_AT must be a weekday and a 24-hour time like 'mon 08:30', not 'someday 25:00'." in result.stderr
