"""python manage.py import_incidents FILE: create or update incidents from JSON Lines.

Each bad line is reported with its number and reason and nothing from it is stored; the good
lines are imported. Exits non-zero when any line failed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from incidents.interchange import InvalidRecord, apply_record, parse_record


class Command(BaseCommand):
    help = "Import incidents from a JSON Lines file (one incident per line; '-' for stdin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path to a .jsonl file, or - for standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["file"]
        try:
            lines = (
                sys.stdin.read().splitlines()
                if name == "-"
                else Path(name).read_text(encoding="utf-8").splitlines()
            )
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Can't read {name}: {error}") from None
        total = len(lines)
        show_progress = self.stdout.isatty() and total > 1
        created = updated = failed = blank = 0
        for number, line in enumerate(lines, start=1):
            if show_progress:
                done = int(30 * number / total)
                self.stdout.write(
                    f"\r[{'#' * done}{'.' * (30 - done)}] {number}/{total}", ending=""
                )
            if not line.strip():
                blank += 1
                continue
            try:
                result = apply_record(parse_record(json.loads(line)))
            except json.JSONDecodeError as error:
                failed += 1
                self._problem(number, f"not JSON ({error.msg} at column {error.colno})")
            except InvalidRecord as error:
                failed += 1
                self._problem(number, str(error))
            except DatabaseError as error:
                failed += 1
                self._problem(number, f"the database refused it: {str(error).splitlines()[0]}")
            else:
                created += result.created
                updated += not result.created
                for warning in result.warnings:
                    self.stderr.write(f"line {number}: warning: {warning}")
        if show_progress:
            self.stdout.write("")
        summary = f"{created} created, {updated} updated, {failed} failed"
        if blank:
            summary += f", {blank} blank lines skipped"
        self.stdout.write(f"Imported {name}: {summary}.")
        if failed:
            raise CommandError(f"{failed} line(s) failed; nothing from them was stored.")

    def _problem(self, number: int, reason: str) -> None:
        if self.stdout.isatty():
            self.stdout.write("")  # end the progress line first
        self.stderr.write(self.style.ERROR(f"line {number}: {reason}"))
