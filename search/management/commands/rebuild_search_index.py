"""Rebuild every search document: after a restore from backup or a change to indexing.

With --rum, build the RUM index instead (search/rum.py), for a server where the extension was
installed after the migrations ran; the documents stay as they are.
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

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"  {done:,} of {total:,} incidents indexed")

        written = index.rebuild_all(progress)
        took = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(f"Indexed {written:,} incidents in {took:.1f} s."))
