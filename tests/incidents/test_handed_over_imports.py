"""The import faults handed over in ../shared/cases/import (a copy is in tests/cases/): every bad
line is reported by number with its reason, every good line is stored, and every page still
answers afterwards. Plus the kinds behind them: BOM, invalid UTF-8, deep nesting, the same
external_id twice, and text with U+2028 / U+0085 round-tripping through export."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.models import Incident
from remediations.tasks import reconcile_recurrences
from tests.incidents.test_import_export import import_file as run_import

pytestmark = pytest.mark.django_db

CASE = Path(__file__).parent.parent / "cases" / "import-bad-lines.jsonl"


def export_lines() -> list[str]:
    out = io.StringIO()
    call_command("export_incidents", stdout=out)
    return out.getvalue().split("\n")[:-1]


def test_the_handed_over_file_reports_each_bad_line_and_stores_the_good_ones() -> None:
    out, err, code = run_import(CASE)
    assert code == 1
    assert "line 2: started_at must be between 1970-01-01 and 2100-01-01." in err
    assert "line 3: timeline[1].at must be" in err
    assert "line 4: title must not contain the NUL character" in err
    assert "line 5: remediations[1].due_date must be a date (YYYY-MM-DD), not '0000-01-01'." in err
    assert "line 6: title must be a single line" in err
    assert "line 7: body is 300,000 characters long; the limit is 200,000." in err
    assert "line 10: external_id 'case-good-3' is also on line 9" in err
    assert "line 1:" not in err and "line 8:" not in err and "line 9:" not in err
    assert "3 created, 0 updated, 0 unchanged, 7 failed" in out
    # Every stored line carries an external_id (the column allows NULL for other ways in).
    ids = cast(Iterable[str], Incident.objects.values_list("external_id", flat=True))
    assert sorted(ids) == [
        "case-good-1", "case-good-2", "case-good-3",
    ]  # fmt: skip


def test_after_the_handed_over_import_every_page_answers(alice_client: Client) -> None:
    run_import(CASE)
    incident = Incident.objects.get(external_id="case-good-2")
    pages = [
        reverse("incident_list"), incident.get_absolute_url(),
        reverse("incident_edit", args=[incident.pk]), reverse("incident_history", args=[incident.pk]),
        reverse("category_tree"), reverse("remediation_list"), reverse("flag_list"),
        reverse("review_this_week"), reverse("search") + "?q=DNS+timeouts", "/api/incidents/",
        f"/api/incidents/{incident.pk}/", "/api/search/?q=line", "/api/flags/",
    ]  # fmt: skip
    for page in pages:
        assert alice_client.get(page).status_code == 200, page
    assert reconcile_recurrences()  # the periodic reconciliation runs over them too
    assert len(export_lines()) == 3


def test_text_with_line_separators_survives_export_and_import_unchanged(tmp_path: Path) -> None:
    run_import(CASE)
    first = export_lines()
    assert all("\u2028" not in line and "\x85" not in line for line in first)
    assert any("\\u2028" in line and "\\u0085" in line for line in first)
    assert all(len(line.splitlines()) == 1 for line in first)  # splits only where it should
    path = tmp_path / "again.jsonl"
    path.write_text("\n".join(first) + "\n", encoding="utf-8")
    out, _, code = run_import(path)
    assert code == 0 and "0 created, 0 updated, 3 unchanged" in out
    assert export_lines() == first
    title = Incident.objects.get(external_id="case-good-2").title
    assert "\u2028" in title and "\x85" in title


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"title": "caf\xe9", "started_at": "2025-01-01"}', "line 1: not UTF-8 (byte 0xe9"),
        (b'{"title": "x", "started_at": "2025-01-01", "causes": ' + b"[" * 5000 + b"]" * 5000 + b"}",
         "line 1: nested deeper than 20 levels"),
        (b'["a list", "not an object"]', "line 1: a line must hold a JSON object"),
        (b'{"title": "x", "started_at": "0000-01-01"}', "line 1: started_at must be a date or date-time"),
        (b'{"title": "x", "started_at": "2025-01-01", "causes": ' + json.dumps([{"description": "d"}] * 101).encode() + b"}",
         "line 1: causes has 101 items; the limit is 100."),
    ],
)  # fmt: skip
def test_each_kind_of_bad_line_is_reported_and_the_next_line_still_imports(
    tmp_path: Path, raw: bytes, reason: str
) -> None:
    path = tmp_path / "in.jsonl"
    good = b'{"external_id": "after", "title": "Fine", "started_at": "2025-01-01"}'
    path.write_bytes(raw + b"\n" + good + b"\n")
    out, err, code = run_import(path)
    assert code == 1 and reason in err, err
    assert "1 created" in out and Incident.objects.filter(external_id="after").exists()


def test_a_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"title": "With a BOM", "started_at": "2025-01-01"}\r\n')
    out, err, code = run_import(path)
    assert code == 0, err
    assert Incident.objects.get().title == "With a BOM"


def test_the_bulk_path_evaluates_recurrence_for_what_it_creates(
    tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    fix = {
        "external_id": "first", "title": "Pool exhausted", "started_at": "2025-01-01",
        "categories": ["Proxy > Pools"],
        "remediations": [{"title": "HTTP/2", "kind": "prevent", "status": "done",
                          "opened_at": "2025-01-02", "done_at": "2025-01-10",
                          "category": "Proxy > Pools"}],
    }  # fmt: skip
    again = {"external_id": "again", "title": "Pool exhausted again", "started_at": "2025-02-01",
             "categories": ["Proxy > Pools"]}  # fmt: skip
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(fix) + "\n" + json.dumps(again) + "\n", encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=True):
        run_import(path)
    incident = Incident.objects.get(external_id="again")
    assert incident.flags.count() == 1


line_values = st.one_of(
    st.binary(max_size=60),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.fixed_dictionaries(
        {"title": st.text(max_size=30), "started_at": st.sampled_from(
            ["2025-01-01", "9999-12-31T23:59:59-14:00", "0000-01-01", "2025-01-01T00:00:00+14:00", 3])},
        optional={
            "external_id": st.sampled_from(["a", "b", "", None]),
            "causes": st.lists(st.dictionaries(st.sampled_from(["kind", "description", "category"]),
                                               st.text(max_size=10)), max_size=2),
            "remediations": st.lists(st.dictionaries(
                st.sampled_from(["title", "status", "done_at", "due_date", "opened_at"]),
                st.sampled_from(["x", "done", "open", "2025-01-02", "0000-01-01", "", None])), max_size=2),
        },
    ).map(lambda r: json.dumps(r).encode()),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(line_values, min_size=1, max_size=8))
def test_the_importer_accounts_for_every_line_whatever_it_holds(
    tmp_path: Path, lines: list[bytes]
) -> None:
    lines = [line.replace(b"\n", b" ") for line in lines]
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    out, err, _ = run_import(path)  # any exception but CommandError fails the test
    counts = re.search(r"(\d+) created, (\d+) updated, (\d+) unchanged, (\d+) failed", out)
    assert counts, out
    blank = re.search(r"(\d+) blank lines skipped", out)
    total = sum(int(n) for n in counts.groups()) + (int(blank.group(1)) if blank else 0)
    assert total == len(lines)
    assert len(re.findall(r"^line \d+: (?!warning)", err, re.M)) == int(counts.group(4))
