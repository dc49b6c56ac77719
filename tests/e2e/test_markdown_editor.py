"""The Markdown editor in a real browser: it grows with its text, its preview follows the
cursor, and task lists, bare URLs and INC-42 references show in the preview."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_write_report import log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LONG_REPORT = "\n\n".join(
    f"## Section {n}\n\n" + "\n".join(f"Line {n}.{k} of the report." for k in range(8))
    for n in range(30)
)


def test_the_editor_grows_and_its_preview_follows_the_cursor(page: Any) -> None:
    UserFactory(username="alice")
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, "alice", "password")
    page.goto("/incidents/new/")
    body = page.locator("#id_body")
    before = body.bounding_box()["height"]
    body.fill(LONG_REPORT)
    body.dispatch_event("input")
    # Every line shows: the text area is as tall as its text, with no scroll bar of its own.
    page.wait_for_function(
        "() => { const t = document.querySelector('#id_body');"
        " return t.scrollHeight <= t.clientHeight + 2; }"
    )
    assert body.bounding_box()["height"] > before * 3

    preview = page.locator("#body-preview")
    preview.locator("h2", has_text="Section 29").wait_for()
    # The cursor at the end of the report: the preview shows the last section.
    body.focus()
    body.press("Control+End")
    page.wait_for_function(
        "() => { const p = document.querySelector('#body-preview');"
        " const h = [...p.querySelectorAll('h2')].at(-1);"
        " const top = h.getBoundingClientRect().top - p.getBoundingClientRect().top;"
        " return p.scrollTop > 0 && top >= 0 && top < p.clientHeight; }"
    )
    # Back to the start: the preview goes back to the top.
    body.press("Control+Home")
    page.wait_for_function("() => document.querySelector('#body-preview').scrollTop === 0")


def test_the_preview_shows_task_lists_links_and_references(page: Any) -> None:
    UserFactory(username="alice")
    log_in(page, "alice", "password")
    page.goto("/incidents/new/")
    page.fill(
        "#id_body",
        "- [x] rolled back\n- [ ] alert on it\n\nSee INC-4 and https://status.example/x ~~old~~",
    )
    preview = page.locator("#body-preview")
    preview.locator("a[href='/incidents/4/']").wait_for()
    assert preview.locator("input[type=checkbox][disabled]").count() == 2
    assert preview.locator("input[type=checkbox]:checked").count() == 1
    assert preview.locator("a[href='https://status.example/x']").inner_text() == (
        "https://status.example/x"
    )
    assert preview.locator("del").inner_text() == "old"
