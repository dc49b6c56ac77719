"""The filter panel of the daily lists (issue 16, item 2): compact on a desktop, its fields
side by side in a few rows; folded away on a phone until asked for, then one field a row."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.factories import IncidentFactory, RemediationFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LISTS = ["/incidents/", "/remediations/"]
# The top and left of each field of the open panel.
FIELDS = """() => [...document.querySelectorAll(".filter-form > div:not(.actions)")]
  .map((el) => { const box = el.getBoundingClientRect();
                 return {top: Math.round(box.top), left: Math.round(box.left)}; })"""


@pytest.fixture
def signed_in(page: Any) -> Any:
    User.objects.create_user("pat", "pat@example.com", "password")
    IncidentFactory(title="Disk filled")
    RemediationFactory(title="Rotate logs")
    page.goto("/accounts/login/")
    page.fill("#id_username", "pat")
    page.fill("#id_password", "password")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/incidents/$"))
    return page


def test_the_filters_sit_side_by_side_on_a_desktop(signed_in: Any) -> None:
    page = signed_in
    page.set_viewport_size({"width": 1280, "height": 900})
    for path in LISTS:
        page.goto(path)
        page.click("details.filters summary")
        fields = page.evaluate(FIELDS)
        rows = {f["top"] for f in fields}
        assert len(fields) >= 6 and len(rows) <= 3, (path, fields)
        height = page.locator("details.filters").bounding_box()["height"]
        assert height < 450, f"{path}: the open filter panel is {height} px tall"


def test_the_filters_fold_away_on_a_phone(signed_in: Any) -> None:
    page = signed_in
    page.set_viewport_size({"width": 390, "height": 844})
    for path in LISTS:
        page.goto(path)
        assert not page.locator(".filter-form").is_visible(), path
        page.click("details.filters summary")
        fields = page.evaluate(FIELDS)
        assert len({f["left"] for f in fields}) == 1, (path, fields)  # one column
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
