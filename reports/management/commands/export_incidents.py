"""python manage.py export_incidents [--as USER]: incidents as JSON Lines, the import format.

Run by an operator on the server (who can read the database anyway) it exports every
incident, restricted ones included, with their `visibility` and `access_groups`, so that a
backup restores who sees what. `--as USER` exports only what USER may see on the pages
(PRODUCT.md, "Who may see and change what"): use it to hand a file to someone.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import BooleanField, ExpressionWrapper, Q

from common import audit
from incidents.models import Incident
from reports.interchange import encode_line, export_record, for_export


class Command(BaseCommand):
    help = (
        "Write incidents as JSON Lines (the import_incidents format) to stdout or a file: every "
        "incident, or with --as USER only those USER may see."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="file to write instead of standard output")
        parser.add_argument(
            "--as",
            dest="as_user",
            metavar="USER",
            help="export only the incidents this user may see (restricted ones hidden from them "
            "are left out, with their remediations)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = None  # the system: everything
        if options["as_user"]:
            user = get_user_model().objects.filter(username=options["as_user"]).first()
            if user is None or not user.is_active:
                raise CommandError(f"There is no active user called {options['as_user']!r}.")
        # Originals before duplicates, so that an import finds each duplicate's original on an
        # earlier line (reports.importer); otherwise by id.
        order = ExpressionWrapper(Q(duplicate_of__isnull=False), output_field=BooleanField())
        incidents = for_export(Incident.objects.visible_to(user).order_by(order, "id"), user=user)
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
