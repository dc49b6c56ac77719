"""python manage.py import_chaos_journal FILE --scenario ID: record a Chaos Toolkit run.

The same as `POST /api/scenarios/<id>/journal/` (gamedays/journal.py): the outcome, the time
it ran and a summary of its probes become the scenario's, through the one write path.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common import dates
from common.validation import RecordInvalid
from gamedays.actions import GameDayClosed
from gamedays.journal import MAX_JOURNAL_BYTES, NotAJournal, read_journal, record_journal
from gamedays.models import Scenario


class Command(BaseCommand):
    help = (
        "Record a Chaos Toolkit journal (the journal.json that `chaos run` writes; '-' for "
        "standard input) as the outcome of a game-day scenario."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path to journal.json, or - for standard input")
        parser.add_argument(
            "--scenario", type=int, required=True, help="id of the scenario it ran for"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["file"]
        scenario = Scenario.objects.filter(pk=options["scenario"]).first()
        if scenario is None:
            raise CommandError(f"There is no scenario {options['scenario']}.")
        try:
            if name == "-":
                data = sys.stdin.buffer.read(MAX_JOURNAL_BYTES + 1)
            else:
                with Path(name).open("rb") as journal:
                    data = journal.read(MAX_JOURNAL_BYTES + 1)
        except OSError as error:
            raise CommandError(f"Can't read {name}: {error.strerror or error}") from None
        try:
            run = read_journal(data)
            scenario = record_journal(scenario, run, by=None)
        except (NotAJournal, RecordInvalid) as refused:
            for line in refused.errors.as_lines():
                self.stderr.write(self.style.ERROR(f"{name}: {line}"))
            raise CommandError(f"{name} was not recorded.") from None
        except GameDayClosed as closed:
            raise CommandError(f"{name} was not recorded. {closed}") from None
        self.stdout.write(
            f"Recorded {name} for scenario {scenario.pk} ({scenario.name}) of "
            f"“{scenario.game_day.title}”: {scenario.outcome}, ran at "
            f"{dates.moment(scenario.ran_at)}."
        )
