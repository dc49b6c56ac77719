"""Rebuild every search document: after a restore from backup or a change to indexing.

With --rum, build the RUM index instead (search/rum.py), for a server where the extension was
installed after the migrations ran; the documents stay as they are.

Prints its progress every chunk (how many, the rate, and the time left at that rate), then the
total time: docs/search.md, "Reindexing", gives the figures at 100,000 and 1,000,000 incidents.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from search import index, rum


class Command(BaseCommand):
    help = "Rebuild the search documents of all incidents (saves keep them fresh otherwise)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rum",
            action="store_true",
            help="build the RUM index (PostgreSQL with the rum extension) in place of GIN",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["rum"]:
            if connection.vendor != "postgresql":
                raise CommandError("The RUM index is PostgreSQL's; this database is not.")
            if not rum.create_rum_index(connection):
                raise CommandError(
                    "PostgreSQL has no usable RUM extension: install postgresql-15-rum "
                    "(the server's major version) and create it as a superuser."
                )
            took = time.monotonic() - started
            self.stdout.write(self.style.SUCCESS(f"Built the RUM index in {took:.1f} s."))
            return
        every = 10.0  # seconds between progress lines on a terminal-less log; each chunk on a tty
        shown = [started]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if not (self.stdout.isatty() or now - shown[0] >= every or done >= total):
                return
            shown[0] = now
            rate = done / max(now - started, 1e-6)
            left = (total - done) / rate if rate else 0.0
            self.stdout.write(
                f"  {done:,} of {total:,} incidents indexed ({done / max(total, 1):.0%}, "
                f"{rate:,.0f}/s, about {_duration(left)} left)"
            )

        written = index.rebuild_all(progress)
        took = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Indexed {written:,} incidents in {_duration(took)} "
                f"({written / max(took, 1e-6):,.0f}/s)."
            )
        )


def _duration(seconds: float) -> str:
    """'42.0 s', '3 min 05 s', '1 h 02 min': a time a person reads at a glance."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
