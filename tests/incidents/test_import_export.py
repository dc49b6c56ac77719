"""import_incidents / export_incidents in the interchange format of PRODUCT.md."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incidents.models import FailureCategory, Incident
from remediations.models import Remediation
from reports.demo import demo_records
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOD = {
    "external_id": "pm-2019-014",
    "title": "etcd lost quorum during EBS volume degradation",
    "started_at": "2019-03-02T14:05:00Z",
    "categories": ["Control plane > etcd", "Storage > EBS latency"],
    "services": ["etcd", "EBS"],
    "causes": [{"kind": "trigger", "description": "EBS degraded", "category": "Storage > EBS latency"}],  # noqa: E501
    "remediations": [{"title": "io2 volumes", "status": "done", "owner": "nobody-here",
                      "opened_at": "2019-03-03T09:00:00Z", "done_at": "2019-03-20T12:00:00Z",
                      "category": "Control plane > etcd"}],
}  # fmt: skip


def run_import(tmp_path: Path, lines: list[str]) -> tuple[str, str, int]:
    path = tmp_path / "incidents.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return import_file(path)


def import_file(path: Path) -> tuple[str, str, int]:
    """`import_incidents PATH`: (standard output, standard error, exit code)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_incidents", str(path), stdout=out, stderr=err)
        code = 0
    except CommandError as error:
        err.write(str(error))
        code = 1
    return out.getvalue(), err.getvalue(), code


def test_bad_lines_are_named_with_reasons_and_good_ones_imported(tmp_path: Path) -> None:
    lines = [
        json.dumps(GOOD),
        "{not json",
        json.dumps({"started_at": "2019-01-01"}),
        json.dumps({"title": "x", "started_at": "yesterday-ish"}),
        json.dumps({"title": "x", "started_at": "2019-01-01", "severity": "SEV9"}),
        json.dumps({"title": "x", "started_at": "2019-01-01", "causes": [{"kind": "gremlin", "description": "d"}]}),  # noqa: E501
        json.dumps({"title": "x", "started_at": "2019-01-02", "resolved_at": "2019-01-01"}),
        json.dumps({"external_id": "ok-2", "title": "Fine", "started_at": "2019-05-01"}),
    ]  # fmt: skip
    out, err, code = run_import(tmp_path, lines)
    assert code == 1
    assert "line 2: not JSON" in err
    assert "line 3: title is required" in err
    assert "line 4: started_at must be a date or date-time in ISO 8601, not 'yesterday-ish'" in err
    assert "line 5: severity must be one of SEV1, SEV2, SEV3, SEV4, not 'SEV9'" in err
    assert "line 6: causes[1].kind must be one of trigger, root_cause, contributing" in err
    assert "line 7: resolved_at: An incident can't be resolved before it started." in err
    assert "Nobody is called “nobody-here” in Once" in err and "left unassigned" in err
    assert "2 created, 0 updated, 0 unchanged, 6 failed" in out
    assert sorted(Incident.objects.values_list("title", flat=True)) == [
        "Fine", "etcd lost quorum during EBS volume degradation",
    ]  # fmt: skip
    incident = Incident.objects.get(external_id="pm-2019-014")
    assert incident.severity == "SEV3" and incident.status == "resolved"  # the defaults
    assert Remediation.objects.get().owner is None


def test_importing_twice_updates_instead_of_duplicating(tmp_path: Path) -> None:
    run_import(tmp_path, [json.dumps(GOOD)])
    changed = {**GOOD, "title": "etcd lost quorum (updated)"}
    out, _, code = run_import(tmp_path, [json.dumps(changed)])
    assert code == 0 and "0 created, 1 updated, 0 unchanged, 0 failed" in out
    assert Incident.objects.get().title == "etcd lost quorum (updated)"
    assert Remediation.objects.count() == 1


def test_reimporting_an_unchanged_file_writes_nothing(tmp_path: Path) -> None:
    UserFactory(username="alice")
    UserFactory(username="carol")
    lines = [json.dumps(r) for r in demo_records()[:6]]
    run_import(tmp_path, lines)
    versions = Incident.history.count() + Remediation.history.count()
    out, _, code = run_import(tmp_path, lines)
    assert code == 0 and "0 created, 0 updated, 6 unchanged, 0 failed" in out
    assert Incident.history.count() + Remediation.history.count() == versions


def test_export_import_export_is_identical(tmp_path: Path) -> None:
    UserFactory(username="alice")
    UserFactory(username="carol")
    records = demo_records()[:8]
    run_import(tmp_path, [json.dumps(r) for r in records])
    first = io.StringIO()
    call_command("export_incidents", stdout=first)
    Incident.objects.all().delete()
    Remediation.objects.all().delete()
    out, err, code = run_import(tmp_path, first.getvalue().splitlines())
    assert code == 0, err
    second = io.StringIO()
    call_command("export_incidents", stdout=second)
    assert second.getvalue() == first.getvalue()
    assert len(first.getvalue().splitlines()) == 8


def _typical(n: int) -> dict[str, object]:
    return {
        "external_id": f"bulk-{n}", "title": f"Incident {n}", "started_at": f"2020-01-{n % 28 + 1:02d}",
        "categories": [f"Area {n % 3} > Mode {n % 5}"], "services": [f"svc-{n % 4}", f"SVC-{n % 4}"],
        "causes": [{"kind": "trigger", "description": "d", "category": f"Area {n % 3}"}],
        "timeline": [{"at": f"2020-01-{n % 28 + 1:02d}T10:00:00Z", "text": "t"}],
        "remediations": [{"title": "fix", "status": "done", "opened_at": "2020-02-01",
                          "done_at": "2020-02-02", "category": f"Area {n % 3}"}],
    }  # fmt: skip


def test_a_bulk_import_keeps_every_row_and_its_history(tmp_path: Path) -> None:
    lines = [json.dumps(_typical(n)) for n in range(1200)]  # more than two batches
    out, err, code = run_import(tmp_path, lines)
    assert code == 0, err
    assert "1200 created" in out
    assert Incident.objects.count() == 1200 == Incident.history.count()
    assert Remediation.objects.count() == 1200 == Remediation.history.count()
    incident = Incident.objects.get(external_id="bulk-7")
    assert [c.path for c in incident.categories.all()] == ["Area 1 > Mode 2"]
    assert [s.name for s in incident.services.all()] == ["svc-3"]  # one service, any case
    assert incident.causes.get().category.path == "Area 1"
    assert incident.remediations.get().category.path == "Area 1"
    assert incident.timeline.count() == 1


def test_a_batch_the_database_refuses_is_retried_line_by_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import IntegrityError

    from reports.importer import BatchImporter

    def refuse(self: BatchImporter, batch: Any) -> None:
        get_or_create_category = self.resolver.category
        get_or_create_category("Created then rolled back")
        raise IntegrityError("simulated")

    monkeypatch.setattr(BatchImporter, "_create_all", refuse)
    out, err, code = run_import(tmp_path, [json.dumps(_typical(n)) for n in range(3)])
    assert code == 0, err
    assert "3 created" in out
    assert Incident.objects.count() == 3
    assert not FailureCategory.objects.filter(path="Created then rolled back").exists()


def test_a_category_name_that_is_too_long_is_named(tmp_path: Path) -> None:
    record = {"title": "x", "started_at": "2020-01-01", "categories": ["A > " + "b" * 101]}
    _, err, code = run_import(tmp_path, [json.dumps(record)])
    assert code == 1 and "line 1: categories[1]" in err and "at most 100 characters" in err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_a_progress_bar_and_the_summary(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(json.dumps(_typical(n)) for n in range(120)) + "\n")
    out = Terminal()
    call_command("import_incidents", str(path), stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "[" + "#" * 30 + "] 120/120" in text
    assert "50/120" in text  # it moved along the way
    assert text.rstrip().endswith("120 created, 0 updated, 0 unchanged, 0 failed.")
