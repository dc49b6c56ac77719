"""The importer is a way in like the others (PRODUCT.md, "One set of rules for every way in"):
who may see an incident changes there only when the line says so, and such a change is audited
("`/audit/` lists … changes of roles or visibility")."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from common.models import AuditAction, AuditEvent
from incidents.models import Incident

pytestmark = pytest.mark.django_db


def _import(tmp_path: Path, *lines: dict[str, Any]) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    call_command("import_incidents", str(path), stdout=io.StringIO())


RESTRICTED = {
    "external_id": "pm-1",
    "title": "Keys in the build log",
    "started_at": "2026-11-01",
    "visibility": "restricted",
    "access_groups": ["Security"],
}


def test_importing_a_restricted_incident_is_in_the_audit_log(
    tmp_path: Path, security: Group
) -> None:
    _import(tmp_path, RESTRICTED)
    assert AuditEvent.objects.filter(action=AuditAction.VISIBILITY_CHANGE).exists()


def test_reimporting_a_line_without_visibility_keeps_the_incident_restricted(
    tmp_path: Path, security: Group, charlie: User
) -> None:
    # A file from before issue 13 (or from another tool) knows nothing of visibility.
    _import(tmp_path, RESTRICTED)
    old_line = {k: v for k, v in RESTRICTED.items() if k not in ("visibility", "access_groups")}
    _import(tmp_path, {**old_line, "summary": "More detail."})
    assert not Incident.objects.visible_to(charlie).filter(external_id="pm-1").exists()
