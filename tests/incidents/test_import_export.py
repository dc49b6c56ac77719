"""import_incidents / export_incidents in the interchange format of PRODUCT.md."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incidents.demo import demo_records
from incidents.models import Incident
from remediations.models import Remediation
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
    assert "line 4: started_at 'yesterday-ish' is not a date" in err
    assert "line 5: severity 'SEV9' is not one of SEV1, SEV2, SEV3, SEV4" in err
    assert "line 6: causes[1].kind 'gremlin' is not one of" in err
    assert "line 7: resolved_at: An incident can't be resolved before it started." in err
    assert "owner 'nobody-here'" in err and "left unassigned" in err
    assert "2 created, 0 updated, 6 failed" in out
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
    assert code == 0 and "0 created, 1 updated, 0 failed" in out
    assert Incident.objects.get().title == "etcd lost quorum (updated)"
    assert Remediation.objects.count() == 1


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
