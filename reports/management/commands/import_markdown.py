"""python manage.py import_markdown PATH…: create or update incidents from Markdown postmortems.

PRODUCT.md, "Writing, duplicates and importing Markdown". Each PATH is a `.md` file or a
folder searched recursively for `*.md` and `*.markdown`. A file is read by
`reports.markdown_files.read_postmortem` and checked and stored exactly as an
`import_incidents` line is (`parse_record`, `BatchImporter`). Idempotent: a file's incident
is found again by its front matter's `external_id`; else, in a file downloaded from
`/incidents/<id>.md`, by its `reference: INC-<id>`; else by its path (`md:`, the folder
named on the command line and the path under it, e.g. `md:postmortems/2024/dns.md`, the same
from whichever folder the command runs; a file named by itself counts from its own folder).
A file named twice (a folder and a file in it) is read once. A bad file is reported with its
path and reason and nothing of it is stored; the others are. A counter shows progress on a
terminal; a summary ends the run; exits non-zero when a file failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from incidents.models import Incident
from reports.importer import BatchImporter, Outcome
from reports.interchange import (
    InvalidRecord,
    apply_record,
    canonical,
    export_record,
    for_export,
    onto,
    parse_record,
)
from reports.markdown_actions import tell_alike_apart
from reports.markdown_files import read_postmortem_file

SUFFIXES = (".md", ".markdown")
MAX_FILE_BYTES = 2_000_000  # a postmortem is far smaller; more is not one


def file_key(path: Path, root: Path | None = None) -> str:
    """The external_id of a file whose front matter gives none: `md:` and its path from the
    parent of `root`, the folder named on the command line (default: the file's folder).
    The same folder imported from anywhere gives the same keys (issue 15)."""
    resolved = path.resolve()
    base = (root or path.parent).resolve().parent
    try:
        shown = resolved.relative_to(base)
    except ValueError:
        shown = resolved
    return f"md:{shown.as_posix()}"


def _old_key(path: Path) -> str:
    """The key of a file before issue 15: its path from the current folder."""
    resolved = path.resolve()
    try:
        shown = resolved.relative_to(Path.cwd().resolve())
    except ValueError:
        shown = resolved
    return f"md:{shown.as_posix()}"


def find_files(paths: list[str]) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """The Markdown files named or under the folders named, each once (by its real path) with
    its key (`file_key`), and the paths that are neither."""
    found: dict[Path, tuple[Path, str]] = {}
    missing: list[tuple[str, str]] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            for file in sorted(
                p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()
            ):
                found.setdefault(file.resolve(), (file, file_key(file, path)))
        elif path.is_file():
            found.setdefault(path.resolve(), (path, file_key(path)))
        else:
            missing.append((name, "no such file or folder"))
    return list(found.values()), missing


class Command(BaseCommand):
    help = "Import postmortems written as Markdown (YAML front matter) from files or folders."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="a .md file or a folder")

    def handle(self, *args: Any, **options: Any) -> None:
        files, missing = find_files(options["paths"])
        counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
        self.names: dict[int, str] = {}
        for name, reason in missing:
            self._fail(name, reason, counts)
        self.show_progress = self.stderr.isatty() and len(files) > 1
        importer = BatchImporter()
        total = len(files)
        self.seen: dict[str, str] = {}  # the incident a file names → that file
        for number, (path, key) in enumerate(files, start=1):
            self.names[number] = str(path)
            try:
                record, warnings, reference = self._read(path, key)
                target = self._match(record, reference, path, key, warnings)
                parsed = parse_record(record)
                self._claim(parsed, target, path)
            except InvalidRecord as error:
                self._report(Outcome(number, state="failed", error=str(error)), counts)
            else:
                for warning in warnings:
                    self._say(f"{path}: warning: {warning}")
                if target is not None:
                    self._report(self._update(number, parsed, target, importer), counts)
                else:
                    for outcome in importer.add(number, parsed):
                        self._report(outcome, counts)
            if self.show_progress:
                self.stderr.write(f"\r{number}/{total} files", ending="")
                self.stderr.flush()
        for outcome in importer.flush():
            self._report(outcome, counts)
        if self.show_progress:
            self.stderr.write("")
        summary = ", ".join(f"{counts[state]} {state}" for state in counts)
        self.stdout.write(f"Imported {total} Markdown file(s): {summary}.")
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} file(s) failed; nothing from them was stored.")

    def _match(
        self,
        record: dict[str, Any],
        reference: int | None,
        path: Path,
        key: str,
        warnings: list[str],
    ) -> Incident | None:
        """Find the stored incident the file is: sets the record's external_id; returns an
        incident without one that the file's `reference` names (updated directly), else None.
        Also keeps the stored report's line breaks and tells action items of one title apart.
        """
        target = None
        if record.get("external_id") == key:  # the front matter gives no external_id
            if reference is not None:
                target = Incident.objects.visible_to(None).filter(pk=reference).first()
                if target is None:
                    warnings.append(
                        f"reference INC-{reference} names no incident here: imported as new"
                    )
                elif target.external_id:
                    record["external_id"], target = target.external_id, None
                else:
                    record["external_id"] = None
            if record["external_id"] == key:
                old = _old_key(path)
                if (
                    old != key
                    and not Incident.objects.filter(external_id=key).exists()
                    and Incident.objects.filter(external_id=old).exists()
                ):
                    record["external_id"] = old  # imported before issue 15: still matched
        _keep_line_breaks(record, target)
        _tell_alike_apart(record, target, warnings)
        return target

    def _claim(self, parsed: dict[str, Any], target: Incident | None, path: Path) -> None:
        """InvalidRecord, naming the other file, when an earlier file of this run holds the
        same incident (its external_id or its reference); which is right is the writer's call.
        """
        if target is not None:
            identity = f"reference INC-{target.pk}"
        elif parsed["external_id"]:
            identity = f"external_id {parsed['external_id']!r}"
        else:
            return
        if identity in self.seen:
            raise InvalidRecord(
                f"{identity} is also in {self.seen[identity]}; each incident may be in one "
                "file only (this file was not imported)"
            )
        self.seen[identity] = str(path)

    def _update(
        self, number: int, parsed: dict[str, Any], incident: Incident, importer: BatchImporter
    ) -> Outcome:
        """The file updates `incident` (named by its reference), as a batch's update does."""
        stored = for_export(Incident.objects.filter(pk=incident.pk)).get()
        try:
            if canonical(onto(parsed, stored), importer.resolver) == export_record(stored):
                return Outcome(number, state="unchanged")
            result = apply_record(parsed, resolver=importer.resolver, incident=stored)
        except InvalidRecord as error:
            importer.resolver.forget()
            return Outcome(number, state="failed", error=str(error))
        except DatabaseError as error:
            importer.resolver.forget()
            reason = f"the database refused it: {str(error).splitlines()[0]}"
            return Outcome(number, state="failed", error=reason)
        return Outcome(number, state="updated", warnings=result.warnings)

    def _read(self, path: Path, key: str) -> tuple[dict[str, Any], list[str], int | None]:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise InvalidRecord(f"the file is larger than {MAX_FILE_BYTES:,} bytes")
            data = path.read_bytes()
        except OSError as error:
            raise InvalidRecord(f"can't be read: {error.strerror or error}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidRecord(f"is not UTF-8 text (byte {error.start})") from None
        return read_postmortem_file(text, name=path.name, key=key)

    def _report(self, outcome: Outcome, counts: dict[str, int]) -> None:
        name = self.names.get(outcome.line, str(outcome.line))
        if outcome.error:
            self._fail(name, outcome.error, counts)
            return
        counts[outcome.state] += 1
        for warning in outcome.warnings:
            self._say(f"{name}: warning: {warning}")

    def _fail(self, name: str, reason: str, counts: dict[str, int]) -> None:
        counts["failed"] += 1
        self._say(self.style.ERROR(f"{name}: {reason}"))

    def _say(self, message: str) -> None:
        if getattr(self, "show_progress", False):
            self.stderr.write("\r" + " " * 30 + "\r", ending="")  # clear the counter first
        self.stderr.write(message)


def _keep_line_breaks(record: dict[str, Any], target: Incident | None) -> None:
    """A report stored with line breaks around it (typed in the form: Enter after the last
    line) is read back from its download without them; the stored one is kept when that is
    the only difference, so importing an unchanged download changes nothing (issue 15)."""
    body = record.get("body")
    if not isinstance(body, str):
        return
    if target is not None:
        stored: str | None = target.body
    elif isinstance(record.get("external_id"), str) and record["external_id"]:
        stored = (
            Incident.objects.filter(external_id=record["external_id"])
            .values_list("body", flat=True)
            .first()
        )
    else:
        return
    if stored is not None and stored != body and stored.strip("\n") == body:
        record["body"] = stored


def _tell_alike_apart(record: dict[str, Any], target: Incident | None, warnings: list[str]) -> None:
    """Action items of one title, paired with the stored incident's (`tell_alike_apart`)."""
    items = record.get("remediations")
    if not isinstance(items, list):
        return
    if not all(isinstance(item, dict) and isinstance(item.get("title"), str) for item in items):
        return  # the validator says what is wrong
    titles = [item["title"] for item in items]
    stored: list[dict[str, Any]] = []
    if len(set(titles)) < len(titles):
        if target is not None:
            found = for_export(Incident.objects.filter(pk=target.pk)).first()
        elif isinstance(record.get("external_id"), str) and record["external_id"]:
            found = for_export(Incident.objects.filter(external_id=record["external_id"])).first()
        else:
            found = None
        stored = export_record(found)["remediations"] if found is not None else []
    record["remediations"] = tell_alike_apart(items, stored, warnings)
