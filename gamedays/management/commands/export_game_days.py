"""python manage.py export_game_days [FILE] [--as USER]: every game day as JSON Lines, the
import format. As export_incidents: run by an operator it exports everything; `--as USER`
leaves out the scenarios (and fixes) of restricted incidents USER may not see."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

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
        parser.add_argument(
            "--as", dest="as_user", metavar="USER",
            help="export only what this user may see (as export_incidents --as)",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        target = options["file"] or options["output"]
        user = None  # the system: everything
        if options["as_user"]:
            user = get_user_model().objects.filter(username=options["as_user"]).first()
            if user is None or not user.is_active:
                raise CommandError(f"There is no active user called {options['as_user']!r}.")
        game_days = for_export(GameDay.objects.order_by("scheduled_at", "id"), user=user)
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
