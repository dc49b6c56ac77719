"""History people can read (issue 15, item 4): only changed hunks, words marked inside changed
lines, lists as added, removed or changed items, and the same diff on the conflict page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from common.diffs import item_changes, text_diff
from common.validation import Errors
from incidents.models import Incident
from remediations.actions import merged_changes, save_remediation
from remediations.models import Remediation
from remediations.records import clean_remediation
from tests.factories import IncidentFactory, RemediationFactory
from tests.incidents.test_edit_conflict import edit_data

pytestmark = pytest.mark.django_db

LINE = re.compile(
    r'<td class="diff-(?:old|new) diff-(\w+)"><span class="diff-number">(\d+)</span>'
    r'<span class="diff-line">(.*?)</span></td>'
)
LONG_BODY = "\n".join(
    f"Paragraph {n}: the cluster did its usual thing, quietly." for n in range(60)
)


def diff_lines(html: str) -> list[tuple[str, int, str]]:
    """(kind, line number, inner HTML) of every line shown in the page's diffs."""
    return [(kind, int(number), text) for kind, number, text in LINE.findall(html)]


def create(client: Client, **fields: Any) -> int:
    body = {"title": "Pods pending", "started_at": "2025-01-01T10:00:00Z", **fields}
    response = client.post("/api/incidents/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def patch(client: Client, pk: int, **fields: Any) -> None:
    version = Incident.objects.get(pk=pk).version
    response = client.patch(
        f"/api/incidents/{pk}/", {"version": version, **fields}, content_type="application/json"
    )
    assert response.status_code == 200, response.content


def history(client: Client, pk: int) -> str:
    response = client.get(reverse("incident_history", args=[pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_four_line_addition_shows_only_those_lines_and_a_little_context(
    alice_client: Client,
) -> None:
    pk = create(alice_client, body=LONG_BODY)
    lines = LONG_BODY.splitlines()
    added = ["New: one", "New: two", "New: three", "New: four"]
    patch(alice_client, pk, body="\n".join(lines[:30] + added + lines[30:]))

    shown = diff_lines(history(alice_client, pk))
    assert [text for kind, _, text in shown if kind == "added"] == added
    assert [number for kind, number, _ in shown if kind == "added"] == [31, 32, 33, 34]
    # Two lines of context on each side (each shown once in the unified view's markup: the
    # new side of an unchanged row is hidden by CSS, so count the old side only).
    context = [text for kind, _, text in shown if kind == "same"]
    assert 2 <= len(context) // 2 <= 4
    assert "Paragraph 0:" not in history(alice_client, pk)  # the body isn't repeated whole
    assert "⋯ 28 unchanged lines" in history(alice_client, pk)


def test_a_one_word_change_is_marked_word_by_word(alice_client: Client) -> None:
    pk = create(alice_client, body=LONG_BODY)
    patch(
        alice_client,
        pk,
        body=LONG_BODY.replace(
            "Paragraph 7: the cluster did its usual", "Paragraph 7: the cluster did its unusual"
        ),
    )
    shown = diff_lines(history(alice_client, pk))
    changed = [(kind, text) for kind, _, text in shown if kind in ("added", "removed")]
    assert changed == [
        ("removed", "Paragraph 7: the cluster did its <del>usual</del> thing, quietly."),
        ("added", "Paragraph 7: the cluster did its <ins>unusual</ins> thing, quietly."),
    ]


def test_a_deleted_timeline_entry_shows_as_removed(alice_client: Client) -> None:
    timeline = [
        {"at": "2025-01-01T10:05:00Z", "text": "Pods stuck in Pending"},
        {"at": "2025-01-01T10:20:00Z", "text": "Node pool scaled up"},
    ]
    pk = create(alice_client, timeline=timeline)
    url = reverse("incident_edit", args=[pk])
    form = edit_data(alice_client, url)
    form["timeline-0-DELETE"] = "on"
    assert alice_client.post(url, form).status_code == 302

    html = history(alice_client, pk)
    assert (
        '<li class="diff-item diff-item-removed"><span class="diff-sign">removed</span> '
        "<del>2025-01-01 10:05 UTC Pods stuck in Pending</del></li>"
    ) in html
    assert "Node pool scaled up" not in html  # unchanged entries are left out


def test_an_import_on_sqlite_keeps_parts_so_the_next_deletion_shows(
    alice_client: Client, alice: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """simple-history's bulk create (the import path off PostgreSQL, e.g. the demo) copied no
    parts: the first edit after an import could not show what it removed."""
    from django.core.management import call_command

    monkeypatch.setattr(connection, "vendor", "sqlite")  # take create_with_history's other path
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({
        "external_id": "x-1", "title": "Imported", "started_at": "2025-01-01T10:00:00Z",
        "timeline": [{"at": "2025-01-01T10:05:00Z", "text": "First alert"},
                     {"at": "2025-01-01T10:09:00Z", "text": "Second alert"}],
    }))  # fmt: skip
    call_command("import_incidents", str(path), stdout=None)
    monkeypatch.undo()
    incident = Incident.objects.get(external_id="x-1")
    assert incident.history.get().parts["timeline"][0]["text"] == "First alert"

    patch(
        alice_client, incident.pk, timeline=[{"at": "2025-01-01T10:09:00Z", "text": "Second alert"}]
    )
    assert "<del>2025-01-01 10:05 UTC First alert</del>" in history(alice_client, incident.pk)


def test_categories_services_and_remediations_show_as_added_and_removed_items(
    alice_client: Client, alice: Any
) -> None:
    pk = create(alice_client, categories=["Scheduling > IAM"], services=["kube-scheduler"])
    patch(alice_client, pk, categories=["Network > DNS"], services=["kube-scheduler", "coredns"],
          causes=[{"kind": "trigger", "description": "IAM rate limit hit"}])  # fmt: skip
    patch(alice_client, pk, causes=[{"kind": "trigger", "description": "IAM rate limit reached"}])
    remediation = RemediationFactory(incident_id=pk, title="Cache credentials")
    record = clean_remediation(merged_changes(remediation, {"status": "done"}), Errors())
    save_remediation(remediation, record, by=alice, expected_version=remediation.version)
    Remediation.objects.get(pk=remediation.pk).delete()  # removed with its own history record

    html = history(alice_client, pk)
    item = '<li class="diff-item diff-item-{}"><span class="diff-sign">{}</span> {}</li>'
    assert item.format("removed", "removed", "<del>Scheduling &gt; IAM</del>") in html
    assert item.format("added", "added", "<ins>Network &gt; DNS</ins>") in html
    assert item.format("added", "added", "<ins>coredns</ins>") in html
    assert "kube-scheduler" not in html  # kept: not a change
    assert "Trigger: IAM rate limit <del>hit</del><ins>reached</ins>" in html  # a changed cause
    assert "<dt>Remediations" in html
    assert "<ins>“Cache credentials” (Open)</ins>" in html
    assert (
        "“Cache credentials”: status <del>Open</del><ins>Done</ins>; done at <del>—</del>" in html
    )
    assert "<del>“Cache credentials” (Done)</del>" in html
    assert "<h2>Remediations changed</h2>" in html


def test_text_in_a_diff_is_escaped(alice_client: Client) -> None:
    pk = create(alice_client, body="Line one\nLine two")
    patch(alice_client, pk, body="Line one\nLine <script>alert(1)</script> two",
          causes=[{"kind": "trigger", "description": "<img src=x onerror=alert(1)>"}])  # fmt: skip
    html = history(alice_client, pk)
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_times_in_history_read_like_the_incident_page(alice_client: Client) -> None:
    pk = create(alice_client)
    patch(alice_client, pk, started_at="2025-01-01T09:30:00Z",
          timeline=[{"at": "2025-01-01T10:05:00Z", "text": "Paged"}])  # fmt: skip
    html = history(alice_client, pk)
    assert "<del>2025-01-01 10:00 UTC</del> → <ins>2025-01-01 09:30 UTC</ins>" in html
    assert "<ins>2025-01-01 10:05 UTC Paged</ins>" in html


def test_the_history_of_a_hidden_incident_is_still_not_found(bob_client: Client) -> None:
    from django.contrib.auth.models import Group

    hidden = IncidentFactory(
        visibility="restricted", access_groups=[Group.objects.create(name="Security")]
    )
    assert bob_client.get(reverse("incident_history", args=[hidden.pk])).status_code == 404


def test_the_conflict_page_shows_the_same_diff(alice_client: Client, bob_client: Client) -> None:
    pk = create(alice_client, body=LONG_BODY)
    url = reverse("incident_edit", args=[pk])
    alice_form, bob_form = edit_data(alice_client, url), edit_data(bob_client, url)
    alice_form["body"] = LONG_BODY.replace("Paragraph 40: the", "Paragraph 40: sadly the")
    assert alice_client.post(url, alice_form).status_code == 302
    bob_form["title"] = "Pods pending for hours"
    response = bob_client.post(url, bob_form)
    assert response.status_code == 409
    html = response.content.decode()
    assert ("added", 41, "Paragraph 40:<ins> sadly</ins> the cluster did its usual thing, "
            "quietly.") in diff_lines(html)  # fmt: skip
    assert "Paragraph 0:" not in html.split("What they changed")[1].split("</section>")[0]
    assert 'id="diff-side-by-side"' in html


def test_lists_and_texts_diff_as_people_read_them() -> None:
    assert text_diff("same\ntext", "same\ntext").hunks == []
    items = item_changes(["a one", "b two"], ["b two", "c three"])
    assert [(i.kind, i.text) for i in items] == [("removed", "a one"), ("added", "c three")]
    assert [i.kind for i in item_changes(["x", "y"], ["y", "x"], ordered=False)] == []


def test_a_report_rewritten_whole_is_marked_word_by_word_only_so_far() -> None:
    """Word matching is bounded (MAX_PAIRS) so a rewritten report still shows at once."""
    from common.diffs import MAX_PAIRS

    old = "\n".join(f"line {n} says yes" for n in range(MAX_PAIRS + 50))
    diff = text_diff(old, old.replace("yes", "no"))
    rows = [row for hunk in diff.hunks for row in hunk.rows]
    paired = [row for row in rows if row.old and row.new]
    assert len(paired) == MAX_PAIRS
    assert paired[0].new.segments == [("same", "line 0 says "), ("added", "no")]
    assert len(rows) == MAX_PAIRS + 2 * 50  # the rest: removed and added whole
