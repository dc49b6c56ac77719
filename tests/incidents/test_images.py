"""Pictures in reports (PRODUCT.md, "Writing, duplicates and importing Markdown"): PNG, JPEG,
GIF and WebP up to 10 MB, validated and re-encoded without metadata, stored through Django's
storage, and served only to people who may see the incident."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from common.markdown import render_markdown
from incidents import images
from incidents.models import Incident, IncidentImage, Visibility
from tests.factories import IncidentFactory
from tests.incidents.test_incident_form import incident_post

pytestmark = pytest.mark.django_db

GPS_LATITUDE = 0x8825  # the EXIF GPS block


def picture(kind: str = "PNG", size: tuple[int, int] = (40, 30), **options: Any) -> bytes:
    """A small picture in `kind`, with the EXIF a phone writes (camera, GPS) where it fits."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 1  # Orientation
    exif[GPS_LATITUDE] = {1: "N", 2: (48.0, 51.0, 24.0)}
    out = io.BytesIO()
    if kind == "GIF":
        image.convert("P").save(out, format="GIF", comment=b"secret comment", **options)
    else:
        image.save(out, format=kind, exif=exif.tobytes(), **options)
    return out.getvalue()


def upload(client: Client, data: bytes, name: str = "graph.png", pk: int | None = None) -> Any:
    url = reverse("incident_image_upload", args=[pk]) if pk else reverse("image_upload")
    return client.post(url, {"image": SimpleUploadedFile(name, data)})


@pytest.fixture
def security(bob: User) -> Group:
    group = Group.objects.create(name="Security")
    bob.groups.add(group)
    return group


@pytest.fixture
def restricted(alice: User, security: Group) -> Incident:
    return IncidentFactory(
        title="Leaked key", author=alice, visibility=Visibility.RESTRICTED, access_groups=[security]
    )


# --- Validation and re-encoding


@pytest.mark.parametrize(
    ("kind", "extension", "content_type"),
    [("PNG", "png", "image/png"), ("JPEG", "jpg", "image/jpeg"),
     ("GIF", "gif", "image/gif"), ("WEBP", "webp", "image/webp")],
)  # fmt: skip
def test_each_format_is_accepted_and_stored_without_its_metadata(
    alice_client: Client, kind: str, extension: str, content_type: str
) -> None:
    original = picture(kind)
    assert kind == "GIF" or b"PhoneMaker" in original  # the test picture does carry EXIF
    response = upload(alice_client, original, name=f"latency graph.{extension}")

    assert response.status_code == 201
    image = IncidentImage.objects.get()
    body = response.json()
    assert body["url"] == f"/incidents/images/{image.key}.{extension}"
    assert body["markdown"] == f"![latency graph]({body['url']})"
    assert (image.content_type, image.width, image.height) == (content_type, 40, 30)
    with image.file.open("rb") as stored:
        data = stored.read()
    assert b"PhoneMaker" not in data and b"secret comment" not in data
    with Image.open(io.BytesIO(data)) as reopened:
        assert reopened.format == kind
        assert not reopened.getexif()
        assert "exif" not in reopened.info and "comment" not in reopened.info
        red, _, _ = reopened.convert("RGB").getpixel((5, 5))  # type: ignore[misc]
        assert red > 150  # still the red picture


def test_a_jpeg_is_turned_upright_before_its_exif_goes(alice_client: Client) -> None:
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())

    assert upload(alice_client, out.getvalue(), name="photo.jpg").status_code == 201
    stored = IncidentImage.objects.get()
    assert (stored.width, stored.height) == (20, 40)


def test_a_jpeg_photo_holding_a_second_picture_is_accepted(alice_client: Client) -> None:
    # Many phone and camera JPEGs carry a Multi-Picture (MPO) index; Pillow names them
    # "MPO". Once takes them as a JPEG of the first picture, without its metadata.
    first = Image.new("RGB", (40, 30), (10, 120, 200))
    second = Image.new("RGB", (40, 30), (250, 250, 0))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    out = io.BytesIO()
    first.save(out, format="MPO", save_all=True, append_images=[second], exif=exif.tobytes())
    with Image.open(io.BytesIO(out.getvalue())) as sent:
        assert sent.format == "MPO"  # the file does hold two pictures

    response = upload(alice_client, out.getvalue(), name="photo.jpg")
    assert response.status_code == 201, response.content
    stored = IncidentImage.objects.get()
    assert (stored.content_type, stored.width, stored.height) == ("image/jpeg", 40, 30)
    assert response.json()["url"].endswith(".jpg")
    with stored.file.open("rb") as file:
        data = file.read()
    assert b"PhoneMaker" not in data
    with Image.open(io.BytesIO(data)) as reopened:
        assert reopened.format == "JPEG"
        assert getattr(reopened, "n_frames", 1) == 1
        _, _, blue = reopened.convert("RGB").getpixel((5, 5))  # type: ignore[misc]
        assert blue > 150  # the first picture, not the yellow second one


def test_an_animated_gif_keeps_its_first_frame(alice_client: Client) -> None:
    frames = [Image.new("P", (10, 10), color) for color in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)

    assert upload(alice_client, out.getvalue(), name="anim.gif").status_code == 201
    with IncidentImage.objects.get().file.open("rb") as stored, Image.open(stored) as gif:
        assert getattr(gif, "n_frames", 1) == 1


def test_an_image_over_10_mb_is_refused(alice_client: Client) -> None:
    # A valid PNG padded past the limit: refused for its size, not its content.
    data = picture("PNG") + b"\0" * (images.MAX_IMAGE_BYTES)
    response = upload(alice_client, data)
    assert response.status_code == 400
    assert response.json() == {"error": images.TOO_LARGE}
    assert not IncidentImage.objects.exists()


def test_an_oversized_body_is_refused_from_its_length_before_it_is_read(
    alice_client: Client,
) -> None:
    url = reverse("image_upload")
    response = alice_client.generic(
        "POST", url, b"", content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(images.MAX_IMAGE_BYTES * 2),
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {"error": images.TOO_LARGE}


def test_the_size_cap_stops_reading_a_file_past_10_mb_whatever_the_length_says() -> None:
    from django.core.files.uploadhandler import StopUpload

    from reports.image_views import _SizeCap

    cap = _SizeCap()
    assert cap.receive_data_chunk(b"\0" * images.MAX_IMAGE_BYTES, 0)
    assert not cap.exceeded
    with pytest.raises(StopUpload):
        cap.receive_data_chunk(b"\0", images.MAX_IMAGE_BYTES)
    assert cap.exceeded


def test_a_text_file_named_png_is_refused(alice_client: Client) -> None:
    response = upload(alice_client, b"# not a picture\n" * 20, name="notes.png")
    assert response.status_code == 400
    assert response.json() == {"error": images.NOT_AN_IMAGE}
    assert not IncidentImage.objects.exists()


def test_an_svg_or_bmp_is_refused(alice_client: Client) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="BMP")
    for data, name in ((svg, "x.svg"), (out.getvalue(), "x.bmp")):
        response = upload(alice_client, data, name=name)
        assert response.status_code == 400
        assert response.json() == {"error": images.NOT_AN_IMAGE}


def test_a_truncated_image_is_refused_as_damaged(alice_client: Client) -> None:
    data = picture("PNG", size=(300, 300))
    response = upload(alice_client, data[: len(data) // 2])
    assert response.status_code == 400
    assert response.json() == {"error": images.DAMAGED}


def test_a_decompression_bomb_is_refused(alice_client: Client) -> None:
    # 10,000 × 10,000 pixels of one colour: a few kilobytes of PNG, 300 MB once decoded.
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, format="PNG")
    assert len(out.getvalue()) < 100_000
    response = upload(alice_client, out.getvalue(), name="bomb.png")
    assert response.status_code == 400
    assert response.json() == {"error": images.TOO_MANY_PIXELS}


VALID = {kind: picture(kind) for kind in ("PNG", "JPEG", "GIF", "WEBP")}


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(sorted(VALID)), how=st.sampled_from(["cut", "edit", "any"]), data=st.data()
)
def test_any_bytes_become_a_clean_image_or_a_clear_refusal(kind: str, how: str, data: Any) -> None:
    original = VALID[kind]
    if how == "cut":
        blob = original[: data.draw(st.integers(0, len(original)))]
    elif how == "edit":
        edits = data.draw(
            st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(0, 255)), max_size=8)
        )
        changed = bytearray(original)
        for at, value in edits:
            changed[at] = value
        blob = bytes(changed)
    else:
        blob = data.draw(st.binary(max_size=2000))
    try:
        encoded = images.reencode(io.BytesIO(blob))
    except images.ImageRefused as refused:
        assert str(refused) in {images.NOT_AN_IMAGE, images.DAMAGED, images.TOO_MANY_PIXELS}
    else:
        assert b"PhoneMaker" not in encoded.data
        with Image.open(io.BytesIO(encoded.data)) as reopened:
            assert FORMATS_BY_EXTENSION[encoded.extension] == reopened.format
            assert not reopened.getexif()


FORMATS_BY_EXTENSION = {extension: kind for kind, (extension, _) in images.FORMATS.items()}


def test_an_upload_without_a_file_gets_a_clear_message(alice_client: Client) -> None:
    response = alice_client.post(reverse("image_upload"), {"other": "x"})
    assert response.status_code == 400
    assert "Choose a PNG, JPEG, GIF or WebP image" in response.json()["error"]


def test_the_upload_needs_the_csrf_token(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = upload(client, picture())
    assert response.status_code == 403
    assert not IncidentImage.objects.exists()


# --- Who may upload and who may see


def test_viewers_can_see_an_image_but_not_upload(
    alice_client: Client, victor_client: Client
) -> None:
    incident = IncidentFactory()
    url = upload(alice_client, picture(), pk=incident.pk).json()["url"]

    assert victor_client.get(url).status_code == 200
    for pk in (None, incident.pk):
        response = upload(victor_client, picture(), pk=pk)
        assert response.status_code == 403
        assert "Viewers can read" in response.json()["error"]
    assert IncidentImage.objects.count() == 1


def test_a_restricted_incidents_image_is_served_to_its_author_and_group_only(
    alice_client: Client, bob_client: Client, charlie_client: Client, restricted: Incident
) -> None:
    response = upload(alice_client, picture(), pk=restricted.pk)
    assert response.status_code == 201
    url = response.json()["url"]

    for client in (alice_client, bob_client):
        served = client.get(url)
        assert served.status_code == 200
        assert served["Content-Type"] == "image/png"
        assert {"private", "no-store"} <= set(served["Cache-Control"].split(", "))
        assert b"".join(served.streaming_content).startswith(b"\x89PNG")  # type: ignore[attr-defined]
    assert charlie_client.get(url).status_code == 404
    # Charlie can't upload into it either: it doesn't exist for him.
    assert upload(charlie_client, picture(), pk=restricted.pk).status_code == 404


def test_an_image_of_an_incident_for_everyone_is_kept_by_no_cache(
    alice_client: Client, charlie_client: Client
) -> None:
    # Like every page for a signed-in person (common/middleware.py): an incident for everyone
    # can become restricted, and a browser must not keep its pictures past that.
    url = upload(alice_client, picture(), pk=IncidentFactory().pk).json()["url"]
    served = charlie_client.get(url)
    assert served.status_code == 200
    assert {"private", "no-store"} <= set(served["Cache-Control"].split(", "))


def test_an_unknown_image_or_a_signed_out_visitor_gets_nothing(alice_client: Client) -> None:
    url = upload(alice_client, picture(), pk=IncidentFactory().pk).json()["url"]
    assert alice_client.get(url.replace(".png", ".jpg")).status_code == 404
    assert alice_client.get("/incidents/images/AAAAAAAAAAAAAAAAAAAAAA.png").status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_images_are_not_served_from_a_public_media_url(
    alice_client: Client, charlie_client: Client, restricted: Incident
) -> None:
    upload(alice_client, picture(), pk=restricted.pk)
    stored = str(IncidentImage.objects.get().file.name)
    for prefix in ("/media/", "/"):
        assert charlie_client.get(prefix + stored).status_code == 404


# --- From the new-incident form to the saved page


def test_an_image_uploaded_for_a_new_incident_is_bound_to_it_when_saved(
    alice_client: Client, bob_client: Client, charlie_client: Client, security: Group
) -> None:
    markdown = upload(alice_client, picture(), name="p99.png").json()["markdown"]
    image = IncidentImage.objects.get()
    url = image.get_absolute_url()
    # Before the incident exists, only its uploader sees it (the preview).
    assert image.incident is None
    assert alice_client.get(url).status_code == 200
    assert bob_client.get(url).status_code == 404

    data = incident_post(
        body=f"## Impact\n\n{markdown}\n", visibility="restricted", access_groups=[security.name]
    )
    assert alice_client.post(reverse("incident_create"), data).status_code == 302
    incident = Incident.objects.get()
    image.refresh_from_db()
    assert image.incident == incident
    page = alice_client.get(incident.get_absolute_url()).content.decode()
    assert f'<img alt="p99" src="{url}"' in page
    assert bob_client.get(url).status_code == 200
    assert charlie_client.get(url).status_code == 404


def test_only_the_uploaders_pending_images_are_bound(
    alice_client: Client, bob_client: Client
) -> None:
    uploaded = upload(alice_client, picture()).json()
    markdown, url = uploaded["markdown"], uploaded["url"]
    # Bob copies Alice's unsaved image into his own report: it stays hers, unseen by him.
    response = bob_client.post(reverse("incident_create"), incident_post(body=markdown))
    assert response.status_code == 302
    assert IncidentImage.objects.get().incident is None
    assert bob_client.get(url).status_code == 404


def test_the_preview_shows_an_uploaded_image(alice_client: Client) -> None:
    url = upload(alice_client, picture()).json()["url"]
    response = alice_client.post(
        reverse("markdown_preview") + "?field=body", {"body": f"Look:\n\n![graph]({url})"}
    )
    assert f'src="{url}"' in response.content.decode()


def test_the_renderer_keeps_once_images_and_links_others() -> None:
    html = render_markdown(
        "![ours](/incidents/images/abcdefghijklmnopqrstuv.png) ![theirs](https://evil.test/x.png)"
    )
    assert '<img alt="ours" src="/incidents/images/abcdefghijklmnopqrstuv.png"' in html
    assert '<a href="https://evil.test/x.png"' in html and "<img" not in html.split("ours")[1]


def test_images_never_saved_with_their_incident_are_deleted_after_30_days(
    alice_client: Client,
) -> None:
    upload(alice_client, picture())  # the new-incident form was abandoned
    kept = upload(alice_client, picture(), pk=IncidentFactory().pk).json()["url"]
    abandoned = IncidentImage.objects.get(incident=None)
    storage, name = abandoned.file.storage, str(abandoned.file.name)
    assert storage.exists(name)

    assert images.delete_abandoned(now=timezone.now() + timedelta(days=29)) == 0
    assert images.delete_abandoned(now=timezone.now() + timedelta(days=31)) == 1
    assert not storage.exists(name)
    assert [i.get_absolute_url() for i in IncidentImage.objects.all()] == [kept]
    assert alice_client.get(kept).status_code == 200


def test_the_storage_options_must_be_a_json_object(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from config.env import env_json_object

    monkeypatch.setenv("ONCE_MEDIA_STORAGE_OPTIONS", '{"bucket_name": "once-pictures"}')
    assert env_json_object("ONCE_MEDIA_STORAGE_OPTIONS") == {"bucket_name": "once-pictures"}
    for wrong in ('["once-pictures"]', "bucket_name=once"):
        monkeypatch.setenv("ONCE_MEDIA_STORAGE_OPTIONS", wrong)
        with pytest.raises(ImproperlyConfigured, match="ONCE_MEDIA_STORAGE_OPTIONS must be a JSON"):
            env_json_object("ONCE_MEDIA_STORAGE_OPTIONS")
