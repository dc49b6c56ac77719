"""A refused, stale edit of a remediation: merged three ways, so saving loses nobody's work.

Like an incident's (incidents/conflicts.py): what this editor changed since the version they
started from is kept as typed; everything they left alone takes the newer value.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.http import QueryDict

from incidents.models import FailureCategory
from remediations.actions import remediation_record_of
from remediations.models import Remediation
from remediations.records import REMEDIATION_FIELDS


def _base_record(current: Remediation, version: int) -> dict[str, Any] | None:
    row = current.history.filter(version=version).order_by("-history_id").first()
    if row is None:
        return None
    owner = get_user_model().objects.filter(pk=row.owner_id).first() if row.owner_id else None
    category = FailureCategory.objects.filter(pk=row.category_id).first()
    return {
        **{name: getattr(row, name) for name in (
            "title", "description", "kind", "status", "due_date", "opened_at", "done_at",
            "tracker_url",
        )},
        "owner": owner.get_username() if owner else None,
        "category": category.path if category else None,
    }  # fmt: skip


def merge_remediation_edit(
    current: Remediation, base_version: int, mine: dict[str, Any]
) -> dict[str, Any]:
    """The record the conflict page's form holds: this editor's changes over the current one."""
    base = _base_record(current, base_version)
    if base is None:
        return mine
    theirs = remediation_record_of(current)
    return {key: theirs[key] if mine[key] == base[key] else mine[key] for key in REMEDIATION_FIELDS}


def form_data(record: dict[str, Any], *, version: int) -> QueryDict:
    """A remediation record as the edit form would submit it."""
    data = QueryDict(mutable=True)
    data["version"] = str(version)
    for name in ("title", "description", "kind", "status", "tracker_url"):
        data[name] = record[name] or ""
    data["due_date"] = record["due_date"].isoformat() if record["due_date"] else ""
    for name in ("opened_at", "done_at"):
        moment = record[name]
        data[name] = moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S") if moment else ""
    owner = (
        get_user_model().objects.filter(username=record["owner"]).first()
        if record["owner"]
        else None
    )
    data["owner"] = str(owner.pk) if owner else ""
    category = (
        FailureCategory.objects.filter(path=record["category"]).first()
        if record["category"]
        else None
    )
    data["category"] = str(category.pk) if category else ""
    return data
