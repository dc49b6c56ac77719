"""Every way in accepts and refuses the same incident records, with the same messages, and
every accepted record shows on every page that shows it (issue 10, item 2).

Hypothesis builds records from values near each rule's edge; each record goes through the
import (a JSON line), the API (a POST) and, where a browser could type it, the edit form.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.validation import sentence
from incidents.actions import get_or_create_category
from incidents.models import Incident
from reports.interchange import InvalidRecord, apply_record, decode_line, parse_record

pytestmark = pytest.mark.django_db

TIMES = [
    "2025-03-02T14:05:00Z", "2025-03-02T16:00:00+02:00", "2025-03-02", "1970-01-01T00:00:00Z",
    "2100-01-01T00:00:00Z", "2100-01-01T00:00:01Z", "1969-12-31T23:59:59Z",
    "9999-12-31T23:59:59-14:00", "0000-01-01", "0001-01-01T00:00:00+14:00", "yesterday", "",
]  # fmt: skip
TEXTS = ["", "ok", "x" * 201, "two\nlines", "nul\x00", "sep \u2028 and \x85", "  padded  "]
PATHS = ["Network > DNS", "Storage", "Network>DNS ", "a" * 101]
SERVICES = ["etcd", "EBS", "ebs", "x" * 101]


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


records = st.fixed_dictionaries(
    {
        "title": st.sampled_from(TEXTS),
        "started_at": st.sampled_from(TIMES),
    },
    optional={
        "summary": st.sampled_from(TEXTS),
        "severity": st.sampled_from(["SEV1", "SEV4", "SEV9", ""]),
        "status": st.sampled_from(["investigating", "reviewed", "closed"]),
        "detected_at": maybe(st.sampled_from(TIMES)),
        "resolved_at": maybe(st.sampled_from(TIMES)),
        "body": st.sampled_from(["## Impact\n\n<script>alert(1)</script> after", "", "- " * 300]),
        "categories": st.lists(st.sampled_from(PATHS), max_size=2),
        "services": st.lists(st.sampled_from(SERVICES), max_size=2),
        "causes": st.lists(
            st.fixed_dictionaries(
                {"description": st.sampled_from(TEXTS)},
                optional={"kind": st.sampled_from(["trigger", "gremlins"])},
            ),
            max_size=2,
        ),
        "timeline": st.lists(
            st.fixed_dictionaries({"at": st.sampled_from(TIMES), "text": st.sampled_from(TEXTS)}),
            max_size=2,
        ),
    },
)


def line_messages(reason: str) -> set[tuple[str, str]]:
    """An import report's reasons as (path, sentence) pairs."""
    found = set()
    for part in reason.split(" | "):
        path, _, message = part.partition(" ")
        found.add((path.rstrip(":"), sentence(message)))
    return found


def api_messages(errors: Any, path: str = "") -> set[tuple[str, str]]:
    """DRF's nested errors as (path, sentence) pairs, paths written like the import's."""
    found: set[tuple[str, str]] = set()
    if isinstance(errors, dict):
        for key, value in errors.items():
            found |= api_messages(value, f"{path}.{key}" if path else key)
    elif isinstance(errors, list):
        for n, value in enumerate(errors):
            if isinstance(value, str):
                found.add((path, value))
            elif value:
                found |= api_messages(value, f"{path}[{n + 1}]")  # an item's messages
    return found


def form_post(record: dict[str, Any]) -> dict[str, Any] | None:
    """The edit form's submission for a record, or None when no browser could type it."""
    data: dict[str, Any] = {"title": record["title"], "summary": record.get("summary") or ""}
    data["severity"] = record.get("severity") or "SEV3"
    data["status"] = record.get("status") or "resolved"
    data["body"] = record.get("body") or ""
    for name in ("started_at", "detected_at", "resolved_at"):
        value = record.get(name) or ""
        if value and not re.fullmatch(r"(19[7-9]\d|20\d\d|2100)-\d\d-\d\dT\d\d:\d\d:\d\dZ", value):
            return None  # offsets, bare dates, other years: a datetime-local input can't say it
        data[name] = value.rstrip("Z")
    if data["severity"] not in ("SEV1", "SEV2", "SEV3", "SEV4"):
        return None
    if data["status"] not in ("investigating", "resolved", "reviewed"):
        return None
    texts = [data["title"], *record.get("services", [])]
    if any("\n" in t or "\x00" in t or "," in t for t in texts):
        return None  # a one-line input holds neither; commas separate services
    categories = record.get("categories", [])
    if any(len(p) > 100 or ">" in p and " > " not in p for p in categories):
        return None
    data["categories"] = [str(get_or_create_category(p).pk) for p in categories]
    if len(data["categories"]) != len(categories):
        return None
    data["services_text"] = ", ".join(record.get("services", []))
    causes, timeline = record.get("causes", []), record.get("timeline", [])
    if any(c.get("kind", "root_cause") not in ("trigger", "root_cause") for c in causes):
        return None
    if any(not c["description"].strip() for c in causes):
        return None  # a blank row is an unused row in a form
    data.update({"causes-TOTAL_FORMS": len(causes), "causes-INITIAL_FORMS": 0})
    for n, cause in enumerate(causes):
        data[f"causes-{n}-kind"] = cause.get("kind", "root_cause")
        data[f"causes-{n}-description"] = cause["description"]
    if any(not re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", t["at"]) or "\n" in t["text"]
           or "\x00" in t["text"] or not t["text"] for t in timeline):  # fmt: skip
        return None
    data.update({"timeline-TOTAL_FORMS": len(timeline), "timeline-INITIAL_FORMS": 0})
    for n, entry in enumerate(timeline):
        data[f"timeline-{n}-at"] = entry["at"].rstrip("Z")
        data[f"timeline-{n}-text"] = entry["text"]
    data.update({"remediations-TOTAL_FORMS": 0, "remediations-INITIAL_FORMS": 0})
    return data


def shows_on_every_page(client: Client, incident: Incident) -> None:
    for url in (
        incident.get_absolute_url(), reverse("incident_edit", args=[incident.pk]),
        reverse("incident_history", args=[incident.pk]), reverse("incident_list"),
        f"/api/incidents/{incident.pk}/", reverse("search") + "?q=ok",
        reverse("review_this_week"),
    ):  # fmt: skip
        assert client.get(url).status_code == 200, url
    out = io.StringIO()
    call_command("export_incidents", stdout=out)
    assert len(out.getvalue().split("\n")) == Incident.objects.count() + 1


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(record=records)
def test_every_way_in_accepts_and_refuses_the_same_records(
    alice_client: Client, record: dict[str, Any]
) -> None:
    try:
        parsed = parse_record(decode_line(json.dumps(record).encode()))
        import_refusal = None
    except InvalidRecord as refused:
        import_refusal = line_messages(str(refused))

    response = alice_client.post("/api/incidents/", record, content_type="application/json")
    if import_refusal is None:
        assert response.status_code == 201, response.json()
        shows_on_every_page(alice_client, Incident.objects.get(pk=response.json()["id"]))
        apply_record(parsed)  # the import stores it too
    else:
        assert response.status_code == 400
        assert api_messages(response.json()) == import_refusal

    data = form_post(record)
    if data is None:
        return
    page = alice_client.post(reverse("incident_create"), data)
    if import_refusal is None:
        assert page.status_code == 302, page.content.decode()[:3000]
    else:
        assert page.status_code == 400
        html = page.content.decode()
        for _, message in import_refusal:
            assert message.replace("'", "&#x27;") in html or message in html, message
