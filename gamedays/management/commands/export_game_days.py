"""python manage.py export_game_days [FILE]: every game day as JSON Lines, the import format."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from common import audit
from common.jsonlines import encode_line
from gamedays.interchange import export_record, for_export
from gamedays.models import GameDay


class Command(BaseCommand):
    help = (
        "Write every game day with its scenarios as JSON Lines (the import_game_days format) "
        "to FILE or standard output."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="file to write instead of standard output")
        parser.add_argument("--output", "-o", help="the same, as export_incidents takes it")

    def handle(self, *args: Any, **options: Any) -> None:
        target = options["file"] or options["output"]
        game_days = for_export(GameDay.objects.order_by("scheduled_at", "id"))
        output = open(target, "w", encoding="utf-8") if target else None  # noqa: SIM115
        count = 0
        try:
            for game_day in game_days.iterator(chunk_size=200):
                line = encode_line(export_record(game_day))
                if output:
                    output.write(line + "\n")
                else:
                    self.stdout.write(line)
                count += 1
        finally:
            if output:
                output.close()
            # Also when the export stopped half-way: what was written has left Once.
            audit.exported("game days", count=count, command="export_game_days", options=options)
