"""The engine as people meet it: saves trigger it, people are told once, a dead broker loses
nothing."""

from __future__ import annotations

import datetime
import threading
import time
from http.server import HTTPServer
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from common.models import Notification
from common.tasks import send_due_notifications
from incidents.actions import get_or_create_category
from incidents.models import Incident
from remediations import notifications
from remediations.models import RecurrenceFlag
from remediations.tasks import evaluate_incidents, notify_flag
from tests.api_helpers import api_client_for
from tests.factories import IncidentFactory, RemediationFactory, UserFactory, make_flag
from tests.webhook import Receiver

pytestmark = pytest.mark.django_db


def days(n: int) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=n)


def test_saving_through_the_api_raises_the_flag(
    alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    api = api_client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        remediation = api.post(
            "/api/remediations/",
            {"title": "Move to HTTP/2", "category": "Networking > Envoy", "status": "done",
             "opened_at": "2026-01-01T00:00:00Z", "done_at": "2026-02-01T00:00:00Z"},
            format="json",
        ).json()  # fmt: skip
        incident = api.post(
            "/api/incidents/",
            {"title": "Pool exhausted again", "started_at": "2026-03-01T00:00:00Z",
             "categories": ["Networking > Envoy > HTTP/1.1 connection pool exhaustion"]},
            format="json",
        ).json()  # fmt: skip
    body = api.get(f"/api/incidents/{incident['id']}/").json()
    flag = RecurrenceFlag.objects.get()
    assert body["open_flags"] == [flag.pk]
    assert [fix.pk for fix in flag.remediations.all()] == [remediation["id"]]
    assert api.get(f"/api/categories/{flag.category_id}/").json()["flagged"] is True


def test_the_pages_tell_the_story(
    alice_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    envoy = get_or_create_category("Networking > Envoy")
    with django_capture_on_commit_callbacks(execute=True):
        done = RemediationFactory(title="Move to HTTP/2", category=envoy, status="done",
                                  opened_at=days(-60), done_at=days(-30))  # fmt: skip
        still_open = RemediationFactory(
            title="Sidecar for billing", category=envoy, opened_at=days(-20)
        )
        from remediations.recurrence import evaluate

        incident = IncidentFactory(
            title="Billing pool exhausted", started_at=days(-1), categories=[envoy]
        )
        evaluate([incident.pk])
    page = alice_client.get(incident.get_absolute_url()).content.decode()
    assert "recurred after" in page and "Move to HTTP/2" in page
    assert (
        "This failure mode already has open remediations" in page and "Sidecar for billing" in page
    )
    assert "recurred after fix" in alice_client.get("/categories/").content.decode()
    assert (
        "1 incident while it stayed open"
        in alice_client.get(still_open.get_absolute_url()).content.decode()
    )
    flag = RecurrenceFlag.objects.get()
    assert "Billing pool exhausted" in alice_client.get("/flags/").content.decode()
    # "Not a recurrence" needs a note; a triage keeps who and when.
    response = alice_client.post(flag.get_absolute_url(), {"outcome": "not_a_recurrence"})
    assert response.status_code == 400
    response = alice_client.post(
        flag.get_absolute_url(), {"outcome": "partial", "note": "billing was missed"}
    )
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.state == "acknowledged" and flag.resolved_by.username == "alice"
    assert list(flag.remediations.all()) == [done]


def _flag(owner: Any) -> RecurrenceFlag:
    envoy = get_or_create_category("Networking > Envoy")
    remediation = RemediationFactory(title="Move to HTTP/2", category=envoy, status="done", owner=owner,
                                     opened_at=days(-60), done_at=days(-30))  # fmt: skip
    incident = IncidentFactory(title="Pool exhausted", started_at=days(-1), categories=[envoy])
    return make_flag(incident, envoy, remediation)


def _recurrence(owner: Any, title: str = "Pool exhausted") -> Incident:
    """A done fix owned by `owner`, and an incident of its failure mode since: a recurrence."""
    envoy = get_or_create_category("Networking > Envoy")
    RemediationFactory(title="Move to HTTP/2", category=envoy, status="done", owner=owner,
                       opened_at=days(-60), done_at=days(-30))  # fmt: skip
    return IncidentFactory(title=title, started_at=days(-1), categories=[envoy])


def test_a_recurrence_tells_the_owner_and_the_webhook_once_even_when_the_task_runs_twice(
    webhook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    incident = _recurrence(UserFactory(username="carol"))
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_incidents([incident.pk])
        evaluate_incidents([incident.pk])  # late acknowledgement: the worker died, it came again
        notify_flag(RecurrenceFlag.objects.get().pk)  # and a task queued before the upgrade
    flag = RecurrenceFlag.objects.get()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["carol@example.com"]
    assert len(webhook.received) == 1
    text = webhook.received[0]["text"]
    assert "Networking > Envoy came back in" in text and "“Move to HTTP/2”" in text
    assert text.endswith(f"/flags/{flag.pk}/") and webhook.received[0]["flag"]["id"] == flag.pk
    assert mail.outbox[0].body == text
    assert sorted(Notification.objects.values_list("key", "channel", "state")) == [
        (f"flag:{flag.pk}", "email", "sent"), (f"flag:{flag.pk}", "webhook", "sent"),
    ]  # fmt: skip


def test_a_failing_webhook_is_retried_later_while_the_email_goes_out_at_once(
    webhook: Any, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    incident = _recurrence(UserFactory(username="carol"))
    webhook.fail_next = 1  # the receiver answers 500 once
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_incidents([incident.pk])
    assert len(mail.outbox) == 1 and webhook.received == []
    posted = Notification.objects.get(channel="webhook")
    assert posted.state == "pending" and posted.attempts == 1
    assert posted.last_error == "HTTP 500 Internal Server Error from the webhook."
    assert posted.next_attempt_at == clock.now + datetime.timedelta(minutes=1)

    assert send_due_notifications() == {"sent": 0, "pending": 0, "failed": 0}  # not yet
    clock.advance(minutes=1)
    assert send_due_notifications() == {"sent": 1, "pending": 0, "failed": 0}
    assert len(webhook.received) == 1 and len(mail.outbox) == 1  # the email was not sent again
    posted.refresh_from_db()
    assert posted.state == "sent" and posted.attempts == 2


def test_a_webhook_that_is_down_is_retried_until_it_is_back(
    settings: Any, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    port = server.server_port
    server.server_close()  # nothing listens there now
    settings.ONCE_WEBHOOK_URL = f"http://127.0.0.1:{port}/hook"
    Receiver.received, Receiver.fail_next = [], 0
    incident = _recurrence(UserFactory(username="carol"))
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_incidents([incident.pk])
    assert len(mail.outbox) == 1
    posted = Notification.objects.get(channel="webhook")
    assert posted.state == "pending" and "refused" in posted.last_error.lower()

    server = HTTPServer(("127.0.0.1", port), Receiver)  # back up on the same address
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        clock.advance(minutes=1)
        send_due_notifications()
    finally:
        server.shutdown()
        server.server_close()
    assert len(Receiver.received) == 1 and len(mail.outbox) == 1


def test_a_title_with_a_line_break_still_sends_the_email_with_a_one_line_subject(
    webhook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    incident = _recurrence(UserFactory(username="carol"), title="Pool\r\nexhausted\u2028again")
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_incidents([incident.pk])
    (email,) = mail.outbox
    assert email.subject == (
        f"[Once] Networking > Envoy recurred in {incident.reference} "
        "“Pool exhausted again” after “Move to HTTP/2”"
    )
    assert "Pool\r\nexhausted" in email.body  # the body keeps the title as written
    assert email.message()["Subject"] is not None  # and Django renders the headers
    assert Notification.objects.get(channel="email").state == "sent"


def test_an_owner_without_an_email_address_gets_no_email_and_the_webhook_still_does(
    webhook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    incident = _recurrence(UserFactory(username="dave", email=""))
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_incidents([incident.pk])
    assert mail.outbox == [] and len(webhook.received) == 1


def test_recurrences_of_old_incidents_are_not_announced(settings: Any) -> None:
    settings.ONCE_NOTIFY_WITHIN_DAYS = 30
    recent = _flag(None)
    old = make_flag(
        IncidentFactory(started_at=days(-400)), recent.category, *recent.remediations.all()
    )
    assert notifications.worth_announcing([recent.pk, old.pk]) == [recent.pk]


def test_one_flag_tells_each_owner_of_its_fixes_once(
    webhook: Any, django_capture_on_commit_callbacks: Any
) -> None:
    carol, dave = UserFactory(username="carol"), UserFactory(username="dave")
    envoy = get_or_create_category("Networking > Envoy")
    for title, owner, kind in [
        ("Move to HTTP/2", carol, "prevent"),
        ("Raise pool limits", carol, "mitigate"),
        ("Sidecar for billing", dave, "prevent"),
        ("Dashboard for pool overflow", UserFactory(username="erin"), "detect"),
    ]:
        RemediationFactory(title=title, category=envoy, status="done", owner=owner, kind=kind,
                           opened_at=days(-60), done_at=days(-30))  # fmt: skip
    incident = IncidentFactory(title="Pool exhausted", started_at=days(-1), categories=[envoy])
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_incidents([incident.pk])
    flag = RecurrenceFlag.objects.get()  # one flag, naming the three fixes that promised
    assert sorted(f.title for f in flag.remediations.all()) == [
        "Move to HTTP/2",
        "Raise pool limits",
        "Sidecar for billing",
    ]
    # The owners of those fixes, once each; the detect fix's owner is not told.
    assert sorted(m.to[0] for m in mail.outbox) == ["carol@example.com", "dave@example.com"]
    assert len(webhook.received) == 1
    assert sorted(webhook.received[0]["flag"]["remediations"]) == sorted(
        f.pk for f in flag.remediations.all()
    )
    assert "after 3 fixes" in mail.outbox[0].subject


def test_with_the_broker_down_a_save_succeeds_fast_and_reconciliation_catches_up(
    alice: Any, broker_down: None, django_capture_on_commit_callbacks: Any, caplog: Any
) -> None:
    envoy = get_or_create_category("Networking > Envoy")
    RemediationFactory(category=envoy, status="done", opened_at=days(-60), done_at=days(-30))
    api = api_client_for(alice)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/incidents/",
            {
                "title": "Recurred",
                "started_at": days(-1).isoformat(),
                "categories": ["Networking > Envoy"],
            },
            format="json",
        )
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert elapsed < 2.5, f"the save waited {elapsed:.1f} s for the broker"
    assert not RecurrenceFlag.objects.exists()  # the event is pending…
    assert "the broker is unavailable" in caplog.text

    call_command("reconcile_recurrences", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert RecurrenceFlag.objects.filter(incident_id=response.json()["id"]).exists()  # …not lost
