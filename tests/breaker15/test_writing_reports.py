"""Issue 15 ("writing reports people finish") tried by someone who hasn't seen the code:
each test is a failure a person would notice. They fail until the product is fixed."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from reports.models import Draft
from tests.factories import IncidentFactory
from tests.incidents.test_edit_conflict import edit_data
from tests.incidents.test_incident_form import incident_post

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


# --- Nothing typed is lost


def test_an_autosave_after_the_session_ended_is_not_answered_with_the_login_page(
    client: Client,
) -> None:
    # The page's autosave is a fetch(): it follows a redirect to the login page, gets a 200
    # and tells the person "Draft saved." while nothing was kept (seen in Chromium after
    # deleting the session cookie mid-typing). The endpoint must answer so the page can tell.
    response = client.post(reverse("incident_draft_new"), {"title": "typed after expiry"})
    assert response.status_code in (401, 403)
    assert "message" in response.json()


def test_an_autosave_landing_just_after_the_save_does_not_bring_back_a_stale_draft(
    alice_client: Client, alice: Any
) -> None:
    incident = IncidentFactory(title="DNS timeouts", body="one")
    url = reverse("incident_edit", args=[incident.pk])
    form = edit_data(alice_client, url)
    form["body"] = "saved text"
    assert alice_client.post(url, form).status_code == 302
    # The autosave fetch sent just before the click on Save arrives after it.
    draft_url = reverse("incident_draft", args=[incident.pk])
    assert alice_client.post(draft_url, form).status_code == 200

    html = alice_client.get(url).content.decode()
    assert "Restored your unsaved draft" not in html
    assert not Draft.objects.filter(user=alice).exists()


@pytest.mark.parametrize("version", ["2147483648", "99999999999999999999"])
def test_an_autosave_with_an_out_of_range_version_is_not_a_server_error(
    alice_client: Client, version: str
) -> None:
    # The form's hidden "version" goes into the draft as its base version: past PostgreSQL's
    # integer range the autosave answers 500 (the edit form itself answers 409).
    incident = IncidentFactory()
    response = alice_client.post(
        reverse("incident_draft", args=[incident.pk]), {"title": "x", "version": version}
    )
    assert response.status_code in (200, 400)


def test_two_new_incidents_written_in_two_tabs_keep_both_drafts(alice_client: Client) -> None:
    # Two outages on one night, one tab each: there is one "new incident" draft per person,
    # so the second tab's autosave silently replaces the first tab's "Draft saved".
    new_draft = reverse("incident_draft_new")
    alice_client.post(new_draft, {"title": "Queue backlog", "body": "First tab's report"})
    alice_client.post(new_draft, {"title": "DNS outage", "body": "Second tab's report"})
    html = alice_client.get(reverse("incident_create")).content.decode()
    assert "First tab&#x27;s report" in html or "First tab's report" in html


def test_a_mistyped_offset_is_answered_with_what_offsets_look_like(alice_client: Client) -> None:
    # "+10x" and "+99999999d" are told "must be a date or date-time in ISO 8601": nothing
    # about offsets (+10m, +1h30m) or times of day, which is what the person was typing.
    for typed in ("+10x", "+99999999d"):
        response = alice_client.post(
            reverse("incident_create"), incident_post(**{"timeline-0-at": typed})
        )
        assert response.status_code == 400
        html = response.content.decode()
        assert "ISO 8601, not &#x27;" + typed not in html


# --- Pictures


def test_a_jpeg_photo_holding_a_second_picture_is_accepted(alice_client: Client) -> None:
    # Many phone and camera JPEGs carry a Multi-Picture (MPO) index; Pillow names them
    # "MPO" and the upload says "This file is not a PNG, JPEG, GIF or WebP image."
    photo = Image.new("RGB", (40, 30), (10, 120, 200))
    out = io.BytesIO()
    photo.save(out, format="MPO", save_all=True, append_images=[photo])
    response = alice_client.post(
        reverse("image_upload"), {"image": SimpleUploadedFile("photo.jpg", out.getvalue())}
    )
    assert response.status_code in (200, 201), response.content
