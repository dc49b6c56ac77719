"""Every main page on a 390 px phone (issue 16, item 7): nothing wider than the screen, so
nobody scrolls sideways to read a row; and an overdue row's highlight spans the whole card."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Count

from gamedays.models import GameDay
from incidents.models import FailureCategory, Incident, Service
from remediations.models import RecurrenceFlag, Remediation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

# What sticks out past the right edge, named so a failure says where to look. A strip that
# scrolls on its own (overflow-x auto or scroll, such as a row of jump links) is meant to.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(up).overflowX)) return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && getComputedStyle(el).position !== "fixed"
        && !el.closest("dialog:not([open])") && !scrolls(el)) {
      out.push(`${el.tagName.toLowerCase()}.${el.className}: ${Math.round(box.right)}px`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, out: out.slice(0, 5)};
}"""


def sign_in_on_a_phone(page: Any, username: str) -> None:
    """At 390 px, signed in as `username` (password "password"), on the incident list."""
    page.set_viewport_size(PHONE)
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "password")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/incidents/$"))


def main_pages() -> list[str]:
    incident = Incident.objects.order_by("pk").first()
    category = FailureCategory.objects.filter(incidents__isnull=False).first()
    fix = Remediation.objects.filter(incident__isnull=False).order_by("pk").first()
    game_day = GameDay.objects.order_by("pk").first()
    flag = RecurrenceFlag.objects.order_by("pk").first()
    # The busiest service: its page has the chart of incidents per month.
    service = Service.objects.annotate(n=Count("incidents")).order_by("-n", "pk").first()
    assert incident and category and fix and game_day and flag and service, "the demo has each"
    return [
        "/incidents/", "/incidents/new/", f"/incidents/{incident.pk}/",
        f"/incidents/{incident.pk}/edit/", f"/incidents/{incident.pk}/history/",
        "/categories/", "/categories/?sort=never_fixed", f"/categories/{category.slug}/",
        "/remediations/", f"/remediations/{fix.pk}/", f"/remediations/{fix.pk}/edit/",
        "/review/", "/search/?q=etcd+leader+elections", "/game-days/", "/game-days/new/",
        f"/game-days/{game_day.pk}/", "/flags/", f"/flags/{flag.pk}/", "/account/tokens/",
        "/audit/", "/services/", f"/services/{service.pk}/", f"/services/{service.pk}/notes/",
        "/game-days/backlog/",
    ]  # fmt: skip


def test_no_main_page_is_wider_than_a_phone(page: Any) -> None:
    call_command("load_demo", verbosity=0)
    User.objects.create_superuser("root", "root@example.com", "password")  # every link shown
    sign_in_on_a_phone(page, "root")
    too_wide = {}
    for path in main_pages():
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        found = page.evaluate(OVERFLOW)
        if found["scroll"] > found["width"] or found["out"]:
            too_wide[path] = found
    assert not too_wide, f"wider than {PHONE['width']} px: {too_wide}"


def test_an_overdue_rows_highlight_spans_the_whole_row_on_a_phone(page: Any) -> None:
    call_command("load_demo", verbosity=0)
    User.objects.create_user("phone", password="password")
    sign_in_on_a_phone(page, "phone")
    page.goto("/remediations/?overdue=true")
    row = page.locator("tr.overdue").first
    row.wait_for()
    painted = row.evaluate(
        """(tr) => {
          const paint = (el) => getComputedStyle(el).backgroundColor;
          const box = tr.getBoundingClientRect();
          return {row: paint(tr), width: box.width, table: tr.closest('table').clientWidth};
        }"""
    )
    assert painted["row"] not in ("rgba(0, 0, 0, 0)", "transparent"), painted
    assert painted["width"] >= painted["table"] - 1, painted


def test_a_service_pages_failure_modes_say_what_each_number_is_on_a_phone(page: Any) -> None:
    """The column heads are hidden on a phone: each cell names itself ("Incidents: 4")."""
    call_command("load_demo", verbosity=0)
    User.objects.create_user("phone", password="password")
    service = Service.objects.annotate(n=Count("incidents")).order_by("-n", "pk").first()
    assert service is not None
    sign_in_on_a_phone(page, "phone")
    page.goto(f"/services/{service.pk}/")
    cells = page.locator("table.modes tbody tr").first.locator("td")
    labels = cells.evaluate_all(
        "(tds) => tds.map((td) => getComputedStyle(td, '::before').content)"
    )
    assert labels[1:] == ['"Incidents: "', '"Last: "', '"Open fixes: "',
                          '"Did the fix work?: "', '"Last tested: "'], labels  # fmt: skip


LONG = "Supercalifragilistic" * 10  # a 200-character word: a log line, a URL, a resource name


def test_a_long_unbroken_name_never_widens_a_page_on_a_phone(page: Any, tmp_path: Any) -> None:
    call_command("load_demo", verbosity=0)
    path = f"Longcat > {LONG[:100]}"
    line = {
        "external_id": "long-words", "title": LONG, "summary": LONG,
        "body": f"## Impact\n\n{LONG}\n\n```\n{'x' * 400}\n```\n",
        "started_at": "2026-11-30T10:00:00Z", "categories": [path], "services": [LONG[:100]],
        "causes": [{"kind": "trigger", "description": LONG, "category": path}],
        "remediations": [{"title": LONG, "kind": "prevent", "status": "open",
                          "due_date": "2020-01-01", "category": path}],
    }  # fmt: skip
    source = tmp_path / "long.jsonl"
    source.write_text(json.dumps(line) + "\n")
    call_command("import_incidents", str(source), stdout=io.StringIO())
    incident = Incident.objects.get(external_id="long-words")
    category = FailureCategory.objects.get(name=LONG[:100])
    service = Service.objects.get(name=LONG[:100])
    fix = Remediation.objects.get(incident=incident)
    User.objects.create_superuser("root", "root@example.com", "password")
    sign_in_on_a_phone(page, "root")
    too_wide = {}
    for where in [
        "/incidents/", "/incidents/new/", f"/incidents/{incident.pk}/",
        f"/incidents/{incident.pk}/edit/", f"/categories/{category.slug}/", "/remediations/",
        f"/remediations/{fix.pk}/", f"/services/{service.pk}/", f"/search/?q={LONG}", "/review/",
    ]:  # fmt: skip
        response = page.goto(where)
        assert response is not None and response.status == 200, where
        found = page.evaluate(OVERFLOW)
        if found["scroll"] > found["width"] or found["out"]:
            too_wide[where] = found
    assert not too_wide, f"wider than {PHONE['width']} px: {too_wide}"
