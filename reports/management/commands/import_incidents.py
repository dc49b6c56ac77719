"""python manage.py import_incidents FILE: create or update incidents from JSON Lines.

Each bad line is reported with its number and reason and nothing from it is stored; the good
lines are imported, new incidents in batches (incidents/importer.py). Exits non-zero when any
line failed.
"""

from __future__ import annotations

import codecs
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.importer import BatchImporter, Outcome
from reports.interchange import InvalidRecord, decode_line, parse_record


class Command(BaseCommand):
    help = "Import incidents from a JSON Lines file (one incident per line; '-' for stdin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path to a .jsonl file, or - for standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["file"]
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as error:
            raise CommandError(f"Can't read {name}: {error}") from None
        # JSON Lines: lines end at "\n" only (U+2028 inside a title is text, not a line end),
        # each decoded on its own so that one line of bad UTF-8 costs only that line.
        lines = data.removeprefix(codecs.BOM_UTF8).split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        total = len(lines)
        self.show_progress = self.stdout.isatty() and total > 1
        importer = BatchImporter()
        counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0, "blank": 0}
        for number, line in enumerate(lines, start=1):
            line = line.removesuffix(b"\r")
            if not line.strip():
                counts["blank"] += 1
                continue
            try:
                parsed = parse_record(decode_line(line))
            except InvalidRecord as error:
                self._report(Outcome(number, state="failed", error=str(error)), counts)
            else:
                for outcome in importer.add(number, parsed):
                    self._report(outcome, counts)
            if self.show_progress and (number % 50 == 0 or number == total):
                done = int(30 * number / total)
                self.stdout.write(
                    f"\r[{'#' * done}{'.' * (30 - done)}] {number}/{total}", ending=""
                )
        for outcome in importer.flush():
            self._report(outcome, counts)
        if self.show_progress:
            self.stdout.write("")
        summary = ", ".join(
            f"{counts[state]} {state}" for state in ("created", "updated", "unchanged", "failed")
        )
        if counts["blank"]:
            summary += f", {counts['blank']} blank lines skipped"
        self.stdout.write(f"Imported {name}: {summary}.")
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} line(s) failed; nothing from them was stored.")

    def _report(self, outcome: Outcome, counts: dict[str, int]) -> None:
        counts[outcome.state] += 1
        if outcome.error:
            self._problem(outcome.line, outcome.error)
            return
        for warning in outcome.warnings:
            self.stderr.write(f"line {outcome.line}: warning: {warning}")

    def _problem(self, number: int, reason: str) -> None:
        if self.show_progress:
            self.stdout.write("")  # end the progress line first
        self.stderr.write(self.style.ERROR(f"line {number}: {reason}"))
