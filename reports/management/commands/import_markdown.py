"""python manage.py import_markdown PATH…: create or update incidents from Markdown postmortems.

PRODUCT.md, "Writing, duplicates and importing Markdown". Each PATH is a `.md` file or a
folder searched recursively for `*.md` and `*.markdown`. A file is read by
`reports.markdown_files.read_postmortem` and checked and stored exactly as an
`import_incidents` line is (`parse_record`, `BatchImporter`). Idempotent: a file's incident
is found again by its front matter's `external_id`, else by its path (`md:` and the path
relative to the current folder, so run it from the same place each time). A bad file is
reported with its path and reason and nothing of it is stored; the others are. A counter
shows progress on a terminal; a summary ends the run; exits non-zero when a file failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.importer import BatchImporter, Outcome
from reports.interchange import InvalidRecord, parse_record
from reports.markdown_files import read_postmortem

SUFFIXES = (".md", ".markdown")
MAX_FILE_BYTES = 2_000_000  # a postmortem is far smaller; more is not one


def file_key(path: Path) -> str:
    """The external_id of a file whose front matter gives none: `md:` and its path."""
    resolved = path.resolve()
    try:
        shown = resolved.relative_to(Path.cwd().resolve())
    except ValueError:
        shown = resolved
    return f"md:{shown.as_posix()}"


def find_files(paths: list[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The Markdown files named or under the folders named, and the paths that are neither."""
    found: list[Path] = []
    missing: list[tuple[str, str]] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
            )
        elif path.is_file():
            found.append(path)
        else:
            missing.append((name, "no such file or folder"))
    unique = list(dict.fromkeys(found))
    return unique, missing


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
        for number, path in enumerate(files, start=1):
            self.names[number] = str(path)
            try:
                record, warnings = self._read(path)
                parsed = parse_record(record)
            except InvalidRecord as error:
                self._report(Outcome(number, state="failed", error=str(error)), counts)
            else:
                for warning in warnings:
                    self._say(f"{path}: warning: {warning}")
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

    def _read(self, path: Path) -> tuple[dict[str, Any], list[str]]:
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
        return read_postmortem(text, name=path.name, key=file_key(path))

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
