"""Pictures in a report, in a real browser: pasted and chosen images show in the preview at
once and on the saved page, their URL is 404 to anyone who may not see the incident, and a
file that isn't a picture is refused with its reason."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import pytest
from PIL import Image

from incidents.models import Incident, IncidentImage
from tests.e2e.test_write_report import log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A script that pastes a file into the report, as the clipboard does with a screenshot.
PASTE = """([data, name, type]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type }));
  const textarea = document.querySelector("#id_body");
  textarea.focus();
  textarea.selectionStart = textarea.selectionEnd = textarea.value.length;
  textarea.dispatchEvent(
    new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true })
  );
}"""

DROP = """([data, name]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "image/gif" }));
  const textarea = document.querySelector("#id_body");
  for (const type of ["dragover", "drop"]) {
    textarea.dispatchEvent(
      new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true })
    );
  }
}"""

LOADED = """(selector) => {
  const images = Array.from(document.querySelectorAll(selector));
  return images.length > 0 && images.every((img) => img.complete && img.naturalWidth > 0);
}"""


def picture(kind: str, color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), color).save(out, format=kind)
    return out.getvalue()


def paste(page: Any, data: bytes, name: str, content_type: str) -> None:
    page.evaluate(PASTE, [base64.b64encode(data).decode(), name, content_type])


def test_pasted_chosen_and_dropped_images_show_in_the_preview_and_on_the_saved_page(
    page: Any, browser: Any, live_server: Any
) -> None:
    UserFactory(username="alice")
    UserFactory(username="charlie")
    log_in(page, "alice", "password")
    page.goto("/incidents/new/")
    page.fill("#id_title", "Checkout latency doubled")
    page.fill("#id_started_at", "2026-11-20T10:00")
    page.check("input[name=visibility][value=restricted]")
    page.fill("#id_body", "## Impact\n\nLatency, see the graph:\n\n")

    # A screenshot pasted from the clipboard: its Markdown lands at the cursor, and the
    # preview shows the picture, loaded from Once.
    paste(page, picture("PNG", (220, 20, 20)), "image.png", "image/png")
    page.locator("[data-image-status]", has_text="image.png added.").wait_for()
    body = page.input_value("#id_body")
    assert re.search(r"graph:\n\n!\[image\]\(/incidents/images/[\w-]+\.png\)$", body), body
    page.wait_for_function(LOADED, arg="#body-preview img")

    # A file chosen with the button goes in too.
    page.set_input_files(
        "[data-image-chooser]",
        files=[{"name": "p99 latency.jpg", "mimeType": "image/jpeg",
                "buffer": picture("JPEG", (20, 20, 220))}],
    )  # fmt: skip
    page.locator("[data-image-status]", has_text="p99 latency.jpg added.").wait_for()
    page.wait_for_function("() => document.querySelectorAll('#body-preview img').length === 2")
    page.wait_for_function(LOADED, arg="#body-preview img")
    assert page.locator("#body-preview img").nth(1).get_attribute("alt") == "p99 latency"

    # And one dropped onto the editor.
    page.evaluate(DROP, [base64.b64encode(picture("GIF", (20, 200, 20))).decode(), "errors.gif"])
    page.locator("[data-image-status]", has_text="errors.gif added.").wait_for()
    page.wait_for_function("() => document.querySelectorAll('#body-preview img').length === 3")
    page.wait_for_function(LOADED, arg="#body-preview img")

    page.click("button:has-text('Create incident')")
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    incident = Incident.objects.get(title="Checkout latency doubled")
    page.wait_for_function(LOADED, arg=".report img")
    sources = [img.get_attribute("src") for img in page.locator(".report img").all()]
    assert len(sources) == 3
    assert {i.incident_id for i in IncidentImage.objects.all()} == {incident.pk}

    # Charlie may not see the restricted incident: its pictures don't exist for him.
    other = browser.new_context(base_url=live_server.url)
    try:
        charlie = other.new_page()
        log_in(charlie, "charlie", "password")
        for src in sources:
            assert charlie.request.get(src).status == 404
        assert charlie.goto(incident.get_absolute_url()).status == 404
        # (In this page, whose console errors aren't checked: the refusal is a 400.) A text
        # file dressed as a picture is refused with its reason, and nothing is inserted.
        charlie.goto("/incidents/new/")
        text_before = charlie.input_value("#id_body")
        paste(charlie, b"not a picture at all", "notes.png", "image/png")
        charlie.locator(
            "[data-image-status].error", has_text="notes.png: This file is not a PNG, JPEG"
        ).wait_for()
        assert charlie.input_value("#id_body") == text_before
    finally:
        other.close()
    # Alice still gets them.
    assert page.request.get(sources[0]).status == 200


def test_a_picture_chosen_before_clicking_into_the_report_leaves_its_headings_alone(
    page: Any,
) -> None:
    # The cursor of an untouched report is at its very start, before "## Impact": the picture
    # went there glued to the heading ("![…](…)## Impact"), and the saved report had no Impact.
    UserFactory(username="alice")
    log_in(page, "alice", "password")
    page.goto("/incidents/new/")
    page.fill("#id_title", "Checkout latency doubled")
    page.fill("#id_started_at", "2026-11-20T10:00")
    assert page.input_value("#id_body").startswith("## Impact")  # the template
    page.set_input_files(
        "[data-image-chooser]",
        files=[{"name": "p99.png", "mimeType": "image/png",
                "buffer": picture("PNG", (20, 20, 220))}],
    )  # fmt: skip
    page.locator("[data-image-status]", has_text="p99.png added.").wait_for()
    page.wait_for_function(LOADED, arg="#body-preview img")
    assert page.locator("#body-preview h2", has_text="Impact").count() == 1
    # And one chosen with the cursor in the middle of a line of text keeps that line whole.
    page.fill("#id_body", "## Impact\n\nLatency doubled.\n\n## Detection\n\nAlerts.")
    page.evaluate(
        "() => { const t = document.querySelector('#id_body');"
        " t.selectionStart = t.selectionEnd = t.value.indexOf('## Detection'); }"
    )
    page.set_input_files(
        "[data-image-chooser]",
        files=[{"name": "errors.png", "mimeType": "image/png",
                "buffer": picture("PNG", (220, 20, 20))}],
    )  # fmt: skip
    page.locator("[data-image-status]", has_text="errors.png added.").wait_for()
    page.click("button:has-text('Create incident')")
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    page.wait_for_function(LOADED, arg=".report img")
    headings = page.locator(".report h2").all_inner_texts()
    assert "Impact" in headings and "Detection" in headings
    body = Incident.objects.get(title="Checkout latency doubled").body
    assert re.search(r"\n\n!\[errors\]\(/incidents/images/[\w-]+\.png\)\n\n## Detection", body)
