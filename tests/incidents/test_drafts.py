"""Nothing typed is lost: the incident form's server-side drafts (issue 15; reports/drafts.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from incidents.models import Incident
from reports.models import MAX_DRAFTS_PER_USER, Draft
from tests.factories import IncidentFactory
from tests.incidents.test_incident_form import incident_post

pytestmark = pytest.mark.django_db

NEW_DRAFT = "/incidents/new/draft/"


def draft_url(incident: Incident) -> str:
    return reverse("incident_draft", args=[incident.pk])


def edit_post(incident: Incident, **overrides: Any) -> dict[str, Any]:
    return incident_post(**{"version": str(incident.version), **overrides})


def test_a_new_incidents_draft_is_saved_and_restored_with_a_notice(alice_client: Client) -> None:
    response = alice_client.post(NEW_DRAFT, incident_post(title="Half-written: etcd"))
    assert response.status_code == 200
    assert "Draft saved at" in response.json()["message"]

    html = alice_client.get(reverse("incident_create")).content.decode()
    assert "Restored your unsaved draft from" in html
    assert 'value="Half-written: etcd"' in html
    assert "Move etcd to io2" in html  # the new remediation typed in it, too
    assert "Discard" in html


def test_a_later_autosave_replaces_the_draft(alice_client: Client, alice: Any) -> None:
    # One form (its form_key): a later autosave of another form keeps a draft of its own.
    alice_client.post(NEW_DRAFT, incident_post(title="First words", form_key="k1"))
    alice_client.post(NEW_DRAFT, incident_post(title="More words", form_key="k1"))
    assert [d.fields["title"] for d in Draft.objects.filter(user=alice)] == [["More words"]]


def test_discarding_opens_the_form_afresh(alice_client: Client) -> None:
    alice_client.post(NEW_DRAFT, incident_post(title="Half-written: etcd"))
    response = alice_client.post("/incidents/new/draft/discard/")
    assert response.status_code == 302
    html = alice_client.get(response["Location"]).content.decode()
    assert "Half-written" not in html
    assert "Restored your unsaved draft" not in html
    assert "## Lessons learned" in html  # the template again


def test_drafts_are_per_user(alice_client: Client, bob_client: Client) -> None:
    incident = IncidentFactory(title="Shared incident")
    alice_client.post(draft_url(incident), edit_post(incident, title="Alice's wording"))
    alice_client.post(NEW_DRAFT, incident_post(title="Alice's new one"))

    assert (
        "Alice's wording" not in bob_client.get(f"/incidents/{incident.pk}/edit/").content.decode()
    )
    html = bob_client.get(reverse("incident_create")).content.decode()
    assert "Alice's new one" not in html
    assert "Restored your unsaved draft" not in html
    assert (
        "Alice&#x27;s wording"
        in alice_client.get(f"/incidents/{incident.pk}/edit/").content.decode()
    )


def test_saving_the_incident_deletes_its_draft(alice_client: Client, alice: Any) -> None:
    incident = IncidentFactory(title="Before")
    alice_client.post(draft_url(incident), edit_post(incident, title="Typed, not saved"))
    alice_client.post(NEW_DRAFT, incident_post(title="Another new one"))

    response = alice_client.post(
        f"/incidents/{incident.pk}/edit/", edit_post(incident, title="Saved")
    )
    assert response.status_code == 302
    assert list(Draft.objects.filter(user=alice).values_list("incident", flat=True)) == [None]
    assert "Restored" not in alice_client.get(f"/incidents/{incident.pk}/edit/").content.decode()

    response = alice_client.post(reverse("incident_create"), incident_post(title="Another new one"))
    assert response.status_code == 302
    assert not Draft.objects.filter(user=alice).exists()


def test_a_refused_save_keeps_the_draft(alice_client: Client, alice: Any) -> None:
    alice_client.post(NEW_DRAFT, incident_post(title="Keep me"))
    response = alice_client.post(reverse("incident_create"), incident_post(title=""))
    assert response.status_code == 400
    assert Draft.objects.filter(user=alice).exists()


def test_a_restricted_incidents_draft_never_reaches_someone_outside_its_groups(
    alice_client: Client, alice: Any, charlie: Any, charlie_client: Client
) -> None:
    security = Group.objects.create(name="Security")
    incident = IncidentFactory(author=alice, visibility="restricted", access_groups=[security])
    # Charlie can't autosave into it: for him it doesn't exist.
    assert charlie_client.post(draft_url(incident), edit_post(incident)).status_code == 404
    # A draft he took while he was in the group is not shown once he is out of it.
    charlie.groups.add(security)
    response = charlie_client.post(draft_url(incident), edit_post(incident, title="Secret words"))
    assert response.status_code == 200
    charlie.groups.remove(security)
    assert charlie_client.get(f"/incidents/{incident.pk}/edit/").status_code == 404
    assert "Secret words" not in charlie_client.get(reverse("incident_create")).content.decode()
    # Nor to anyone else.
    assert (
        "Secret words" not in alice_client.get(f"/incidents/{incident.pk}/edit/").content.decode()
    )


def test_viewers_cant_keep_drafts(victor_client: Client, victor: Any) -> None:
    incident = IncidentFactory()
    assert victor_client.post(NEW_DRAFT, incident_post()).status_code == 403
    assert victor_client.post(draft_url(incident), edit_post(incident)).status_code == 403
    assert not Draft.objects.exists()


def test_a_draft_needs_the_csrf_token(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    assert client.post(NEW_DRAFT, incident_post()).status_code == 403
    assert not Draft.objects.exists()


def test_a_draft_is_capped_in_size(alice_client: Client, alice: Any, settings: Any) -> None:
    settings.ONCE_MAX_REPORT_CHARS = 1_000
    alice_client.post(NEW_DRAFT, incident_post(title="Kept"))
    response = alice_client.post(NEW_DRAFT, incident_post(body="x" * 3_000))
    assert response.status_code == 413
    assert "at most 2,000" in response.json()["message"]
    assert Draft.objects.get(user=alice).fields["title"] == ["Kept"]  # the last good one stays


def test_a_person_keeps_a_bounded_number_of_drafts(alice_client: Client, alice: Any) -> None:
    incidents = IncidentFactory.create_batch(MAX_DRAFTS_PER_USER + 2)
    for incident in incidents:
        alice_client.post(draft_url(incident), edit_post(incident))
    kept = set(Draft.objects.filter(user=alice).values_list("incident", flat=True))
    assert len(kept) == MAX_DRAFTS_PER_USER
    assert incidents[-1].pk in kept and incidents[0].pk not in kept  # the oldest went first


def test_the_notice_says_when_the_incident_changed_since_the_draft(
    alice_client: Client, bob_client: Client
) -> None:
    incident = IncidentFactory(title="Original")
    alice_client.post(draft_url(incident), edit_post(incident, title="Alice's title"))
    bob_client.post(f"/incidents/{incident.pk}/edit/", edit_post(incident, title="Bob's title"))
    incident.refresh_from_db()

    html = alice_client.get(f"/incidents/{incident.pk}/edit/").content.decode()
    assert f"has been saved since (version 1, now {incident.version})" in html
    # Saving the draft doesn't overwrite Bob's save blindly: it is an edit conflict.
    response = alice_client.post(
        f"/incidents/{incident.pk}/edit/", edit_post(incident, title="Alice's title", version="1")
    )
    assert response.status_code == 409


def test_nul_characters_dont_break_a_draft(alice_client: Client, alice: Any) -> None:
    response = alice_client.post(NEW_DRAFT, incident_post(title="nul\x00here"))
    assert response.status_code == 200
    assert Draft.objects.get(user=alice).fields["title"] == ["nulhere"]


# --- One draft per form (a random form_key each form gets when it opens)


def test_the_other_tabs_drafts_are_listed_and_can_be_resumed(alice_client: Client) -> None:
    alice_client.post(NEW_DRAFT, incident_post(title="Queue backlog", form_key="tab1"))
    alice_client.post(NEW_DRAFT, incident_post(title="DNS outage", form_key="tab2"))

    html = alice_client.get(reverse("incident_create")).content.decode()
    assert 'value="DNS outage"' in html  # the newest comes back…
    assert "Another unsaved draft" in html and "?draft=tab1" in html  # …the other is listed

    html = alice_client.get(reverse("incident_create") + "?draft=tab1").content.decode()
    assert 'value="Queue backlog"' in html


def test_a_resumed_draft_is_replaced_by_the_form_it_was_restored_in(
    alice_client: Client, alice: Any
) -> None:
    alice_client.post(NEW_DRAFT, incident_post(title="Queue backlog", form_key="tab1"))
    response = alice_client.get(reverse("incident_create"))
    key = response.context["form"]["form_key"].value()
    assert key and key != "tab1"
    assert response.context["form"]["draft_from"].value() == "tab1"

    alice_client.post(
        NEW_DRAFT, incident_post(title="Queue backlog, more", form_key=key, draft_from="tab1")
    )
    assert [d.fields["title"] for d in Draft.objects.filter(user=alice)] == [
        ["Queue backlog, more"]
    ]
    # Saving it leaves no draft behind, and a late autosave of that form keeps none either.
    data = incident_post(title="Queue backlog, more", form_key=key, draft_from="tab1")
    assert alice_client.post(reverse("incident_create"), data).status_code == 302
    assert alice_client.post(NEW_DRAFT, data).status_code == 200
    assert not Draft.objects.filter(user=alice).exists()


def test_two_tabs_editing_one_incident_keep_a_draft_each(alice_client: Client, alice: Any) -> None:
    incident = IncidentFactory(title="Original")
    alice_client.post(draft_url(incident), edit_post(incident, title="Tab one", form_key="a"))
    alice_client.post(draft_url(incident), edit_post(incident, title="Tab two", form_key="b"))
    assert Draft.objects.filter(user=alice, incident=incident).count() == 2

    html = alice_client.get(f"/incidents/{incident.pk}/edit/").content.decode()
    assert 'value="Tab two"' in html
    assert f"Another unsaved draft of {incident.reference}" in html and "Tab one" in html


def test_an_autosave_after_the_session_ended_says_so(client: Client) -> None:
    response = client.post(NEW_DRAFT, {"title": "typed after expiry"})
    assert response.status_code == 401
    assert response.json()["message"].startswith("You are signed out")


def test_a_report_still_holding_an_upload_placeholder_is_not_saved(
    alice_client: Client,
) -> None:
    body = "## Impact\n\nSee:\n\n![Uploading graph.png… #x1y2z3]()\n"
    response = alice_client.post(reverse("incident_create"), incident_post(body=body))
    assert response.status_code == 400
    html = response.content.decode()
    assert "A picture was still uploading" in html
    assert "![Uploading graph.png… #x1y2z3]()" in html  # the text is kept
    assert not Incident.objects.exists()
