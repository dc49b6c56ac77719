"""Rebuild every search document: after a restore from backup or a change to indexing."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from search import index


class Command(BaseCommand):
    help = "Rebuild the search documents of all incidents (saves keep them fresh otherwise)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"  {done:,} of {total:,} incidents indexed")

        written = index.rebuild_all(progress)
        took = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(f"Indexed {written:,} incidents in {took:.1f} s."))
