"""Dates shown once, one way, on a desktop (issue 16, item 5): no date or time breaks across
lines on any main page, and a remediation's due date appears once in its row — as text, or
in the row's date input where the row can change it, never both."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from incidents.models import Service
from tests.e2e.test_narrow_screens import main_pages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$")

# Every shown date (a <time class="stamp">): its text and how many line boxes it takes.
STAMPS = """() => [...document.querySelectorAll("time.stamp")]
  .filter((el) => el.offsetParent !== null)
  .map((el) => ({text: el.textContent, lines: el.getClientRects().length,
                 where: (el.closest("td, li, dd, p") || el).className || el.parentElement.tagName}))"""

# For each remediation row with a due date: how often that date shows in it, as text the
# reader sees or as the value of a date input they see.
DUE_IN_ROWS = """() => {
  const out = [];
  for (const row of document.querySelectorAll("tr")) {
    const inputs = [...row.querySelectorAll('input[type="date"]')].filter((i) => i.offsetParent !== null);
    const text = row.innerText + " " + inputs.map((i) => i.value).join(" ");
    const due = row.querySelector("td.due");
    const value = (due && due.textContent.match(/\\d{4}-\\d{2}-\\d{2}/)) ||
                  inputs.map((i) => i.value).find(Boolean);
    if (!value) continue;
    const day = Array.isArray(value) ? value[0] : value;
    out.push({row: row.id || row.innerText.slice(0, 40), day,
              times: text.split(day).length - 1});
  }
  return out;
}"""


def sign_in(page: Any, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "password")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/incidents/$"))


def test_no_date_breaks_across_lines_on_a_desktop(page: Any) -> None:
    call_command("load_demo", verbosity=0)
    User.objects.create_superuser("root", "root@example.com", "password")
    page.set_viewport_size(DESKTOP)
    sign_in(page, "root")
    paths = main_pages()
    broken, odd, seen = {}, {}, 0
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        stamps = page.evaluate(STAMPS)
        seen += len(stamps)
        if wrapped := [s for s in stamps if s["lines"] != 1]:
            broken[path] = wrapped[:3]
        if other := [
            s["text"] for s in stamps if not (DAY.match(s["text"]) or MOMENT.match(s["text"]))
        ]:
            odd[path] = other[:3]
    assert seen > 50, "the demo's pages show dates"
    assert not broken, f"dates on more than one line at {DESKTOP['width']} px: {broken}"
    assert not odd, f"dates written another way: {odd}"


@pytest.mark.parametrize("who", ["writer", "viewer"])
def test_a_due_date_appears_once_in_each_row(page: Any, who: str) -> None:
    call_command("load_demo", verbosity=0)
    user = User.objects.create_user("pat", "pat@example.com", "password")
    if who == "viewer":
        user.groups.add(Group.objects.get_or_create(name="Viewers")[0])
    page.set_viewport_size(DESKTOP)
    sign_in(page, "pat")
    service = Service.objects.filter(incidents__remediations__due_date__isnull=False).first()
    paths = ["/remediations/", "/review/"]
    if service is not None:
        paths.append(f"/services/{service.pk}/")
    rows_seen = 0
    for path in paths:
        page.goto(path)
        rows = page.evaluate(DUE_IN_ROWS)
        rows_seen += len(rows)
        twice = [r for r in rows if r["times"] != 1]
        assert not twice, f"{path}: a due date shown other than once in its row: {twice[:3]}"
    assert rows_seen >= 5, "the demo has remediations with due dates"
