"""The delivery log as an operator meets it: retries back off, failures stay visible, nothing is
lost or sent twice."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import connection
from django.test import Client

from common import notifications
from common.models import Notification
from common.notifications import Message, one_line, record
from common.tasks import send_due_notifications
from tests.celery_helpers import celery_broker
from tests.conftest import MODEL_BACKEND
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _record(
    settings: Any, capture: Any, *, email: str | None = "carol@example.com", webhook: bool = True
) -> list[Notification]:
    found = []
    if email is not None:
        found.append(Message("email", email, "[Once] Something came back", "Body."))
    if webhook:
        found.append(Message("webhook", settings.ONCE_WEBHOOK_URL, "[Once] Something", "Body."))
    with capture(execute=True):
        return record("flag:1", found)


def test_retries_back_off_then_give_up_with_the_last_error_kept(
    settings: Any, webhook: Any, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    webhook.fail_next = 100  # the receiver is broken for good
    _record(settings, django_capture_on_commit_callbacks, email=None)
    posted = Notification.objects.get()
    waits = []
    while posted.state == "pending":
        waits.append(posted.next_attempt_at - clock.now)
        clock.now = posted.next_attempt_at
        send_due_notifications()
        posted.refresh_from_db()
    minutes = [wait / datetime.timedelta(minutes=1) for wait in waits]
    assert minutes == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert posted.state == "failed" and posted.attempts == notifications.MAX_ATTEMPTS == 10
    assert posted.last_error == "HTTP 500 Internal Server Error from the webhook."
    assert posted.next_attempt_at is None and webhook.received == []
    clock.advance(days=30)
    assert send_due_notifications() == {"sent": 0, "pending": 0, "failed": 0}  # given up


@pytest.fixture
def operator(db: Any) -> Client:
    """Staff who may look at the delivery log and retry what failed, and nothing more."""
    user = UserFactory(username="olive", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_notification", "change_notification"])
    )
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    return client


def test_a_failed_delivery_shows_in_the_admin_and_staff_can_retry_it_now(
    settings: Any, webhook: Any, operator: Client, django_capture_on_commit_callbacks: Any
) -> None:
    webhook.fail_next = 100
    _record(settings, django_capture_on_commit_callbacks)
    posted = Notification.objects.get(channel="webhook")
    Notification.objects.filter(pk=posted.pk).update(
        state="failed", attempts=10, next_attempt_at=None
    )  # as after the last attempt

    page = operator.get("/admin/common/notification/?state__exact=failed").content.decode()
    assert "HTTP 500 Internal Server Error from the webhook." in page
    assert settings.ONCE_WEBHOOK_URL in page and "carol@example.com" not in page  # only failed

    webhook.fail_next = 0  # the receiver is fixed
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            "/admin/common/notification/",
            {"action": "retry", "_selected_action": [n.pk for n in Notification.objects.all()]},
            follow=True,
        )
    assert "1 notification will be tried again now; 1 sent or being sent" in (
        response.content.decode()
    )
    posted.refresh_from_db()
    assert posted.state == "sent" and posted.attempts == 11 and len(webhook.received) == 1
    assert len(mail.outbox) == 1  # the email, sent at first, was left alone


def test_staff_can_neither_add_edit_nor_delete_deliveries(
    settings: Any, operator: Client, django_capture_on_commit_callbacks: Any
) -> None:
    (email,) = _record(settings, django_capture_on_commit_callbacks, webhook=False)
    url = f"/admin/common/notification/{email.pk}/"
    assert operator.get(url + "change/").status_code == 200  # to read
    assert operator.get(url + "delete/").status_code == 403
    assert operator.get("/admin/common/notification/add/").status_code == 403
    operator.post(url + "change/", {"state": "pending", "recipient": "mallory@example.com"})
    email.refresh_from_db()
    assert email.state == "sent" and email.recipient == "carol@example.com"
    page = operator.get("/admin/common/notification/").content.decode()
    assert "delete_selected" not in page


def test_a_worker_that_died_mid_send_leaves_nothing_unsent(
    settings: Any, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):  # recorded; the worker never ran
        record("digest:2026-W48", [Message("email", "carol@example.com", "Digest", "Body.")])
    claimed = Notification.objects.get()
    Notification.objects.filter(pk=claimed.pk).update(
        state="sending", attempts=1, next_attempt_at=clock.now + notifications.SENDING_LEASE
    )  # a worker took it, then its machine went away
    assert send_due_notifications()["sent"] == 0 and mail.outbox == []  # its lease still holds
    clock.now += notifications.SENDING_LEASE
    assert send_due_notifications()["sent"] == 1
    claimed.refresh_from_db()
    assert claimed.state == "sent" and claimed.attempts == 2 and len(mail.outbox) == 1


@pytest.fixture
def broker_down() -> Iterator[None]:
    """Celery pointed at a port where nothing listens, as when Redis is stopped."""
    transport = {"socket_connect_timeout": 1, "socket_timeout": 2}
    with celery_broker("redis://127.0.0.1:1/0", broker_transport_options=transport):
        yield


def test_with_the_broker_down_the_sweep_sends_what_was_recorded(
    settings: Any, webhook: Any, broker_down: None, django_capture_on_commit_callbacks: Any,
    caplog: Any,
) -> None:  # fmt: skip
    _record(settings, django_capture_on_commit_callbacks)
    assert mail.outbox == [] and "the broker is unavailable" in caplog.text
    assert send_due_notifications.run() == {"sent": 2, "pending": 0, "failed": 0}
    assert len(mail.outbox) == 1 and len(webhook.received) == 1


def test_an_address_that_is_not_one_fails_at_once_without_holding_up_the_others(
    settings: Any, webhook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _record(settings, django_capture_on_commit_callbacks, email="carol@example.com\nBcc: x@y.z")
    bad = Notification.objects.get(channel="email")
    assert bad.state == "failed" and bad.attempts == 1
    assert "is not an email address" in bad.last_error
    assert mail.outbox == [] and len(webhook.received) == 1


def test_the_same_message_recorded_twice_is_one_delivery(
    settings: Any, webhook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert len(_record(settings, django_capture_on_commit_callbacks)) == 2
    assert _record(settings, django_capture_on_commit_callbacks) == []
    assert Notification.objects.count() == 2
    assert len(mail.outbox) == 1 and len(webhook.received) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_send_each_delivery_once(monkeypatch: Any) -> None:
    monkeypatch.setattr(notifications, "_queue", lambda ids: None)  # the broker lost them all
    for n in range(40):
        record(f"flag:{n}", [Message("email", f"owner{n}@example.com", "Flag", "Body.")])
    start = threading.Barrier(2)
    counts: list[dict[str, int]] = []

    def worker() -> None:
        try:
            start.wait()
            counts.append(notifications.send_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(c["sent"] for c in counts) == 40
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        f"owner{n}@example.com" for n in range(40)
    )
    assert Notification.objects.filter(state="sent", attempts=1).count() == 40


@pytest.mark.parametrize(
    "text",
    [
        "Pool\nexhausted", "Pool\r\nexhausted", "Pool\rexhausted", "Pool\u2028exhausted",
        "Pool\u2029exhausted", "Pool\x85exhausted", "Pool\x0bexhausted", "Pool\x0cexhausted",
        "Pool\x1cexhausted", "Pool\x00exhausted", "Pool \t\n  exhausted", "\nPool exhausted\n",
    ],
)  # fmt: skip
def test_any_line_break_in_a_subject_becomes_one_space(text: str) -> None:
    assert one_line(text) == "Pool exhausted"


def test_a_long_subject_is_cut_to_a_bounded_line() -> None:
    subject = one_line("word " * 100)
    assert len(subject) == 200 and subject.endswith("word…")
