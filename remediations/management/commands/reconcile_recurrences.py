"""python manage.py reconcile_recurrences: apply the recurrence rules to every incident now."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from remediations.tasks import reconcile_recurrences


class Command(BaseCommand):
    help = "Bring recurrence links and flags of every incident up to date (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        # Runs here, in this process: it needs no broker or worker.
        result = reconcile_recurrences.run()
        self.stdout.write(
            f"Reconciled {result.get('incidents', 0):,} incidents in "
            f"{time.perf_counter() - started:.1f} s: "
            f"{result.get('links_added', 0)} links added, "
            f"{result.get('links_removed', 0)} removed; "
            f"{result.get('flags_raised', 0)} flags raised or re-opened, "
            f"{result.get('flags_cleared', 0)} cleared."
        )
