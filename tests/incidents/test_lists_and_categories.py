"""Incident and remediation lists, their filters, the category tree."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents.actions import get_or_create_category, get_or_create_services
from incidents.models import Cause, FailureCategory
from tests.factories import CategoryFactory, IncidentFactory, RemediationFactory

pytestmark = pytest.mark.django_db


def titles(response: Any) -> list[str]:
    return [item.title for item in response.context["page"]]


def test_category_filter_includes_sub_categories_and_causes(alice_client: Client) -> None:
    etcd = get_or_create_category("Control plane > etcd")
    elections = get_or_create_category("Control plane > etcd > Leader elections")
    dns = get_or_create_category("Networking > DNS")
    IncidentFactory(title="Direct", categories=[etcd])
    IncidentFactory(title="Below", categories=[elections])
    through_cause = IncidentFactory(title="Through a cause", categories=[dns])
    Cause.objects.create(incident=through_cause, description="slow fsync", category=elections)
    IncidentFactory(title="Elsewhere", categories=[dns])
    response = alice_client.get(reverse("incident_list"), {"category": etcd.pk})
    assert sorted(titles(response)) == ["Below", "Direct", "Through a cause"]


def test_service_severity_status_and_date_filters(alice_client: Client) -> None:
    now = timezone.now()
    (etcd,) = get_or_create_services(["etcd"])
    IncidentFactory(title="Old SEV1", severity="SEV1", started_at=now - datetime.timedelta(days=40))
    IncidentFactory(title="New SEV1", severity="SEV1", services=[etcd], status="resolved")
    IncidentFactory(title="New SEV3", severity="SEV3", services=[etcd])
    url = reverse("incident_list")
    assert sorted(titles(alice_client.get(url, {"service": etcd.pk}))) == ["New SEV1", "New SEV3"]
    assert sorted(titles(alice_client.get(url, {"severity": "SEV1"}))) == ["New SEV1", "Old SEV1"]
    assert titles(alice_client.get(url, {"status": "resolved"})) == ["New SEV1"]
    since = (now - datetime.timedelta(days=10)).date().isoformat()
    assert "Old SEV1" not in titles(alice_client.get(url, {"started_after": since}))
    assert titles(alice_client.get(url, {"started_before": since})) == ["Old SEV1"]


def test_a_bad_filter_value_is_explained_not_a_crash(alice_client: Client) -> None:
    response = alice_client.get(reverse("incident_list"), {"started_after": "last tuesday"})
    # Refused like the API and the remediation list refuse it: 400, with the message, kept.
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()
    assert 'value="last tuesday"' in response.content.decode()


def test_incident_list_paginates(alice_client: Client) -> None:
    for n in range(30):
        IncidentFactory(title=f"Incident {n}")
    first = alice_client.get(reverse("incident_list"))
    second = alice_client.get(reverse("incident_list"), {"page": 2})
    assert len(first.context["page"]) == 25 and len(second.context["page"]) == 5
    assert "Page 1 of 2" in first.content.decode()


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url_name", ["incident_list", "remediation_list", "category_tree"])
def test_list_pages_issue_the_same_number_of_queries_for_more_rows(
    alice_client: Client, alice: Any, url_name: str
) -> None:
    def add_rows(n: int) -> None:
        for _ in range(n):
            category = CategoryFactory()
            (service,) = get_or_create_services([f"svc-{category.pk}"])
            incident = IncidentFactory(categories=[category], services=[service], author=alice)
            RemediationFactory(category=category, incident=incident, owner=alice)

    url = reverse(url_name)
    add_rows(2)
    few = _queries(alice_client, url)
    add_rows(15)
    many = _queries(alice_client, url)
    assert many == few, f"{url} went from {few} to {many} queries"


def test_remediation_filters(alice_client: Client, alice: Any, bob: Any) -> None:
    parent = get_or_create_category("Networking")
    child = get_or_create_category("Networking > DNS")
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    RemediationFactory(title="Overdue", owner=alice, due_date=yesterday, category=child)
    RemediationFactory(title="Late but done", owner=alice, due_date=yesterday, status="done",
                       done_at=timezone.now())  # fmt: skip
    RemediationFactory(title="Bob's", owner=bob, status="in_progress")
    url = reverse("remediation_list")
    assert titles(alice_client.get(url, {"overdue": "true"})) == ["Overdue"]
    assert sorted(titles(alice_client.get(url, {"owner": alice.pk}))) == [
        "Late but done",
        "Overdue",
    ]
    assert titles(alice_client.get(url, {"status": "in_progress"})) == ["Bob's"]
    assert titles(alice_client.get(url, {"category": parent.pk})) == ["Overdue"]
    page = alice_client.get(url, {"overdue": "true"}).content.decode()
    assert "overdue" in page


def test_adding_a_category_under_a_parent(alice_client: Client) -> None:
    parent = CategoryFactory(name="Storage")
    response = alice_client.post(
        reverse("category_tree"), {"new-name": "EBS latency", "new-parent": parent.pk}
    )
    assert response.status_code == 302
    assert FailureCategory.objects.filter(path="Storage > EBS latency").exists()


def test_a_category_cannot_become_its_own_ancestor(alice_client: Client) -> None:
    top = get_or_create_category("Control plane")
    below = get_or_create_category("Control plane > etcd > Leader elections")
    response = alice_client.post(
        reverse("category_edit", args=[top.slug]), {"name": "Control plane", "parent": below.pk}
    )
    assert response.status_code == 400
    assert "can&#x27;t be moved below itself or one of its sub-categories" in (
        response.content.decode()
    )
    top.refresh_from_db()
    assert top.parent is None


def test_renaming_and_moving_a_category_rewrites_the_paths_below(alice_client: Client) -> None:
    etcd = get_or_create_category("Control plane > etcd")
    get_or_create_category("Control plane > etcd > Leader elections")
    storage = get_or_create_category("Storage")
    response = alice_client.post(
        reverse("category_edit", args=[etcd.slug]), {"name": "etcd cluster", "parent": storage.pk}
    )
    assert response.status_code == 302
    assert set(FailureCategory.objects.values_list("path", flat=True)) == {
        "Control plane", "Storage", "Storage > etcd cluster",
        "Storage > etcd cluster > Leader elections",
    }  # fmt: skip
    # The old address keeps working: slugs are permanent.
    assert alice_client.get(reverse("category_detail", args=[etcd.slug])).status_code == 200


def test_a_name_with_the_path_separator_is_refused(alice_client: Client) -> None:
    response = alice_client.post(reverse("category_tree"), {"new-name": "A > B"})
    assert response.status_code == 400
    assert "must not contain" in response.content.decode()


def test_category_page_lists_incidents_causes_and_remediations_below_it(
    alice_client: Client,
) -> None:
    parent = get_or_create_category("Containers don't start")
    iam = get_or_create_category("Containers don't start > IAM permissions")
    incident = IncidentFactory(title="IAM throttled", categories=[iam])
    Cause.objects.create(incident=incident, description="No credential cache", category=iam)
    RemediationFactory(title="Cache credentials", category=iam)
    html = alice_client.get(parent.get_absolute_url()).content.decode()
    assert "IAM throttled" in html and "No credential cache" in html
    assert "Cache credentials" in html


def test_the_tree_lists_each_category_under_its_parent(alice_client: Client) -> None:
    for path in ["Storage > EBS latency", "Certificates", "Control plane > etcd", "Storage"]:
        get_or_create_category(path)
    IncidentFactory(categories=[FailureCategory.objects.get(path="Certificates")])
    response = alice_client.get(reverse("category_tree"))
    assert [c.path for c in response.context["categories"]] == [
        "Certificates", "Control plane", "Control plane > etcd", "Storage", "Storage > EBS latency",
    ]  # fmt: skip


def test_a_stale_category_edit_keeps_the_text_and_saves_after_merging(alice_client: Client) -> None:
    category = CategoryFactory(name="Network")
    url = reverse("category_edit", args=[category.slug])
    stale = {"name": "Network", "parent": "", "description": "mine", "version": "1"}
    assert alice_client.post(url, {**stale, "description": "theirs"}).status_code == 302
    response = alice_client.post(url, stale)
    html = response.content.decode()
    assert response.status_code == 409 and "It is now “Network”: theirs." in html
    assert "mine</textarea>" in html and 'name="version" value="2"' in html
    assert alice_client.post(url, response.context["form"].data).status_code == 302
    category.refresh_from_db()
    assert category.description == "mine" and category.version == 3
