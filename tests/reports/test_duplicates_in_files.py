"""A duplicate's link in the files Once writes and reads: `export_incidents` / `import_incidents`
(the interchange format's optional `duplicate_of`) and `/incidents/<id>.md` / `import_markdown`
(front matter `duplicate_of`). PRODUCT.md, "Interchange format" and "Writing, duplicates and
importing Markdown"; issue 15, item 5.

The original is named by its external_id when it has one (the link survives a move to another
database), else by its reference INC-<id> (this database only). The key is written only for a
duplicate whose original the exporter may see; left out, an import keeps what is stored.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from incidents.actions import mark_duplicate
from incidents.models import Incident
from tests.search.helpers import store

pytestmark = pytest.mark.django_db


@pytest.fixture
def kb(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda title, **fields: store(django_capture_on_commit_callbacks, title, **fields)


def export(*args: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    call_command("export_incidents", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def import_lines(path: Path, lines: list[dict[str, Any]]) -> tuple[str, int]:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_incidents", str(path), stdout=out, stderr=err)
        code = 0
    except CommandError as error:
        err.write(str(error))
        code = 1
    return out.getvalue() + err.getvalue(), code


def test_an_export_names_the_original_and_an_import_into_another_database_keeps_the_link(
    kb: Any, alice: User, tmp_path: Path
) -> None:
    # The duplicate is older than its original (a lower id): the export still puts the
    # original first, so the import finds it.
    copy = kb("Checkout wombat errors", external_id="pm-copy")
    original = kb("Payments wombat outage", external_id="pm-original")
    plain = kb("Unrelated", external_id="pm-plain")
    mark_duplicate(copy, original.pk, by=alice, expected_version=copy.version)
    lines = export()
    by_id = {line["external_id"]: line for line in lines}
    assert by_id["pm-copy"]["duplicate_of"] == "pm-original"
    assert "duplicate_of" not in by_id["pm-plain"] and "duplicate_of" not in by_id["pm-original"]
    assert [line["external_id"] for line in lines][-1] == "pm-copy"
    # Import into an empty database (the same one, emptied): the link comes back.
    Incident.objects.filter(pk__in=[copy.pk, original.pk, plain.pk]).delete()
    output, code = import_lines(tmp_path / "all.jsonl", lines)
    assert code == 0, output
    copy, original = (Incident.objects.get(external_id=e) for e in ("pm-copy", "pm-original"))
    assert copy.duplicate_of_id == original.pk
    # Export → import → export is identical, and a second import changes nothing.
    assert export() == lines
    output, code = import_lines(tmp_path / "again.jsonl", lines)
    assert code == 0 and "3 unchanged" in output, output


def test_an_original_without_external_id_is_named_by_its_reference_in_this_database(
    kb: Any, alice: User, tmp_path: Path
) -> None:
    original = kb("Payments wombat outage", external_id=None)
    copy = kb("Checkout wombat errors", external_id="pm-copy")
    mark_duplicate(copy, original.pk, by=alice, expected_version=copy.version)
    line = next(line for line in export() if line["external_id"] == "pm-copy")
    assert line["duplicate_of"] == f"INC-{original.pk}"
    # Un-marked meanwhile, then imported back in the same database: marked again.
    copy.refresh_from_db()
    mark_duplicate(copy, None, by=alice, expected_version=copy.version)
    output, code = import_lines(tmp_path / "one.jsonl", [line])
    assert code == 0, output
    copy.refresh_from_db()
    assert copy.duplicate_of_id == original.pk


def test_an_original_the_file_cannot_find_fails_its_line_with_the_reason_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    lines = [
        {"external_id": "a", "title": "A", "started_at": "2024-01-01", "duplicate_of": "pm-gone"},
        {"external_id": "b", "title": "B", "started_at": "2024-01-01"},
    ]
    output, code = import_lines(tmp_path / "bad.jsonl", lines)
    assert code == 1
    assert "line 1" in output and "duplicate_of" in output and "pm-gone" in output, output
    assert not Incident.objects.filter(external_id="a").exists()
    assert Incident.objects.filter(external_id="b").exists()


def test_an_export_for_someone_who_cannot_see_the_original_leaves_the_link_out_and_keeps_it(
    kb: Any, bob: User, alice: User, tmp_path: Path
) -> None:
    bob.groups.add(Group.objects.create(name="Security"))
    original = kb("Secret", external_id="pm-secret", visibility="restricted",
                  access_groups=["Security"])  # fmt: skip
    copy = kb("Checkout wombat errors", external_id="pm-copy")
    mark_duplicate(copy, original.pk, by=bob, expected_version=copy.version)
    lines = export("--as", "alice")
    assert [line["external_id"] for line in lines] == ["pm-copy"]
    assert "duplicate_of" not in lines[0] and "pm-secret" not in json.dumps(lines)
    assert export("--as", "bob")[-1]["duplicate_of"] == "pm-secret"
    # Alice's file imported back (by the system) keeps the link it did not show.
    lines[0]["title"] = "Checkout wombat errors, renamed"
    output, code = import_lines(tmp_path / "alice.jsonl", lines)
    assert code == 0, output
    copy.refresh_from_db()
    assert copy.title.endswith("renamed") and copy.duplicate_of_id == original.pk


@pytest.mark.parametrize("external_id", ["pm-original", None])
def test_the_markdown_download_of_a_duplicate_imports_back_as_the_same_duplicate(
    kb: Any, alice: User, alice_client: Client, tmp_path: Path, external_id: str | None
) -> None:
    original = kb("Payments wombat outage", external_id=external_id)
    copy = kb("Checkout wombat errors", external_id=None)
    mark_duplicate(copy, original.pk, by=alice, expected_version=copy.version)
    text = alice_client.get(f"/incidents/{copy.pk}.md").content.decode()
    assert f"duplicate_of: {external_id or f'INC-{original.pk}'}\n" in text
    # Un-marked meanwhile: importing the download marks it again, as the same incident.
    copy.refresh_from_db()
    mark_duplicate(copy, None, by=alice, expected_version=copy.version)
    path = tmp_path / "copy.md"
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    call_command("import_markdown", str(path), stdout=out, stderr=io.StringIO())
    assert "1 updated" in out.getvalue(), out.getvalue()
    copy.refresh_from_db()
    assert copy.duplicate_of_id == original.pk
    # Imported again: nothing changes.
    out = io.StringIO()
    call_command("import_markdown", str(path), stdout=out, stderr=io.StringIO())
    assert "1 unchanged" in out.getvalue(), out.getvalue()


def test_the_markdown_download_names_no_original_the_reader_cannot_see(
    kb: Any, bob: User, alice_client: Client, bob_client: Client
) -> None:
    bob.groups.add(Group.objects.create(name="Security"))
    original = kb("Secret", external_id="pm-secret", visibility="restricted",
                  access_groups=["Security"])  # fmt: skip
    copy = kb("Checkout wombat errors")
    mark_duplicate(copy, original.pk, by=bob, expected_version=copy.version)
    text = alice_client.get(f"/incidents/{copy.pk}.md").content.decode()
    assert "duplicate_of" not in text and "pm-secret" not in text
    assert "duplicate_of: pm-secret" in bob_client.get(f"/incidents/{copy.pk}.md").content.decode()
