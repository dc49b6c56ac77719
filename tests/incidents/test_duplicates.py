"""Marking an incident as a duplicate of another (PRODUCT.md, "Writing, duplicates and
importing Markdown"; issue 15, item 5): it leaves lists, search, counts and the review agenda,
its URL redirects permanently to the original, which lists it; un-marking brings it back."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client

from common.validation import RecordInvalid
from incidents.actions import mark_duplicate
from incidents.models import FailureCategory, Incident, Visibility
from tests.search.helpers import store

pytestmark = pytest.mark.django_db


@pytest.fixture
def kb(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda title, **fields: store(django_capture_on_commit_callbacks, title, **fields)


@pytest.fixture
def original(kb: Any) -> Incident:
    return kb(
        "Payments API returned 502 for an hour",
        summary="The load balancer lost its targets.",
        categories=["Networking > Load balancing"],
        causes=[{"kind": "trigger", "description": "Target group emptied by a deploy"}],
        timeline=[{"at": "2024-01-10T10:05:00Z", "text": "502s start"}],
    )


@pytest.fixture
def copy(kb: Any) -> Incident:
    return kb(
        "Checkout zebrafinch errors",
        summary="Zebrafinch: the payments API answered 502.",
        categories=["Networking > Load balancing"],
        causes=[{"kind": "root_cause", "description": "Health checks pointed at the wrong port"}],
        timeline=[{"at": "2024-01-10T10:07:00Z", "text": "Support sees zebrafinch tickets"}],
    )


def mark(client: Client, incident: Incident, **data: Any) -> Any:
    incident.refresh_from_db()
    return client.post(
        f"/incidents/{incident.pk}/duplicate/", {"version": incident.version, **data}
    )


def api_mark(client: Client, incident: Incident, value: Any) -> Any:
    incident.refresh_from_db()
    return client.patch(
        f"/api/incidents/{incident.pk}/",
        {"version": incident.version, "duplicate_of": value},
        content_type="application/json",
    )


def test_marking_from_the_page_carries_the_timeline_and_causes_over(
    alice_client: Client, original: Incident, copy: Incident,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = mark(
            alice_client, copy, original=f"INC-{original.pk}", carry_timeline="on",
            carry_causes="on",
        )  # fmt: skip
    assert response.status_code == 302 and response["Location"] == f"/incidents/{original.pk}/"
    copy.refresh_from_db()
    assert copy.duplicate_of_id == original.pk
    assert sorted(t.text for t in original.timeline.all()) == [
        "502s start", "Support sees zebrafinch tickets",
    ]  # fmt: skip
    assert sorted(c.description for c in original.causes.all()) == [
        "Health checks pointed at the wrong port", "Target group emptied by a deploy",
    ]  # fmt: skip
    # The original's page lists its duplicate.
    page = alice_client.get(f"/incidents/{original.pk}/").content.decode()
    assert "Duplicates of this incident" in page and f"INC-{copy.pk} Checkout zebrafinch" in page


def test_without_the_checkboxes_nothing_is_carried_over(
    alice_client: Client, original: Incident, copy: Incident
) -> None:
    assert mark(alice_client, copy, original=str(original.pk)).status_code == 302
    assert [t.text for t in original.timeline.all()] == ["502s start"]
    assert original.causes.count() == 1


def test_a_restricted_duplicates_timeline_and_causes_are_not_carried_into_a_wider_original(
    kb: Any, bob: User, bob_client: Client, charlie_client: Client, original: Incident
) -> None:
    # Bob, in Security, marks a restricted report a duplicate of a public one, ticking "add its
    # timeline/causes": its restricted text became part of the public original, for everyone.
    bob.groups.add(Group.objects.create(name="Security"))
    secret = kb(
        "Signing keys rotated by an intruder", visibility="restricted",
        access_groups=["Security"],
        causes=[{"kind": "root_cause", "description": "Stolen deploy key quokkasecret"}],
        timeline=[{"at": "2024-01-10T10:06:00Z", "text": "Intruder quokkasecret rotates keys"}],
    )  # fmt: skip
    response = mark(
        bob_client, secret, original=f"INC-{original.pk}", carry_timeline="on", carry_causes="on"
    )
    assert response.status_code == 400
    assert "not carried over" in response.content.decode()
    secret.refresh_from_db()
    assert secret.duplicate_of_id is None  # nothing changed: they choose again
    assert "quokkasecret" not in charlie_client.get(f"/incidents/{original.pk}/").content.decode()
    assert [t.text for t in original.timeline.all()] == ["502s start"]
    # Without carrying anything over it is marked; into an original as restricted, it carries.
    assert mark(bob_client, secret, original=f"INC-{original.pk}").status_code == 302
    narrow = kb("Keys again", visibility="restricted", access_groups=["Security"])
    assert (
        mark(bob_client, secret, original=f"INC-{narrow.pk}", carry_causes="on").status_code == 302
    )
    assert [c.description for c in narrow.causes.all()] == ["Stolen deploy key quokkasecret"]


def test_a_duplicates_url_redirects_permanently_to_the_original(
    alice_client: Client, charlie_client: Client, original: Incident, copy: Incident, alice: User
) -> None:
    mark_duplicate(copy, original.pk, by=alice, expected_version=copy.version)
    response = alice_client.get(f"/incidents/{copy.pk}/")
    assert response.status_code == 301
    assert response["Location"] == f"/incidents/{original.pk}/"
    # Its edit page and history still answer: that is where it is un-marked.
    assert alice_client.get(f"/incidents/{copy.pk}/edit/").status_code == 200


def test_a_hidden_duplicate_still_answers_404_to_outsiders(
    charlie_client: Client, original: Incident, copy: Incident, alice: User
) -> None:
    Incident.objects.filter(pk=copy.pk).update(visibility=Visibility.RESTRICTED, author=alice)
    copy.refresh_from_db()
    mark_duplicate(copy, original.pk, by=alice, expected_version=copy.version)
    assert charlie_client.get(f"/incidents/{copy.pk}/").status_code == 404
    assert f"INC-{copy.pk}" not in charlie_client.get(f"/incidents/{original.pk}/").content.decode()


def test_the_duplicate_leaves_lists_search_counts_and_the_agenda(
    alice_client: Client, original: Incident, copy: Incident, alice: User,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    def everywhere() -> dict[str, bool]:
        category = FailureCategory.objects.get(path="Networking > Load balancing")
        agenda = alice_client.get("/api/review/2024-W02/").json()
        return {
            "list": f"INC-{copy.pk}<" in alice_client.get("/incidents/").content.decode()
            or f"/incidents/{copy.pk}/" in alice_client.get("/incidents/").content.decode(),
            "api list": copy.pk
            in [i["id"] for i in alice_client.get("/api/incidents/?limit=200").json()["results"]],
            "search": copy.pk
            in [r["id"] for r in alice_client.get("/api/search/?q=zebrafinch").json()["results"]],
            "search page": f'href="/incidents/{copy.pk}/"'
            in alice_client.get("/search/?q=zebrafinch").content.decode(),
            "agenda": copy.pk in [i["id"] for i in agenda["new_incidents"]],
            "category": f"/incidents/{copy.pk}/"
            in alice_client.get(category.get_absolute_url()).content.decode(),
        }

    assert all(everywhere().values()), everywhere()
    with django_capture_on_commit_callbacks(execute=True):
        assert api_mark(alice_client, copy, original.pk).status_code == 200
    assert not any(everywhere().values()), everywhere()
    assert original.pk in [
        r["id"] for r in alice_client.get("/api/search/?q=payments").json()["results"]
    ]
    # Un-marking brings it back everywhere, and its page answers again.
    with django_capture_on_commit_callbacks(execute=True):
        response = api_mark(alice_client, copy, None)
    assert response.status_code == 200 and response.json()["duplicate_of"] is None
    assert all(everywhere().values()), everywhere()
    assert alice_client.get(f"/incidents/{copy.pk}/").status_code == 200


def test_the_category_tree_counts_a_duplicate_once(
    alice_client: Client, original: Incident, copy: Incident, alice: User
) -> None:
    category = FailureCategory.objects.get(path="Networking > Load balancing")

    def count() -> int:
        counted: Any = FailureCategory.objects.with_incident_counts(alice)  # annotated
        return int(counted.get(pk=category.pk).incident_count)

    assert count() == 2
    mark_duplicate(copy, original.pk, by=alice, expected_version=copy.version)
    assert count() == 1


def test_the_api_reads_and_writes_duplicate_of(
    alice_client: Client, original: Incident, copy: Incident
) -> None:
    assert alice_client.get(f"/api/incidents/{copy.pk}/").json()["duplicate_of"] is None
    response = api_mark(alice_client, copy, original.pk)
    assert response.status_code == 200, response.json()
    assert response.json()["duplicate_of"] == original.pk
    assert alice_client.get(f"/api/incidents/{copy.pk}/").json()["duplicate_of"] == original.pk


@pytest.fixture
def hidden(kb: Any, bob: User) -> Incident:
    incident = kb("A secret outage")
    group = Group.objects.create(name="Security")
    bob.groups.add(group)
    Incident.objects.filter(pk=incident.pk).update(visibility=Visibility.RESTRICTED)
    incident.access_groups.set([group])
    return incident


@pytest.mark.parametrize("case", ["self", "cycle", "unknown", "hidden", "word"])
def test_the_api_and_the_page_refuse_a_bad_original_with_the_same_reason(
    alice: User, alice_client: Client, original: Incident, copy: Incident, hidden: Incident,
    case: str,
) -> None:  # fmt: skip
    if case == "cycle":
        mark_duplicate(original, copy.pk, by=alice, expected_version=original.version)
    value: Any = {
        "self": copy.pk, "cycle": original.pk, "unknown": 987654321, "hidden": hidden.pk,
        "word": "the payments one",
    }[case]  # fmt: skip
    response = api_mark(alice_client, copy, value)
    assert response.status_code == 400
    reason = response.json()["duplicate_of"][0]
    page = mark(alice_client, copy, original=str(value))
    assert page.status_code == 400
    assert reason in page.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    copy.refresh_from_db()
    assert copy.duplicate_of_id is None
    if case in ("unknown", "hidden"):  # a hidden incident is refused like one that doesn't exist
        assert "names no incident you can see" in reason
        assert "secret" not in reason.lower()


def test_naming_a_duplicate_points_to_its_original_and_no_chain_is_left(
    alice: User, kb: Any, original: Incident, copy: Incident
) -> None:
    third = kb("Payments 502 once more")
    mark_duplicate(copy, original.pk, by=alice, expected_version=copy.version)
    mark_duplicate(third, copy.pk, by=alice, expected_version=third.version)
    third.refresh_from_db()
    assert third.duplicate_of_id == original.pk
    # The original found to repeat an older incident: its duplicates follow it there.
    older = kb("Payments 502 in 2019", started_at="2019-05-01T10:00:00Z")
    original.refresh_from_db()
    mark_duplicate(original, older.pk, by=alice, expected_version=original.version)
    assert set(Incident.objects.filter(duplicate_of=older).values_list("pk", flat=True)) == {
        original.pk, copy.pk, third.pk,
    }  # fmt: skip
    assert not Incident.objects.filter(duplicate_of=original).exists()


def test_viewers_cannot_mark_duplicates(
    victor_client: Client, victor: User, original: Incident, copy: Incident
) -> None:
    assert mark(victor_client, copy, original=str(original.pk)).status_code == 403
    assert api_mark(victor_client, copy, original.pk).status_code == 403
    with pytest.raises(Exception):  # noqa: B017 - PermissionDenied, whatever the way in
        mark_duplicate(copy, original.pk, by=victor, expected_version=copy.version)
    copy.refresh_from_db()
    assert copy.duplicate_of_id is None


def test_a_stale_version_changes_nothing(
    alice_client: Client, original: Incident, copy: Incident
) -> None:
    response = alice_client.post(
        f"/incidents/{copy.pk}/duplicate/", {"version": copy.version + 5, "original": original.pk}
    )
    assert response.status_code == 409
    copy.refresh_from_db()
    assert copy.duplicate_of_id is None


def test_history_shows_the_marking_and_the_unmarking(
    alice_client: Client, alice: User, original: Incident, copy: Incident
) -> None:
    mark_duplicate(copy, original.pk, by=alice, expected_version=copy.version)
    copy.refresh_from_db()
    mark_duplicate(copy, None, by=alice, expected_version=copy.version)
    page = alice_client.get(f"/incidents/{copy.pk}/history/").content.decode()
    assert page.count("Duplicate of") == 2 and f"INC-{original.pk}" in page
    assert copy.history.count() == 3


def test_the_action_refuses_itself_as_original(alice: User, copy: Incident) -> None:
    with pytest.raises(RecordInvalid, match="itself"):
        mark_duplicate(copy, copy.pk, by=alice, expected_version=copy.version)


def test_a_duplicate_of_a_hidden_incident_stays_readable_and_names_nothing_hidden(
    charlie_client: Client, alice_client: Client, original: Incident, copy: Incident,
    alice: User,
) -> None:  # fmt: skip
    # The original is restricted to alice; the copy is for everyone. Charlie may read the copy:
    # its URL sent him to the hidden original's (a 404), naming it in the Location header.
    Incident.objects.filter(pk=original.pk).update(visibility=Visibility.RESTRICTED, author=alice)
    mark_duplicate(copy, original.pk, by=alice, expected_version=copy.version)
    page = charlie_client.get(f"/incidents/{copy.pk}/")
    assert page.status_code == 200
    assert copy.title in page.content.decode()
    assert f"/incidents/{original.pk}/" not in page.content.decode()
    # Alice, who sees the original, is still sent there.
    assert alice_client.get(f"/incidents/{copy.pk}/")["Location"] == f"/incidents/{original.pk}/"
    # Its history and its duplicate page don't name the hidden original to Charlie either.
    for address in (f"/incidents/{copy.pk}/history/", f"/incidents/{copy.pk}/duplicate/"):
        page = charlie_client.get(address)
        assert page.status_code == 200
        text = page.content.decode()
        assert f"INC-{original.pk}" not in text and "an incident you can" in text, address
    assert (
        f"INC-{original.pk}" in alice_client.get(f"/incidents/{copy.pk}/history/").content.decode()
    )


@pytest.mark.parametrize("how", ["delete page", "delete selected"])
def test_deleting_an_original_in_the_admin_brings_its_duplicate_back_to_search(
    how: str, kb: Any, alice: User, original: Incident, copy: Incident,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    # Its duplicate became an incident again (listed, its page shown), but search kept
    # leaving it out: it had no search document until someone rebuilt the index.
    staff = User.objects.create_superuser("root", "root@example.org", "pw")
    client = Client()
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        mark_duplicate(copy, original.pk, by=alice, expected_version=copy.version)
    assert client.get("/api/search/", {"q": "zebrafinch"}).json()["count"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        if how == "delete page":
            url = f"/admin/incidents/incident/{original.pk}/delete/"
            response = client.post(url, {"post": "yes"})
        else:
            response = client.post(
                "/admin/incidents/incident/",
                {"action": "delete_selected", "_selected_action": [original.pk], "post": "yes"},
            )
    assert response.status_code == 302
    assert not Incident.objects.filter(pk=original.pk).exists()
    found = client.get("/api/search/", {"q": "zebrafinch"}).json()["results"]
    assert [i["id"] for i in found] == [copy.pk]


def test_a_duplicate_raises_no_recurrence_flag_and_its_flag_is_cleared(
    alice_client: Client, original: Incident, copy: Incident, alice: User,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    """Both started after a fix of their failure mode was done: each came back once. Marked
    as a duplicate, the copy is the same incident, so only the original's flag stays."""
    from remediations.models import FlagState, RecurrenceFlag
    from tests.factories import RemediationFactory

    category = FailureCategory.objects.get(path="Networking > Load balancing")
    done_at = original.started_at - datetime.timedelta(days=1)
    RemediationFactory(
        category=category, status="done", opened_at=done_at - datetime.timedelta(days=1),
        done_at=done_at,
    )  # fmt: skip
    call_command("reconcile_recurrences", verbosity=0)
    open_flags = RecurrenceFlag.objects.filter(state=FlagState.OPEN)
    assert set(open_flags.values_list("incident_id", flat=True)) == {original.pk, copy.pk}

    with django_capture_on_commit_callbacks(execute=True):
        assert api_mark(alice_client, copy, original.pk).status_code == 200
    assert list(open_flags.values_list("incident_id", flat=True)) == [original.pk]
    cleared = RecurrenceFlag.objects.get(incident=copy)
    assert cleared.state == FlagState.CLEARED and "duplicate" in cleared.reason
    agenda = alice_client.get("/api/review/2024-W02/").json()
    assert f"INC-{copy.pk}" not in str(agenda["open_flags"])
