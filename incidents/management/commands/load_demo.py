"""python manage.py load_demo: the demo knowledge base of `make run`. Safe to run again."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from incidents import actions
from incidents.demo import CATEGORY_DESCRIPTIONS, DEMO_OWNERS, demo_records
from incidents.importer import BatchImporter
from incidents.interchange import parse_record
from incidents.models import FailureCategory

DEMO_LOGIN = ("demo", "demo")


class Command(BaseCommand):
    help = "Load the demo incidents, failure modes and remediations (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        for username in DEMO_OWNERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            if created:
                user.set_unusable_password()
                user.save()
        with transaction.atomic():
            for path, description in CATEGORY_DESCRIPTIONS.items():
                category = actions.get_or_create_category(path)
                if category.description != description:
                    category.description = description
                    category.save(update_fields=["description"])
            importer = BatchImporter()
            outcomes = [
                outcome
                for number, record in enumerate(demo_records(), start=1)
                for outcome in importer.add(number, parse_record(record))
            ]
            outcomes += importer.flush()
        states = Counter(outcome.state for outcome in outcomes)
        failed = [o for o in outcomes if o.error]
        if failed:  # our own data: a failure here is a bug in incidents/demo.py
            raise CommandError(f"Demo incident {failed[0].line} is invalid: {failed[0].error}")
        self.stdout.write(
            f"Demo data: {states['created']} incidents created, {states['updated']} updated, "
            f"{states['unchanged']} unchanged; {FailureCategory.objects.count()} failure modes."
        )
        if settings.DEBUG:
            username, password = DEMO_LOGIN
            user, _ = User.objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            self.stdout.write(self.style.SUCCESS(f"Demo login: {username} / {password}"))
        else:
            self.stdout.write("No demo login: it is only created while DJANGO_DEBUG is on.")
