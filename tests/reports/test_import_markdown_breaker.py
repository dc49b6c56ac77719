"""Issue 15's Markdown import and export, and the form's time of day, as a tester found them
(breaker15; PRODUCT.md, "Writing, duplicates and importing Markdown"): each test is a failure
a person noticed, fixed."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from incidents.models import Incident
from tests.factories import IncidentFactory
from tests.incidents.test_incident_form import incident_post

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


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


def test_a_time_of_day_past_midnight_in_the_form_lands_on_the_next_day(
    alice_client: Client,
) -> None:
    # The Markdown importer moves "00:10" after "23:55" to the next day; the form puts it
    # 23 h 40 min before the incident started.
    data = incident_post(
        started_at="2026-03-02T23:50", detected_at="", resolved_at="",
        **{"timeline-TOTAL_FORMS": "2",
           "timeline-0-at": "23:55", "timeline-0-text": "Alert fires",
           "timeline-1-at": "00:10", "timeline-1-text": "Rolled back"},
    )  # fmt: skip
    assert alice_client.post(reverse("incident_create"), data).status_code == 302
    incident = Incident.objects.get()
    times = {entry.text: entry.at for entry in incident.timeline.all()}
    assert times["Rolled back"] == datetime.datetime(2026, 3, 3, 0, 10, tzinfo=UTC)


def test_a_downloaded_incident_imported_back_updates_it_instead_of_making_a_copy(
    alice_client: Client, tmp_path: Path
) -> None:
    # An incident written on the page has no external_id: its download carries nothing
    # that names it, so importing the (edited) file back makes a second incident.
    incident = IncidentFactory(title="Disk full on db-3")
    text = alice_client.get(f"/incidents/{incident.pk}.md").content.decode()
    path = tmp_path / f"INC-{incident.pk}.md"
    path.write_text(text.replace("Disk full on db-3", "Disk full on db-3 (edited)"))
    out, err, code = import_markdown(path)
    assert code == 0, err
    assert Incident.objects.count() == 1
    incident.refresh_from_db()
    assert incident.title == "Disk full on db-3 (edited)"


def _timeline_file(path: Path, rows: int, delimiter: str = "|---|---|") -> Path:
    lines = [f"| {n // 60 % 24}:{n % 60:02d} | event {n} |" for n in range(rows)]
    path.write_text(
        "---\ntitle: Long outage\nstarted_at: 2024-01-01\n---\n## Timeline\n\n"
        f"| Time | Event |\n{delimiter}\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )
    return path


def test_a_markdown_timeline_longer_than_the_limit_is_not_cut_silently(tmp_path: Path) -> None:
    # 600 rows: the file is counted "created" with only the first 500 entries; the other
    # 100 are gone (a warning scrolls by). Refuse the file, or keep the rest in the report.
    out, err, code = import_markdown(_timeline_file(tmp_path / "long.md", 600))
    incident = Incident.objects.filter(title="Long outage").first()
    if incident is not None:
        kept = {entry.text for entry in incident.timeline.all()}
        assert "event 599" in kept or "event 599" in incident.body
    else:
        assert code == 1


def test_a_timeline_table_with_one_dash_per_column_is_read_as_a_timeline(
    tmp_path: Path,
) -> None:
    # `|-|-|` is a valid GitHub table delimiter row; the table stays in the report as text.
    out, err, code = import_markdown(_timeline_file(tmp_path / "short.md", 3, "|-|-|"))
    assert code == 0, err
    incident = Incident.objects.get()
    assert incident.timeline.count() == 3
    assert "event 0" not in incident.body


def test_two_files_with_one_external_id_are_named_by_file_in_the_message(
    tmp_path: Path,
) -> None:
    for name, day in (("first.md", 1), ("second.md", 2)):
        (tmp_path / name).write_text(
            f"---\ntitle: Same {day}\nexternal_id: pm-7\nstarted_at: 2024-01-0{day}\n---\nx\n"
        )
    out, err, code = import_markdown(tmp_path)
    # Today: "external_id 'pm-7' is also on line 1; a file may hold each incident once
    # (this line was not imported)" — there are no lines here, only files.
    assert "line 1" not in err
    assert "first.md" in err.split("second.md", 1)[-1]


def test_importing_an_unchanged_download_back_adds_no_remediation(
    alice_client: Client, tmp_path: Path
) -> None:
    # The page and the API let an incident hold two remediations of one title (a fix done
    # once and needed again). Its download, imported back untouched, gains "Add alert (2)".
    created = alice_client.post(
        "/api/incidents/",
        {"title": "Disk full", "external_id": "pm-9", "started_at": "2025-01-01T10:00:00Z"},
        content_type="application/json",
    )
    pk = created.json()["id"]
    for status in ("open", "done"):
        response = alice_client.post(
            "/api/remediations/",
            {"incident": pk, "title": "Add alert", "kind": "prevent", "status": status},
            content_type="application/json",
        )
        assert response.status_code == 201
    path = tmp_path / f"INC-{pk}.md"
    path.write_bytes(alice_client.get(f"/incidents/{pk}.md").content)

    out, err, code = import_markdown(path)
    assert code == 0, err
    titles = sorted(Incident.objects.get(pk=pk).remediations.values_list("title", flat=True))
    assert titles == ["Add alert", "Add alert"]


def test_importing_the_same_folder_from_another_working_folder_makes_no_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Files without an external_id are keyed by their path relative to the current folder:
    # the same folder imported from its parent, then from inside it, is imported twice.
    folder = tmp_path / "postmortems"
    folder.mkdir()
    (folder / "2024-03-01-dns.md").write_text("# DNS outage\n\nResolvers timed out.\n")
    monkeypatch.chdir(tmp_path)
    assert import_markdown("postmortems")[2] == 0
    monkeypatch.chdir(folder)
    assert import_markdown(".")[2] == 0
    assert Incident.objects.count() == 1


def test_importing_an_unchanged_download_of_a_report_ending_in_a_newline_changes_nothing(
    alice_client: Client, tmp_path: Path
) -> None:
    # A report typed in the form usually ends with a line break (Enter after the last line);
    # its download imported back says "1 updated" and adds a version with nothing to see.
    created = alice_client.post(
        "/api/incidents/",
        {"title": "Slow API", "external_id": "pm-nl", "started_at": "2025-01-01T10:00:00Z",
         "body": "## Impact\n\nSlow.\n"},
        content_type="application/json",
    )  # fmt: skip
    pk = created.json()["id"]
    path = tmp_path / "slow-api.md"
    path.write_bytes(alice_client.get(f"/incidents/{pk}.md").content)

    out, err, code = import_markdown(path)
    assert code == 0, err
    assert "1 unchanged" in out
    assert Incident.objects.get(pk=pk).version == 1


@pytest.mark.parametrize(
    "timeline",
    [
        # Newest first, as status-page updates are written.
        "- 10:30 Resolved\n- 10:15 Monitoring\n- 10:00 Investigating",
        # One line two minutes out of order, added while writing it up.
        "- 10:05 Rollback started\n- 10:03 Alert noticed\n- 10:20 Recovered",
    ],
)
def test_a_markdown_timeline_a_little_out_of_order_stays_on_its_day(
    tmp_path: Path, timeline: str
) -> None:
    # A time earlier than the one above is taken as "past midnight": each such step moves it,
    # and every entry after it, a whole day later, without a warning.
    path = tmp_path / "status.md"
    path.write_text(
        "---\ntitle: Status page incident\nstarted_at: 2024-01-01T10:00:00Z\n---\n"
        f"## Timeline\n\n{timeline}\n"
    )
    out, err, code = import_markdown(path)
    assert code == 0, err
    days = {entry.at.date() for entry in Incident.objects.get().timeline.all()}
    assert days == {datetime.date(2024, 1, 1)}


def test_a_file_named_twice_on_the_command_line_is_imported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `import_markdown postmortems postmortems/*.md`, or a relative and an absolute path:
    # the file is read twice, the second copy "fails", and the run exits non-zero.
    folder = tmp_path / "postmortems"
    folder.mkdir()
    (folder / "dns.md").write_text("---\ntitle: DNS outage\nstarted_at: 2024-01-01\n---\nx\n")
    monkeypatch.chdir(tmp_path)
    out, err, code = import_markdown("postmortems", folder / "dns.md")
    assert code == 0, err
    assert "1 created" in out and "0 failed" in out


def test_a_time_of_day_long_before_the_start_stays_on_the_start_day(alice_client: Client) -> None:
    # Only a time just past midnight moves: "09:00" for a start at 10:00 is an hour before it.
    data = incident_post(
        started_at="2026-03-02T10:00", detected_at="", resolved_at="",
        **{"timeline-TOTAL_FORMS": "1", "timeline-0-at": "09:00", "timeline-0-text": "Deploy"},
    )  # fmt: skip
    assert alice_client.post(reverse("incident_create"), data).status_code == 302
    entry = Incident.objects.get().timeline.get()
    assert entry.at == datetime.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_markdown_timeline_past_midnight_still_moves_to_the_next_day(tmp_path: Path) -> None:
    path = tmp_path / "night.md"
    path.write_text(
        "---\ntitle: Night outage\nstarted_at: 2024-01-01T23:40:00Z\n---\n"
        "## Timeline\n\n- 23:50 Alert fires\n- 00:10 Rolled back\n"
    )
    assert import_markdown(path)[2] == 0
    times = {entry.text: entry.at for entry in Incident.objects.get().timeline.all()}
    assert times["Rolled back"] == datetime.datetime(2024, 1, 2, 0, 10, tzinfo=UTC)


def test_a_file_imported_before_keys_counted_from_the_folder_named_is_still_matched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Earlier runs keyed a file by its path from the folder the command ran in.
    folder = tmp_path / "postmortems"
    folder.mkdir()
    (folder / "2024-03-01-dns.md").write_text("# DNS outage\n\nResolvers timed out.\n")
    IncidentFactory(title="DNS outage", external_id="md:2024-03-01-dns.md")
    monkeypatch.chdir(folder)
    out, err, code = import_markdown(folder / "2024-03-01-dns.md")
    assert code == 0, err
    assert Incident.objects.count() == 1


def test_a_download_naming_an_incident_that_is_not_here_is_imported_as_new(
    tmp_path: Path,
) -> None:
    path = tmp_path / "INC-999999.md"
    path.write_text(
        "---\ntitle: From elsewhere\nreference: INC-999999\nstarted_at: 2024-01-01\n---\n"
    )
    out, err, code = import_markdown(path)
    assert code == 0, err
    assert "INC-999999 names no incident here" in err
    assert Incident.objects.get().title == "From elsewhere"


def test_a_changed_second_action_item_of_one_title_is_imported_as_a_new_one(
    alice_client: Client, tmp_path: Path
) -> None:
    created = alice_client.post(
        "/api/incidents/",
        {"title": "Disk full", "external_id": "pm-10", "started_at": "2025-01-01T10:00:00Z"},
        content_type="application/json",
    )
    pk = created.json()["id"]
    alice_client.post(
        "/api/remediations/",
        {"incident": pk, "title": "Add alert", "kind": "prevent", "status": "open"},
        content_type="application/json",
    )
    path = tmp_path / "disk.md"
    text = alice_client.get(f"/incidents/{pk}.md").content.decode()
    row = next(line for line in text.splitlines() if line.startswith("| Add alert |"))
    path.write_text(text.replace(row, row + "\n" + row.replace("| open |", "| done |")))
    out, err, code = import_markdown(path)
    assert code == 0, err
    titles = sorted(Incident.objects.get(pk=pk).remediations.values_list("title", flat=True))
    assert titles == ["Add alert", "Add alert (2)"]


def test_times_out_of_range_fail_their_file_with_a_reason_and_the_rest_is_imported(
    tmp_path: Path,
) -> None:
    # A start at 9999-12-31T23:59:59-14:00 (year 10000 in UTC), a timeline crossing midnight on
    # the last day there is and an offset of +99:00 stopped the whole command (OverflowError,
    # ValueError): nothing after them was imported and no reason was given.
    (tmp_path / "a-end-of-time.md").write_text(
        "---\ntitle: End of time\nstarted_at: 9999-12-31T23:59:59-14:00\n---\nText.\n"
    )
    (tmp_path / "b-last-day.md").write_text(
        "---\ntitle: Last day\nstarted_at: 9999-12-31\n---\n## Timeline\n\n- 23:00 a\n- 01:00 b\n"
    )
    (tmp_path / "c-offset.md").write_text(
        "---\ntitle: Odd offset\nstarted_at: 2024-01-01\n---\n## Timeline\n\n- 10:00+99:00 a\n"
    )
    (tmp_path / "d-good.md").write_text("---\ntitle: Good\nstarted_at: 2024-01-02\n---\nText.\n")
    out, err, code = import_markdown(tmp_path)
    assert code == 1
    assert "a-end-of-time.md: started_at must be between" in err
    assert "b-last-day.md: started_at must be between" in err
    assert "2 failed" in out
    assert sorted(Incident.objects.values_list("title", flat=True)) == ["Good", "Odd offset"]
    # The impossible offset is not a time: the line stays in the report.
    assert "10:00+99:00 a" in Incident.objects.get(title="Odd offset").body
