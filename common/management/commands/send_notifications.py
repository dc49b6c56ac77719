"""python manage.py send_notifications: attempt every due notification now, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from common import notifications


class Command(BaseCommand):
    help = (
        "Send every notification that is due (new, or waiting to be retried); what beat's "
        "send_due_notifications does every minute. Useful without a worker, or from cron."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        total = {"sent": 0, "pending": 0, "failed": 0}
        while True:  # in batches, until nothing is due
            counts = notifications.send_due()
            for state, n in counts.items():
                total[state] += n
            if not any(counts.values()):
                break
        self.stdout.write(
            f"{total['sent']} sent, {total['pending']} to retry later, {total['failed']} failed."
        )
