"""python manage.py import_game_days FILE: create or update game days from a `game_days`
JSON Lines file (docs/import-export.md).

Each bad line is reported with its number and reason and nothing from it is stored; the good
lines are imported. Exits non-zero when any line failed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from common.jsonlines import InvalidRecord, decode_line, split_lines
from gamedays.interchange import FixResolver, apply_record, parse_record


class Command(BaseCommand):
    help = "Import game days from a JSON Lines file (one game day per line; '-' for stdin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path to a .jsonl file, or - for standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["file"]
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as error:
            raise CommandError(f"Can't read {name}: {error.strerror or error}") from None
        counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
        blank = 0
        seen: dict[str, int] = {}  # external_id → the line that had it first
        resolver = FixResolver()
        for number, line in enumerate(split_lines(data), start=1):
            if not line.strip():
                blank += 1
                continue
            try:
                parsed = parse_record(decode_line(line), resolver)
                external_id = parsed["external_id"]
                if external_id in seen:
                    raise InvalidRecord(
                        f"external_id {external_id!r} is also on line {seen[external_id]}; a "
                        "file may hold each game day once (this line was not imported)"
                    )
                if external_id:
                    seen[external_id] = number
                result = apply_record(parsed)
            except InvalidRecord as error:
                self._failed(number, str(error), counts)
                continue
            except DatabaseError as error:
                reason = f"the database refused it: {str(error).splitlines()[0]}"
                self._failed(number, reason, counts)
                continue
            counts[result.state] += 1
            for warning in result.warnings:
                self.stderr.write(f"line {number}: warning: {warning}")
        summary = ", ".join(f"{count} {state}" for state, count in counts.items())
        if blank:
            summary += f", {blank} blank lines skipped"
        self.stdout.write(f"Imported {name}: {summary}.")
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} line(s) failed; nothing from them was stored.")

    def _failed(self, number: int, reason: str, counts: dict[str, int]) -> None:
        counts["failed"] += 1
        self.stderr.write(self.style.ERROR(f"line {number}: {reason}"))
