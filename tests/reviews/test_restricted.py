"""The weekly review never reveals a restricted incident to someone outside its groups
(PRODUCT.md, "Who may see and change what"): not in the agenda page, its present mode, its API,
its counts and trends, its minutes, nor the actions on its rows; nor in the digest or the
recurrence and game-day notifications.

The restricted incident, its remediations, flag, scenario and the decision about it carry the
canary word `quokkabyte`. charlie is in none of its groups; bob is in its group (the positive
control of each test), alice owns the fix it recurred after but may not see it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.test import Client
from django.urls import reverse

from common.models import Notification
from gamedays import notifications as gameday_notifications
from gamedays.models import Scenario
from incidents.actions import get_or_create_category
from incidents.models import Visibility
from remediations import notifications as flag_notifications
from remediations.models import RecurrenceFlag
from remediations.recurrence import evaluate
from reviews import actions, digest
from reviews.weeks import Week
from tests.factories import IncidentFactory, RemediationFactory
from tests.reviews.conftest import at, game_day

pytestmark = pytest.mark.django_db

CANARY = "quokkabyte"


@pytest.fixture
def security(bob: User) -> Group:
    group = Group.objects.create(name="Security")
    bob.groups.add(group)
    return group


@pytest.fixture
def make_secret(kb: dict[str, Any], week: Week, security: Group, bob: User) -> Any:
    """Adds, when called, a restricted incident this week that recurred in etcd after alice's
    fix, with an overdue and a done remediation, a failed scenario that caused it and a
    review decision about it — every one of them saying the canary."""

    def make(*, scenario: bool = True) -> dict[str, Any]:
        secret_mode = get_or_create_category(f"Security > {CANARY.capitalize()} leaks")
        incident = IncidentFactory(
            title=f"{CANARY} signing key leaked",
            summary=f"The {CANARY} key was public.",
            body=f"Every {CANARY} token was rotated.",
            severity="SEV1",
            status="resolved",
            started_at=at(week, 1.2),
            categories=[kb["etcd"], secret_mode],
            visibility=Visibility.RESTRICTED,
            access_groups=[security],
        )
        evaluate([incident.pk])  # the etcd fix did not hold: a flag on a hidden incident
        made: dict[str, Any] = {
            "incident": incident,
            "flag": RecurrenceFlag.objects.get(incident=incident, category=kb["etcd"]),
            "overdue": RemediationFactory(
                title=f"Rotate {CANARY} keys", incident=incident, category=secret_mode,
                status="open", owner=bob, opened_at=at(week, -20), due_date=at(week, -2).date(),
            ),
            "done": RemediationFactory(
                title=f"Revoke {CANARY} tokens", incident=incident, category=secret_mode,
                status="done", owner=bob, opened_at=at(week, -9), done_at=at(week, 1.5),
            ),
        }  # fmt: skip
        if scenario:  # the game day is everyone's; the scenario that caused the incident is not
            # Monday's first minutes: a result can't be dated ahead of now.
            drill = game_day("Key rotation drill", at(week, 0.001), [
                {"title": f"Leak a {CANARY} key", "outcome": "failed", "ran_at": at(week, 0.001),
                 "verifies": [kb["fix"].pk]},
            ], status="done")  # fmt: skip
            made["scenario"] = Scenario.objects.get(game_day=drill)
            made["scenario"].incidents.add(incident)
        actions.mark_reviewed(incident, week=week, by=bob, expected_version=incident.version)
        return made

    return make


def pages(client: Client, week: Week) -> list[str]:
    texts = []
    for url in ("/review/", f"/review/{week.label}/", f"/review/{week.label}/?present=1"):
        response = client.get(url)
        assert response.status_code == 200, url
        texts.append(response.content.decode())
    return texts


def agenda_api(client: Client, week: Week) -> dict[str, Any]:
    response = client.get(f"/api/review/{week.label}/")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def test_an_outsider_sees_the_agenda_exactly_as_before_the_restricted_incident(
    make_secret: Any, week: Week, charlie_client: Client, bob_client: Client
) -> None:
    before = agenda_api(charlie_client, week)
    made = make_secret(scenario=False)
    after = agenda_api(charlie_client, week)
    assert CANARY not in json.dumps(after).lower()
    assert after["totals"] == before["totals"]
    assert after["category_trends"] == before["category_trends"]
    assert after["decisions"] == before["decisions"]
    assert after["meeting"]["reviewed_incidents"] == before["meeting"]["reviewed_incidents"]
    assert after == before
    for page in pages(charlie_client, week):
        assert CANARY not in page.lower()
        assert made["incident"].reference not in page

    seen = agenda_api(bob_client, week)
    assert CANARY in json.dumps(seen).lower()
    assert seen["totals"]["new_incidents"] == before["totals"]["new_incidents"] + 1
    assert seen["totals"]["open_flags"] == before["totals"]["open_flags"] + 1
    assert seen["totals"]["overdue_remediations"] == before["totals"]["overdue_remediations"] + 1
    assert made["incident"].pk in seen["meeting"]["reviewed_incidents"]
    for page in pages(bob_client, week):
        assert CANARY in page.lower()


def test_a_game_day_counts_only_the_scenarios_an_outsider_may_see(
    make_secret: Any, week: Week, charlie_client: Client, bob_client: Client
) -> None:
    make_secret()
    seen = agenda_api(bob_client, week)
    (drill,) = [g for g in seen["game_days"] if g["title"] == "Key rotation drill"]
    assert drill["outcomes"]["failed"] == 1
    assert CANARY in json.dumps(seen["failed_verifications"]).lower()
    outsider = agenda_api(charlie_client, week)
    (same,) = [g for g in outsider["game_days"] if g["id"] == drill["id"]]
    assert same["outcomes"]["failed"] == 0
    assert outsider["totals"]["failed_verifications"] == seen["totals"]["failed_verifications"] - 1
    assert CANARY not in json.dumps(outsider).lower()


def test_the_rows_of_a_hidden_incident_cannot_be_acted_on(
    make_secret: Any, week: Week, charlie_client: Client, bob_client: Client
) -> None:
    made = make_secret()
    urls = [
        reverse("review_incident", args=[week.label, made["incident"].pk]),
        reverse("review_flag", args=[week.label, made["flag"].pk]),
        reverse("review_remediation", args=[week.label, made["overdue"].pk]),
        reverse("review_reopen", args=[week.label, made["done"].pk]),
    ]
    for url in urls:
        assert charlie_client.post(url, {}).status_code == 404, url
        assert bob_client.post(url, {}).status_code != 404, url
    group = reverse("review_flag_group", args=[week.label, made["flag"].category_id])
    prefix = f"mode-{made['flag'].category_id}"
    response = charlie_client.post(
        group, {f"{prefix}-flags": [made["flag"].pk], f"{prefix}-outcome": "partial",
                f"{prefix}-note": "seen"},
    )  # fmt: skip
    assert CANARY not in response.content.decode().lower()
    made["flag"].refresh_from_db()
    assert made["flag"].state == "open"


@pytest.fixture
def delivered(django_capture_on_commit_callbacks: Any) -> Any:
    def run(task: Any, *args: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return task(*args)

    return run


def test_each_recipient_gets_the_digest_they_may_see_and_the_webhook_only_everyones(
    make_secret: Any, week: Week, charlie: User, webhook: Any, delivered: Any
) -> None:
    delivered(digest.send_digest, week)
    before = {m.to[0]: m.body for m in mail.outbox}
    (posted_before,) = webhook.received
    Notification.objects.all().delete()
    mail.outbox.clear()
    webhook.received.clear()

    make_secret(scenario=False)
    delivered(digest.send_digest, week)
    bodies = {}
    for message in mail.outbox:
        assert len(message.to) == 1 and not message.cc and not message.bcc
        bodies[message.to[0]] = message.body
    assert set(bodies) == {"alice@example.com", "bob@example.com", "charlie@example.com"}
    for outsider in ("alice@example.com", "charlie@example.com"):
        assert CANARY not in bodies[outsider].lower()
        assert bodies[outsider] == before[outsider]
    assert CANARY in bodies["bob@example.com"].lower()
    (posted,) = webhook.received
    assert CANARY not in json.dumps(posted).lower()
    assert posted == posted_before


def test_an_address_of_no_user_gets_only_what_everyone_may_see(
    make_secret: Any, week: Week, settings: Any, delivered: Any
) -> None:
    make_secret()
    settings.ONCE_DIGEST_RECIPIENTS = ["sre-leads@example.com", "bob@example.com"]
    delivered(digest.send_digest, week)
    bodies = {m.to[0]: m.body for m in mail.outbox}
    assert CANARY not in bodies["sre-leads@example.com"].lower()
    assert CANARY in bodies["bob@example.com"].lower()


def test_a_flag_on_a_hidden_incident_is_emailed_only_to_owners_who_may_see_it(
    kb: dict[str, Any], make_secret: Any, bob: User, webhook: Any, delivered: Any
) -> None:
    made = make_secret()
    # alice owns the fix that did not hold, but may not see the incident: nobody is told.
    assert delivered(flag_notifications.announce, [made["flag"].pk]) == 0
    assert not Notification.objects.filter(key=f"flag:{made['flag'].pk}").exists()

    # Positive control: once bob owns the fix, he is emailed; the webhook still hears nothing.
    kb["fix"].owner = bob
    kb["fix"].save(update_fields=["owner"])
    delivered(flag_notifications.announce, [made["flag"].pk])
    delivered(flag_notifications.announce, [made["flag"].pk])
    sent = Notification.objects.filter(key=f"flag:{made['flag'].pk}")
    assert [(n.channel, n.recipient) for n in sent] == [("email", "bob@example.com")]
    assert CANARY in mail.outbox[-1].body.lower()
    assert webhook.received == []


def test_a_fix_from_a_hidden_incident_is_named_only_to_those_who_may_see_it(
    make_secret: Any, week: Week, bob: User, webhook: Any, delivered: Any
) -> None:
    """A public incident recurs after a fix that came from the restricted one: its flag
    names a hidden fix, so it is hidden too (RecurrenceFlag.objects.visible_to) and the shared
    channel hears nothing of it; bob, who owns the fix and may see it, is told."""
    made = make_secret()
    badges = get_or_create_category("Security > Badges")
    public = IncidentFactory(
        title="Badge readers down", started_at=at(week, 2.5), categories=[badges]
    )
    made["done"].kind, made["done"].category = "prevent", badges
    made["done"].save(update_fields=["kind", "category"])
    evaluate([public.pk])
    flag = RecurrenceFlag.objects.get(incident=public)
    delivered(flag_notifications.announce, [flag.pk])
    assert webhook.received == []
    (email,) = mail.outbox  # bob owns the fix and may see it
    assert email.to == ["bob@example.com"]
    assert CANARY in email.body.lower()


def test_a_failed_scenario_that_caused_a_hidden_incident_is_not_posted_to_the_webhook(
    kb: dict[str, Any], make_secret: Any, bob: User, webhook: Any, delivered: Any
) -> None:
    made = make_secret()
    delivered(gameday_notifications.announce_failed, [made["scenario"].pk])
    assert webhook.received == []
    assert mail.outbox == []  # alice owns the fix it verifies, and may not see it
    kb["fix"].owner = bob
    kb["fix"].save(update_fields=["owner"])
    Notification.objects.all().delete()
    delivered(gameday_notifications.announce_failed, [made["scenario"].pk])
    (email,) = mail.outbox
    assert email.to == ["bob@example.com"] and CANARY in email.body.lower()
    assert webhook.received == []


def test_an_owner_is_not_reminded_of_a_remediation_of_an_incident_hidden_from_them(
    make_secret: Any, week: Week, charlie: User, delivered: Any
) -> None:
    made = make_secret()
    delivered(digest.remind_overdue, week)
    reminded = {m.to[0]: m.body for m in mail.outbox}
    assert CANARY in reminded["bob@example.com"].lower()

    mail.outbox.clear()
    Notification.objects.all().delete()
    made["overdue"].owner = charlie
    made["overdue"].save(update_fields=["owner"])
    delivered(digest.remind_overdue, week)
    assert all(CANARY not in m.body.lower() for m in mail.outbox)
    assert "charlie@example.com" not in {m.to[0] for m in mail.outbox}


def test_the_minutes_of_a_public_flag_never_name_a_fix_from_a_hidden_incident(
    make_secret: Any, week: Week, bob: User, charlie_client: Client, bob_client: Client
) -> None:
    """bob may see the fix; the minutes are everyone's, so its follow-up link stays off them."""
    made = make_secret(scenario=False)
    badges = get_or_create_category("Security > Badges")
    public = IncidentFactory(
        title="Badge readers down", started_at=at(week, 0.001), categories=[badges]
    )
    public_fix = RemediationFactory(
        title="Spare badge readers", category=badges, kind="prevent", status="done",
        opened_at=at(week, -30), done_at=at(week, -20),
    )  # fmt: skip
    made["done"].kind, made["done"].category = "prevent", badges
    made["done"].done_at = at(week, -5)
    made["done"].save(update_fields=["kind", "category", "done_at"])
    evaluate([public.pk])
    flag = RecurrenceFlag.objects.get(incident=public)
    assert set(flag.remediations.all()) == {public_fix, made["done"]}
    actions.triage(flag, outcome="fix_did_not_hold", note="", week=week, by=bob)

    minutes = agenda_api(charlie_client, week)["decisions"]
    assert "Badge readers down" in json.dumps(minutes)
    assert "Spare badge readers" in json.dumps(minutes)  # the positive control
    assert CANARY not in json.dumps(minutes).lower()
    for page in pages(charlie_client, week):
        assert CANARY not in page.lower()
