"""The lists a team scans every day (issue 16, items 2 and 6): the incident list sorts by
started, severity, status and updated and filters by several services; the remediation list
opens on what is overdue; every page links to the account, staff's to the admin and API docs."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from incidents.actions import get_or_create_services
from incidents.models import Incident, IncidentStatus, Severity
from remediations.models import RemediationStatus
from tests.api_helpers import api_client_for
from tests.factories import IncidentFactory, RemediationFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


@pytest.fixture
def three() -> dict[str, Incident]:
    now = timezone.now()
    made = {
        "old-sev1": IncidentFactory(
            title="Old SEV1", severity=Severity.SEV1, status=IncidentStatus.REVIEWED,
            started_at=now - 30 * DAY,
        ),
        "new-sev3": IncidentFactory(
            title="New SEV3", severity=Severity.SEV3, status=IncidentStatus.INVESTIGATING,
            started_at=now - 1 * DAY,
        ),
        "mid-sev2": IncidentFactory(
            title="Mid SEV2", severity=Severity.SEV2, status=IncidentStatus.RESOLVED,
            started_at=now - 10 * DAY,
        ),
    }  # fmt: skip
    # The oldest was edited last.
    Incident.objects.filter(pk=made["old-sev1"].pk).update(updated_at=now)
    Incident.objects.filter(pk=made["new-sev3"].pk).update(updated_at=now - 5 * DAY)
    Incident.objects.filter(pk=made["mid-sev2"].pk).update(updated_at=now - 3 * DAY)
    return made


def _titles(client: Client, **params: Any) -> list[str]:
    response = client.get("/incidents/", params)
    assert response.status_code == 200
    return [i.title for i in response.context["page"]]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, ["New SEV3", "Mid SEV2", "Old SEV1"]),
        ("started", ["Old SEV1", "Mid SEV2", "New SEV3"]),
        ("severity", ["Old SEV1", "Mid SEV2", "New SEV3"]),
        ("-severity", ["New SEV3", "Mid SEV2", "Old SEV1"]),
        ("status", ["New SEV3", "Mid SEV2", "Old SEV1"]),
        ("-updated", ["Old SEV1", "Mid SEV2", "New SEV3"]),
        ("updated", ["New SEV3", "Mid SEV2", "Old SEV1"]),
    ],
)
def test_the_incident_list_sorts_the_way_people_look(
    three: dict[str, Incident], alice_client: Client, sort: str | None, expected: list[str]
) -> None:
    assert _titles(alice_client, **({"sort": sort} if sort else {})) == expected


def test_a_column_head_sorts_and_a_second_click_reverses(
    three: dict[str, Incident], alice_client: Client
) -> None:
    html = alice_client.get("/incidents/", {"sort": "severity", "status": "resolved"}).content
    heads = html.decode()
    # The sorted column says so, and its link reverses it, keeping the filters.
    assert 'aria-sort="ascending"><a href="?sort=-severity&amp;status=resolved">Severity' in heads
    assert '<a href="?sort=-updated&amp;status=resolved">Updated' in heads
    # An order it doesn't know is refused with a message, the filters kept.
    refused = alice_client.get("/incidents/", {"sort": "nonsense"})
    assert refused.status_code == 400
    assert "Select a valid choice. nonsense is not one of the available choices." in (
        refused.content.decode()
    )


def test_the_api_sorts_too_and_refuses_an_unknown_order(
    three: dict[str, Incident], alice: User
) -> None:
    api = api_client_for(alice)
    body = api.get("/api/incidents/", {"sort": "severity"}).json()
    assert [r["title"] for r in body["results"]] == ["Old SEV1", "Mid SEV2", "New SEV3"]
    refused = api.get("/api/incidents/", {"sort": "nonsense"})
    assert refused.status_code == 400 and "sort" in refused.json()


def test_search_keeps_its_own_sort(three: dict[str, Incident], alice_client: Client) -> None:
    assert alice_client.get("/search/", {"q": "SEV2", "sort": "newest"}).status_code == 200


def test_the_services_filter_takes_several_and_lists_each_incident_once(
    alice_client: Client, alice: User
) -> None:
    etcd, envoy, dns = get_or_create_services(["etcd", "Envoy", "DNS"])
    IncidentFactory(title="Both", services=[etcd, envoy])
    IncidentFactory(title="Only etcd", services=[etcd])
    IncidentFactory(title="Only DNS", services=[dns])
    chosen = {"service": [etcd.pk, envoy.pk]}
    assert sorted(_titles(alice_client, **chosen)) == ["Both", "Only etcd"]
    assert alice_client.get("/incidents/", chosen).context["page"].paginator.count == 2
    api = api_client_for(alice).get("/api/incidents/", chosen).json()
    assert api["count"] == 2
    assert _titles(alice_client, service=dns.pk) == ["Only DNS"]  # one still works


def test_the_remediation_list_opens_on_what_is_overdue_then_by_due_date(
    alice_client: Client, alice: User
) -> None:
    today = timezone.localdate()
    RemediationFactory(
        title="Done long ago",
        status=RemediationStatus.DONE,
        due_date=today - 90 * DAY,
        opened_at=timezone.now() - 100 * DAY,
        done_at=timezone.now() - 80 * DAY,
    )
    RemediationFactory(title="Due next month", due_date=today + 30 * DAY)
    RemediationFactory(title="No due date")
    RemediationFactory(title="Overdue a week", due_date=today - 7 * DAY)
    RemediationFactory(
        title="Overdue a day", status=RemediationStatus.IN_PROGRESS, due_date=today - 1 * DAY
    )
    RemediationFactory(title="Due tomorrow", due_date=today + 1 * DAY)  # fmt: skip
    page = alice_client.get("/remediations/").context["page"]
    assert [r.title for r in page] == [
        "Overdue a week", "Overdue a day", "Due tomorrow", "Due next month", "No due date",
        "Done long ago",
    ]  # fmt: skip
    by_title = alice_client.get("/remediations/", {"sort": "title"}).context["page"]
    assert [r.title for r in by_title][:2] == ["Done long ago", "Due next month"]
    html = alice_client.get("/remediations/").content.decode()
    assert re.search(r'<option value="urgent" selected>', html)
    # Its column heads sort too, as the incident list's do: a click on "Due" sorts by it.
    heads = re.findall(r'<th[^>]*><a href="\?([^"]+)">(Remediation|Due)</a>', html)
    assert heads == [("sort=title", "Remediation"), ("sort=due", "Due")]
    by_due = alice_client.get("/remediations/?sort=due")
    assert [r.title for r in by_due.context["page"]][:2] == ["Done long ago", "Overdue a week"]
    assert '<th aria-sort="ascending"><a href="?sort=due">Due</a> ↑</th>' in by_due.content.decode()
    # An order it doesn't know is refused with its message, and the rows keep the default
    # order the form still shows (they came out in no order at all).
    unknown = alice_client.get("/remediations/", {"sort": "-due"})
    assert unknown.status_code == 400 and "Select a valid choice" in unknown.content.decode()
    assert [r.title for r in unknown.context["page"]] == [r.title for r in page]


def test_every_page_links_to_the_account_and_staff_pages_to_the_admin_and_api_docs(
    alice: User, alice_client: Client, bob_client: Client
) -> None:
    mine = bob_client.get("/incidents/").content.decode()
    assert ">Account &amp; API tokens</a>" in mine and 'href="/account/tokens/"' in mine
    assert 'href="/admin/"' not in mine and 'href="/api/docs/"' not in mine
    alice.is_staff = True
    alice.save()
    staff = alice_client.get("/incidents/").content.decode()
    assert 'href="/admin/">Admin</a>' in staff and 'href="/api/docs/">API docs</a>' in staff
