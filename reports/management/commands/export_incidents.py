"""python manage.py export_incidents: every incident as JSON Lines, the import format."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from common import audit
from incidents.models import Incident
from reports.interchange import encode_line, export_record, for_export


class Command(BaseCommand):
    help = "Write every incident as JSON Lines (the import_incidents format) to stdout or a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="file to write instead of standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        incidents = for_export(Incident.objects.order_by("id"))
        output = open(options["output"], "w", encoding="utf-8") if options["output"] else None  # noqa: SIM115
        count = 0
        try:
            for incident in incidents.iterator(chunk_size=500):
                line = encode_line(export_record(incident))
                if output:
                    output.write(line + "\n")
                else:
                    self.stdout.write(line)
                count += 1
        finally:
            if output:
                output.close()
            # Also when the export stopped half-way: what was written has left Once.
            audit.exported("incidents", count=count, command="export_incidents", options=options)
