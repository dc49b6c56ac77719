"""Effectiveness of a done fix as people and scripts see it: with the evidence that set it, on
the remediation page, in lists (a column and a filter), on the incident page and in the API;
and follow-ups, linked both ways and validated."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.actions import get_or_create_category
from remediations import effectiveness
from remediations.actions import triage_flag
from remediations.models import RecurrenceFlag, Remediation
from remediations.recurrence import evaluate
from tests.api_helpers import api_client_for
from tests.factories import IncidentFactory, RemediationFactory

pytestmark = pytest.mark.django_db


def days(n: int) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=n)


def _fix(title: str, path: str, *, done: int) -> Remediation:
    return RemediationFactory(
        title=title, category=get_or_create_category(path), kind="prevent", status="done",
        opened_at=days(done - 20), done_at=days(done),
    )  # fmt: skip


@pytest.fixture
def fixes(alice: Any) -> dict[str, Any]:
    """Three done fixes the engine judged from real incidents, and one still open:

    - "Move to HTTP/2" recurred in an incident triaged "the fix did not hold": regressed;
    - "Cache IAM credentials" recurred, not triaged yet: unverified, awaiting triage;
    - "Pin the etcd version", done 120 days ago, nothing since: holding.
    """
    http2 = _fix("Move to HTTP/2", "Networking > Envoy", done=-60)
    iam = _fix("Cache IAM credentials", "Containers don't start > IAM", done=-30)
    pinned = _fix("Pin the etcd version", "Control plane > etcd", done=-120)
    RemediationFactory(title="Add a sidecar", category=http2.category, status="open")
    pools = IncidentFactory(
        title="Pool exhausted again", started_at=days(-10), categories=[http2.category]
    )
    throttled = IncidentFactory(
        title="IAM throttled", started_at=days(-5), categories=[iam.category]
    )
    evaluate([pools.pk, throttled.pk])
    triage_flag(RecurrenceFlag.objects.get(incident=pools), outcome="fix_did_not_hold", by=alice)
    effectiveness.assess([pinned.pk])
    for fix in (http2, iam, pinned):
        fix.refresh_from_db()
    assert (http2.effectiveness, iam.effectiveness, pinned.effectiveness) == (
        "regressed", "unverified", "holding",
    )  # fmt: skip
    return {"http2": http2, "iam": iam, "pinned": pinned, "pools": pools}


def _rows(html: str) -> dict[str, str]:
    """Rows of the remediation table as {title: the row's text}."""
    found = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S):
        title = re.search(r'<a href="/remediations/\d+/">([^<]+)</a>', row)
        if title:
            row = re.sub(r"</?time[^>]*>", "", row)  # a date is inline text (common/dates.py)
            found[title.group(1)] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
    return found


def test_the_list_has_an_effectiveness_column_with_the_evidence(
    alice_client: Client, fixes: dict[str, Any]
) -> None:
    html = alice_client.get(reverse("remediation_list")).content.decode()
    assert "<th>Effectiveness</th>" in html
    rows = _rows(html)
    pools = fixes["pools"]
    started = f"{pools.started_at:%Y-%m-%d}"
    regressed = rows["Move to HTTP/2"]
    assert f"Regressed since {started}: {pools.reference} recurred on {started}" in regressed
    assert "Unverified" in rows["Cache IAM credentials"]
    assert "recurred after it was done and awaits triage" in rows["Cache IAM credentials"]
    holding_since = fixes["pinned"].done_at + datetime.timedelta(days=90)
    assert (
        f"Holding since {holding_since:%Y-%m-%d}: Done {fixes['pinned'].done_at:%Y-%m-%d}; "
        "no recurrence held against it since." in rows["Pin the etcd version"]
    )
    # Not done: no effectiveness at all.
    assert "Holding" not in rows["Add a sidecar"] and "Unverified" not in rows["Add a sidecar"]


def test_the_list_filters_by_effectiveness_one_or_several(
    alice_client: Client, fixes: dict[str, Any]
) -> None:
    url = reverse("remediation_list")

    def titles(query: dict[str, Any]) -> list[str]:
        return sorted(r.title for r in alice_client.get(url, query).context["page"])

    assert titles({"effectiveness": "regressed"}) == ["Move to HTTP/2"]
    assert titles({"effectiveness": ["holding", "unverified"]}) == [
        "Cache IAM credentials", "Pin the etcd version",
    ]  # fmt: skip
    page = alice_client.get(url, {"effectiveness": "regressed"}).content.decode()
    assert re.search(r'name="effectiveness" value="regressed"[^>]* checked', page)
    assert not re.search(r'name="effectiveness" value="holding"[^>]* checked', page)
    bad = alice_client.get(url, {"effectiveness": "great"})
    assert bad.status_code == 400 and "great is not one of the available choices" in (
        bad.content.decode()
    )


def test_the_api_filters_by_effectiveness_one_or_several(alice: Any, fixes: dict[str, Any]) -> None:
    api = api_client_for(alice)

    def titles(query: str) -> list[str]:
        response = api.get(f"/api/remediations/?{query}")
        assert response.status_code == 200, response.json()
        return sorted(r["title"] for r in response.json()["results"])

    assert titles("effectiveness=regressed") == ["Move to HTTP/2"]
    assert titles("effectiveness=regressed&effectiveness=holding") == [
        "Move to HTTP/2", "Pin the etcd version",
    ]  # fmt: skip
    response = api.get("/api/remediations/?effectiveness=great")
    assert response.status_code == 400 and "effectiveness" in response.json()


def test_the_api_representation_carries_effectiveness_and_its_evidence(
    alice: Any, fixes: dict[str, Any]
) -> None:
    api = api_client_for(alice)
    http2, pools = fixes["http2"], fixes["pools"]
    body = api.get(f"/api/remediations/{http2.pk}/").json()
    assert body["effectiveness"] == "regressed"
    assert body["regressed_at"] == pools.started_at.isoformat().replace("+00:00", "Z")
    assert body["verified_at"] is None
    assert body["effectiveness_evidence"] == (
        f"{pools.reference} recurred on {pools.started_at:%Y-%m-%d}: the fix did not hold."
    )
    assert body["effectiveness_since"] == body["regressed_at"]
    assert body["follow_up_of"] is None and body["follow_ups"] == []
    still_open = api.get("/api/remediations/", {"status": "open"}).json()["results"][0]
    assert still_open["effectiveness"] is None and still_open["effectiveness_evidence"] == ""
    # Derived, never typed: a client can't set it.
    response = api.patch(
        f"/api/remediations/{http2.pk}/",
        {"effectiveness": "verified", "version": http2.version},
        format="json",
    )
    assert response.status_code == 200
    assert api.get(f"/api/remediations/{http2.pk}/").json()["effectiveness"] == "regressed"


@pytest.fixture
def api(alice: Any) -> APIClient:
    return api_client_for(alice)


def test_a_follow_up_is_created_through_the_api_and_linked_both_ways(api: APIClient) -> None:
    fix = _fix("Move to HTTP/2", "Networking > Envoy", done=-60)
    response = api.post(
        "/api/remediations/",
        {"title": "Move billing to HTTP/2 too", "category": "Networking > Envoy",
         "follow_up_of": fix.pk},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    follow_up = response.json()
    assert follow_up["follow_up_of"] == fix.pk
    assert api.get(f"/api/remediations/{fix.pk}/").json()["follow_ups"] == [follow_up["id"]]
    # Unlinked with null; an update that leaves it out keeps it.
    url = f"/api/remediations/{follow_up['id']}/"
    body = api.patch(url, {"title": "Billing on HTTP/2", "version": 1}, format="json").json()
    assert body["follow_up_of"] == fix.pk and body["version"] == 2
    body = api.patch(url, {"follow_up_of": None, "version": 2}, format="json").json()
    assert body["follow_up_of"] is None and body["version"] == 3


@pytest.mark.parametrize(
    ("value", "reason"),
    [(999_999, "There is no remediation 999999."),
     ("abc", "Send the id of a remediation or null, not 'abc'."),
     (True, "Send the id of a remediation or null, not 'True'."),
     ("self", "A remediation can't be a follow-up of itself."),
     ("its own follow-up", "“Second try” already follows this one up: a follow-up can't go round.")],
)  # fmt: skip
def test_a_follow_up_of_that_is_not_a_fix_to_follow_is_a_400_with_the_reason(
    api: APIClient, value: Any, reason: str
) -> None:
    first = RemediationFactory(title="First try")
    second = RemediationFactory(title="Second try", follow_up_of=first)
    value = {"self": first.pk, "its own follow-up": second.pk}.get(value, value)
    response = api.patch(
        f"/api/remediations/{first.pk}/", {"follow_up_of": value, "version": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"follow_up_of": [reason]}
    first.refresh_from_db()
    assert first.follow_up_of is None and first.version == 1


def test_a_new_remediation_cannot_follow_up_one_that_does_not_exist(api: APIClient) -> None:
    response = api.post("/api/remediations/", {"title": "x", "follow_up_of": 424242}, format="json")
    assert response.status_code == 400
    assert response.json() == {"follow_up_of": ["There is no remediation 424242."]}
    assert not Remediation.objects.exists()


def test_the_remediation_page_shows_effectiveness_follow_ups_and_what_it_follows(
    alice_client: Client, fixes: dict[str, Any]
) -> None:
    http2, pools = fixes["http2"], fixes["pools"]
    # "Open a follow-up" from the flag page, as a person would: the form comes filled in.
    url = f"{reverse('remediation_create')}?follow_up={http2.pk}"
    flag = RecurrenceFlag.objects.get(incident=pools)
    form = alice_client.get(f"{url}&flag={flag.pk}").content.decode()
    assert 'value="Follow-up: Move to HTTP/2"' in form
    response = alice_client.post(
        f"{url}&flag={flag.pk}",
        {"title": "Move billing to HTTP/2", "kind": "prevent", "status": "open",
         "category": http2.category.pk, "description": "Billing was missed."},
    )  # fmt: skip
    assert response.status_code == 302, response.context["form"].errors
    follow_up = Remediation.objects.get(title="Move billing to HTTP/2")
    assert follow_up.follow_up_of == http2

    page = alice_client.get(http2.get_absolute_url()).content.decode()
    effectiveness_fact = re.search(r'<div id="effectiveness">(.*?)</div>', page, flags=re.S)
    assert effectiveness_fact is not None
    assert "Regressed" in effectiveness_fact.group(1)
    assert (
        f"since {pools.started_at:%Y-%m-%d}: {pools.reference} recurred on "
        f"{pools.started_at:%Y-%m-%d}: the fix did not hold."
        in re.sub(r"</?time[^>]*>", "", effectiveness_fact.group(1))
    )
    follow_ups = page[page.index('id="follow-ups"') :]
    assert f'href="{follow_up.get_absolute_url()}">Move billing to HTTP/2</a>' in follow_ups

    page = alice_client.get(follow_up.get_absolute_url()).content.decode()
    follows = re.search(r'<div id="follows">(.*?)</div>', page, flags=re.S)
    assert follows is not None
    assert f'href="{http2.get_absolute_url()}">Move to HTTP/2</a>' in follows.group(1)
    assert "Regressed" in follows.group(1)


def test_the_incident_page_shows_the_effectiveness_of_its_remediations(
    alice_client: Client, fixes: dict[str, Any]
) -> None:
    pinned = fixes["pinned"]
    incident = IncidentFactory(title="etcd upgraded by surprise", started_at=days(-200))
    pinned.incident = incident
    pinned.save()
    rows = _rows(alice_client.get(incident.get_absolute_url()).content.decode())
    assert "Holding since" in rows["Pin the etcd version"]
    done = f"Done {pinned.done_at:%Y-%m-%d}; no recurrence held against it since."
    assert done in rows["Pin the etcd version"]
