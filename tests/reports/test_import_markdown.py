"""import_markdown and /incidents/<id>.md (PRODUCT.md, "Writing, duplicates and importing
Markdown"): postmortems in the shapes of common templates, written for these tests."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.models import Incident, Visibility
from remediations.models import Remediation
from reports.interchange import InvalidRecord, export_record, for_export, parse_record
from reports.markdown_export import write_postmortem
from reports.markdown_files import read_postmortem
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent.parent / "fixtures" / "markdown_postmortems"


def import_markdown(*paths: Path | str) -> tuple[str, str, int]:
    """`import_markdown PATH…`: (standard output, standard error, exit code)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_markdown", *map(str, paths), stdout=out, stderr=err)
        code = 0
    except CommandError as error:
        err.write(str(error))
        code = 1
    return out.getvalue(), err.getvalue(), code


def stored(title: str) -> dict[str, Any]:
    incident = for_export(Incident.objects.filter(title=title)).get()
    return export_record(incident)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "postmortems"
    shutil.copytree(FIXTURES, target)
    return target


def test_a_google_sre_postmortem_maps_summary_causes_timeline_and_action_items(
    folder: Path,
) -> None:
    UserFactory(username="alice")
    out, err, code = import_markdown(folder / "google_sre.md")
    assert code == 0, err
    record = stored("Search results empty after index shard rebalance")
    assert record["started_at"] == "2024-02-14T00:00:00Z"
    assert (record["severity"], record["status"]) == ("SEV2", "reviewed")
    assert record["services"] == ["indexer", "search-api"]
    assert record["categories"] == ["Search > Index"]
    assert record["summary"].startswith("For 47 minutes about a third of search queries")
    assert [(c["kind"], c["description"][:25]) for c in record["causes"]] == [
        ("root_cause", "The rebalancer treated a "),
        ("trigger", "A routine node replacemen"),
    ]
    assert [(t["at"], t["text"]) for t in record["timeline"]] == [
        ("2024-02-14T09:58:00Z", "Node replacement starts; rebalance begins"),
        ("2024-02-14T10:03:00Z", "Empty-results alert pages on-call"),
        ("2024-02-14T10:20:00Z", "Rebalance paused"),
        ("2024-02-14T10:45:00Z", "Shards back on warm nodes, results normal"),
    ]
    actions = [
        (r["title"], r["kind"], r["owner"], r["tracker_url"]) for r in record["remediations"]
    ]
    assert actions == [
        ("Make readiness wait for shard load", "prevent", "alice",
         "https://tracker.example/SRCH-101"),
        ("Alert on shards served by unready nodes", "detect", None,  # bob is no user here
         "https://tracker.example/SRCH-102"),
        ("Document how to pause a rebalance", "process", None, ""),
    ]  # fmt: skip
    assert record["remediations"][2]["description"] == "Tracker: SRCH-103"
    # What has no structured field stays in the report, in order, with its headings.
    body = record["body"]
    for heading in ("## Impact", "## Resolution", "## Detection", "## Lessons Learned",
                    "### Where we got lucky", "## Supporting information"):  # fmt: skip
        assert heading in body
    for mapped in ("## Summary", "## Root Causes", "## Trigger", "## Timeline", "## Action Items"):
        assert mapped not in body
    assert "# Search results empty" not in body  # the title heading is the title
    assert "front matter key 'authors' is not used" in err
    assert "Nobody is called “bob” in Once: the remediation" in err and "left unassigned" in err


def test_a_pagerduty_postmortem_maps_its_table_timeline_and_task_list(folder: Path) -> None:
    out, err, code = import_markdown(folder / "pagerduty.md")
    assert code == 0, err
    record = stored("Checkout latency spike from connection pool exhaustion")
    assert (record["severity"], record["resolved_at"]) == ("SEV1", "2024-05-03T17:02:00Z")
    assert record["services"] == ["checkout", "payments-db"]
    assert record["summary"].startswith("Checkout requests slowed")  # from "Overview"
    assert [c["kind"] for c in record["causes"]] == ["contributing", "contributing"]
    assert [(t["at"], t["text"]) for t in record["timeline"]][0] == (
        "2024-05-03T16:10:00Z",
        "p99 latency alert fires",
    )
    assert len(record["timeline"]) == 4
    actions = [
        (r["title"], r["status"], r["due_date"], r["tracker_url"]) for r in record["remediations"]
    ]
    assert actions == [
        ("Add exponential backoff to checkout retries", "done", "2024-05-20", ""),
        ("Restore the previous pool size PAY-88", "open", None, "https://tracker.example/PAY-88"),
        ("Alert on pool saturation", "open", None, ""),
    ]
    assert "## Responders" in record["body"] and "### Internal" in record["body"]
    assert "## Contributing Factors" not in record["body"]


def test_an_atlassian_postmortem_uses_its_time_zone_and_external_id(folder: Path) -> None:
    out, err, code = import_markdown(folder / "atlassian.md")
    assert code == 0, err
    incident = Incident.objects.get(external_id="PIR-2023-017")
    record = export_record(for_export(Incident.objects.filter(pk=incident.pk)).get())
    # 08:30 in Berlin in November is 07:30 UTC; the timeline's times are on that day too.
    assert record["started_at"] == "2023-11-20T07:30:00Z"
    assert [t["at"] for t in record["timeline"]] == [
        "2023-11-20T07:30:00Z", "2023-11-20T07:52:00Z", "2023-11-20T08:05:00Z",
        "2023-11-20T08:40:00Z",
    ]  # fmt: skip
    assert (record["severity"], record["status"]) == ("SEV2", "reviewed")
    assert record["summary"].startswith("Between 08:30 and 09:40")  # "Incident summary"
    assert [c["kind"] for c in record["causes"]] == ["root_cause"]
    assert [(r["title"], r["status"], r["due_date"]) for r in record["remediations"]] == [
        ("Verify the served chain after every rotation", "done", "2023-12-15"),
        ("Alert on TLS handshake failure rate", "in_progress", "2024-01-10"),
    ]
    for kept in ("## Leadup", "## Fault", "## Five whys", "## Lessons learned"):
        assert kept in record["body"]


def test_hand_written_files_import_and_bad_ones_are_reported_and_skipped(folder: Path) -> None:
    out, err, code = import_markdown(folder / "handwritten")
    assert code == 1
    # No front matter: the title from the first heading, the start from the file name.
    runner = stored("Build runner disk full")
    assert runner["started_at"] == "2022-07-09T00:00:00Z"
    assert runner["body"].startswith("The shared build runner ran out of disk")
    assert "- 07:10 jobs start failing" in runner["body"]  # no Timeline heading: report text
    stampede = stored("Cache stampede after deploy")
    assert [(r["title"], r["owner"]) for r in stampede["remediations"]] == [
        ("Remove FLUSHALL from the deploy script", None),
        ("Add request coalescing", None),
    ]
    assert "## What happened" in stampede["body"]
    assert "no-date.md: no start time" in err
    assert "bad-yaml.md: the front matter is not valid YAML" in err
    assert "Imported 4 Markdown file(s): 2 created, 0 updated, 0 unchanged, 2 failed." in out
    assert Incident.objects.count() == 2


def test_importing_again_changes_nothing_and_an_edited_file_updates_its_incident(
    folder: Path,
) -> None:
    assert import_markdown(folder)[2] == 1  # the two bad hand-written files
    count = Incident.objects.count()
    out, err, code = import_markdown(folder)
    assert f"0 created, 0 updated, {count} unchanged, 2 failed" in out
    path = folder / "pagerduty.md"
    path.write_text(path.read_text().replace("Sev 1", "SEV2"), encoding="utf-8")
    out, err, code = import_markdown(folder / "pagerduty.md")
    assert "0 created, 1 updated" in out
    incident = Incident.objects.get(title__startswith="Checkout latency")
    assert incident.severity == "SEV2"
    assert Incident.objects.count() == count


def test_a_missing_path_is_reported(tmp_path: Path) -> None:
    out, err, code = import_markdown(tmp_path / "nowhere")
    assert code == 1 and "nowhere: no such file or folder" in err


def test_a_file_the_validator_refuses_is_reported_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "---\ntitle: Bad times\nstarted_at: 2020-01-02\nresolved_at: 2020-01-01\n---\nx\n"
    )
    (tmp_path / "b.md").write_text("---\nstarted_at: 2020-01-02\nseverity: SEV9\n---\n# Good\n")
    out, err, code = import_markdown(tmp_path)
    assert code == 1
    assert "a.md: resolved_at" in err
    assert "b.md: severity" in err and "SEV9" in err
    assert not Incident.objects.exists()


ROUND_TRIP = {
    "external_id": None,
    "title": "etcd lost quorum | during EBS degradation",
    "summary": "Two paragraphs.\n\nThe second one, with **bold**.",
    "body": "Intro before any heading.\n\n## Summary\n\nAn old template's summary heading.\n\n"
    "## Impact\n\nWrites failed.\n\n```\n## not a heading\n```\n\n### Deep\n\nText.",
    "severity": "SEV2",
    "status": "resolved",
    "started_at": "2019-03-02T14:05:00Z",
    "detected_at": "2019-03-02T14:09:00Z",
    "resolved_at": "2019-03-02T16:40:00Z",
    "categories": ["Control plane > etcd", "Storage > EBS latency"],
    "services": ["EBS", "etcd"],
    "causes": [
        {"kind": "root_cause", "description": "No quorum alarms.\n\n- a list\n- inside",
         "category": "Control plane > etcd"},
        {"kind": "trigger", "description": "Trigger: EBS degraded", "category": None},
        {"kind": "contributing", "description": "Root cause: wording", "category": None},
    ],
    "timeline": [
        {"at": "2019-03-02T14:05:00Z", "text": "EBS latency rises"},
        {"at": "2019-03-02T14:09:30Z", "text": "Alert\n- 14:10 not an entry"},
        {"at": "2019-03-03T01:00:00Z", "text": "Next day"},
    ],
    "remediations": [
        {"title": "io2 volumes | faster", "description": "Line one\nline <br> two \\ ok",
         "kind": "mitigate", "status": "done", "owner": "alice", "due_date": "2019-04-01",
         "opened_at": "2019-03-03T09:00:00Z", "done_at": "2019-03-20T12:00:00Z",
         "category": "Control plane > etcd", "tracker_url": "https://tracker.example/OPS-1"},
        {"title": "Quorum alarm", "description": "", "kind": "detect", "status": "open",
         "owner": None, "due_date": None, "opened_at": "2019-03-02T16:40:00Z",
         "done_at": None, "category": None, "tracker_url": ""},
    ],
    "source_url": "https://wiki.example/pm/14",
    "visibility": "everyone",
    "access_groups": [],
}  # fmt: skip


def test_an_incident_downloaded_as_markdown_imports_back_the_same(
    tmp_path: Path, alice: User, alice_client: Client
) -> None:
    jsonl = tmp_path / "one.jsonl"
    jsonl.write_text(json.dumps(ROUND_TRIP) + "\n", encoding="utf-8")
    call_command("import_incidents", str(jsonl), stdout=io.StringIO())
    incident = Incident.objects.get()
    before = export_record(for_export(Incident.objects.filter(pk=incident.pk)).get())
    assert before == ROUND_TRIP  # the record really holds all of the above

    response = alice_client.get(f"/incidents/{incident.pk}.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert f'filename="INC-{incident.pk}.md"' in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("---\ntitle: ")
    assert "## Timeline\n\n- 2019-03-02 14:05 UTC — EBS latency rises" in text

    Remediation.objects.all().delete()
    Incident.objects.all().delete()
    path = tmp_path / f"INC-{incident.pk}.md"
    path.write_bytes(response.content)
    out, err, code = import_markdown(path)
    assert code == 0, err
    after = export_record(for_export(Incident.objects.all()).get())
    assert after.pop("external_id").startswith("md:")
    before.pop("external_id")
    assert after == before


def test_a_restricted_incident_downloads_only_for_those_who_see_it(
    alice: User, alice_client: Client, charlie_client: Client
) -> None:
    group = Group.objects.create(name="Security")
    incident = IncidentFactory(
        title="Leaked key", author=alice, visibility=Visibility.RESTRICTED, access_groups=[group]
    )
    assert alice_client.get(f"/incidents/{incident.pk}.md").status_code == 200
    response = charlie_client.get(f"/incidents/{incident.pk}.md")
    assert response.status_code == 404
    assert b"Leaked key" not in response.content
    assert charlie_client.get("/incidents/999999.md").status_code == 404


def test_the_markdown_download_needs_a_login(client: Client) -> None:
    incident = IncidentFactory(title="Disk full")
    response = client.get(f"/incidents/{incident.pk}.md")
    assert response.status_code == 302


def test_times_without_a_date_move_to_the_next_day_after_midnight(tmp_path: Path) -> None:
    (tmp_path / "late.md").write_text(
        "---\ntitle: Late\nstarted_at: 2020-05-01T23:40:00Z\n---\n\n## Timeline\n\n"
        "- 23:40 starts\n- 23:55 worse\n- 00:20 fixed\n\nSome prose that is not an entry.\n",
        encoding="utf-8",
    )
    assert import_markdown(tmp_path)[2] == 0
    record = stored("Late")
    assert [t["at"] for t in record["timeline"]] == [
        "2020-05-01T23:40:00Z", "2020-05-01T23:55:00Z", "2020-05-02T00:20:00Z",
    ]  # fmt: skip
    assert record["body"] == "## Timeline\n\nSome prose that is not an entry."


@settings(max_examples=200, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(
            ["#", "-", "|", "*", "_", "`", ":", "[", "]", "(", ")", "x", "1", " ", "\n", "\t",
             "\r", "\u2028", "14:05", "---\n", "## Timeline\n", "## Action items\n",
             "- [x] ", "| a | b |\n|---|---|\n", "## Causes\n"]
        ),
        max_size=80,
    ).map("".join)
)  # fmt: skip
def test_any_text_reads_as_a_record_or_a_reason(text: str) -> None:
    try:
        record, warnings = read_postmortem(text, name="2020-01-01.md", key="md:x")
    except InvalidRecord:
        return
    assert record["external_id"] == "md:x" and isinstance(record["body"], str)


def test_the_incident_page_offers_the_markdown_download(alice_client: Client) -> None:
    incident = IncidentFactory(title="Disk full")
    page = alice_client.get(f"/incidents/{incident.pk}/").content.decode()
    assert f'href="/incidents/{incident.pk}.md" download' in page


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_a_counter_of_files(folder: Path) -> None:
    err = _Terminal()
    call_command("import_markdown", str(folder / "google_sre.md"), str(folder / "atlassian.md"),
                 stdout=io.StringIO(), stderr=err)  # fmt: skip
    assert "\r1/2 files" in err.getvalue() and "\r2/2 files" in err.getvalue()


LINE = (
    st.lists(
        st.sampled_from(list("ab |\\<>#-*_:[]()~`\t") + ["<br>", "14:05", "http://x.example"]),
        max_size=12,
    )
    .map("".join)
    .map(str.strip)
)
TEXT = st.lists(
    st.one_of(LINE, st.sampled_from(["", "## Summary", "## Timeline", "- 14:05 x", "1. y",
                                     "Trigger: z", "Failure mode: A > B", "  indented", "---"])),
    max_size=6,
).map(lambda lines: "\n".join(lines).strip())  # fmt: skip
TITLE = LINE.filter(lambda t: t.strip() and t != "_None._")


def _written(data: st.DataObject) -> dict[str, Any]:
    """An exported record (export_record's shape) with awkward text in every field."""
    draw = data.draw
    causes = [
        {"kind": draw(st.sampled_from(["trigger", "root_cause", "contributing"])),
         "description": draw(TEXT.filter(bool)),
         "category": draw(st.sampled_from([None, "Storage > EBS"]))}
        for _ in range(draw(st.integers(0, 3)))
    ]  # fmt: skip
    timeline = [
        {"at": f"2019-03-0{n + 2}T1{n}:0{n}:{n}0Z", "text": draw(TEXT.filter(bool))}
        for n in range(draw(st.integers(0, 3)))
    ]
    titles = draw(st.lists(TITLE, max_size=3, unique=True))
    remediations = [
        {"title": title, "description": draw(TEXT), "kind": "detect", "status": "open",
         "owner": None, "due_date": draw(st.sampled_from([None, "2019-04-01"])),
         "opened_at": "2019-03-02T16:40:00Z", "done_at": None,
         "category": None, "tracker_url": draw(st.sampled_from(["", "https://t.example/1"]))}
        for title in titles
    ]  # fmt: skip
    return {
        # (A heading inside the summary would end its section: summaries are kept without.)
        "external_id": "pm-1", "title": draw(TITLE),
        "summary": draw(TEXT.filter(lambda t: not re.search(r"^#", t, re.M))),
        "body": draw(TEXT), "severity": "SEV2", "status": "resolved",
        "started_at": "2019-03-02T14:05:00Z", "detected_at": None, "resolved_at": None,
        "categories": [], "services": [], "causes": causes, "timeline": timeline,
        "remediations": remediations, "source_url": "", "visibility": "everyone",
        "access_groups": [],
    }  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_what_is_written_reads_back_the_same(data: st.DataObject) -> None:
    record = _written(data)
    raw, _ = read_postmortem(write_postmortem(record), name="x.md", key="md:x")
    read = parse_record(raw)
    for name in ("external_id", "title", "summary", "body", "severity", "status"):
        assert read[name] == record[name], name
    assert [(c["kind"], c["description"], c["category"]) for c in read["causes"]] == [
        (c["kind"], c["description"], c["category"]) for c in record["causes"]
    ]
    assert [(t["at"].strftime("%Y-%m-%dT%H:%M:%SZ"), t["text"]) for t in read["timeline"]] == [
        (t["at"], t["text"]) for t in record["timeline"]
    ]
    assert [
        (r["title"], r["description"], r["due_date"] and r["due_date"].isoformat(),
         r["tracker_url"] or "")
        for r in read["remediations"]
    ] == [
        (r["title"], r["description"], r["due_date"], r["tracker_url"])
        for r in record["remediations"]
    ]  # fmt: skip


def _plain_record() -> dict[str, Any]:
    """An exported record (export_record's shape) with one of each part."""
    return {
        "external_id": "pm-1", "title": "Leases expired", "summary": "Leases expired.",
        "body": "## Impact\n\nJobs stalled.", "severity": "SEV2", "status": "resolved",
        "started_at": "2019-03-02T14:05:00Z", "detected_at": None, "resolved_at": None,
        "categories": [], "services": [],
        "causes": [{"kind": "trigger", "description": "Clock skew", "category": None}],
        "timeline": [{"at": "2019-03-02T14:05:00Z", "text": "Leases expire"},
                     {"at": "2019-03-02T14:30:00Z", "text": "NTP fixed"}],
        "remediations": [{"title": "Alert on skew", "description": "", "kind": "detect",
                          "status": "open", "owner": None, "due_date": None,
                          "opened_at": "2019-03-02T16:40:00Z", "done_at": None,
                          "category": None, "tracker_url": ""}],
        "source_url": "", "visibility": "everyone", "access_groups": [],
    }  # fmt: skip


@pytest.mark.parametrize("where", ["body", "summary", "timeline", "cause", "remediation"])
def test_a_code_block_left_open_does_not_swallow_the_sections_after_it(where: str) -> None:
    # A report (or a summary, a timeline entry, a cause) that opens a ``` block and never
    # closes it: read back, the block ran to the end of the file, so the Timeline, Causes and
    # Action items after it were read as report text, and re-importing the download lost them.
    record = _plain_record()
    opened = "See the log:\n\n```\nE0301 lease expired"
    if where == "body":
        record["body"] = "## Impact\n\n" + opened
    elif where == "summary":
        record["summary"] = opened.replace("```", "~~~")
    elif where == "timeline":
        record["timeline"][0]["text"] = opened
    elif where == "cause":
        record["causes"][0]["description"] = opened
    else:
        record["remediations"][0]["description"] = opened
    raw, _ = read_postmortem(write_postmortem(record), name="x.md", key="md:x")
    read = parse_record(raw)
    for name in ("summary", "body"):
        assert read[name] == record[name], name
    assert [t["text"] for t in read["timeline"]] == [t["text"] for t in record["timeline"]]
    assert [c["description"] for c in read["causes"]] == [
        c["description"] for c in record["causes"]
    ]
    assert [r["description"] for r in read["remediations"]] == [
        r["description"] for r in record["remediations"]
    ]
