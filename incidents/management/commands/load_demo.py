"""python manage.py load_demo: the demo knowledge base of `make run`. Safe to run again."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from incidents import actions
from incidents.demo import CATEGORY_DESCRIPTIONS, DEMO_OWNERS, demo_records
from incidents.interchange import apply_record, parse_record
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
            created = updated = 0
            for record in demo_records():
                result = apply_record(parse_record(record))
                created += result.created
                updated += not result.created
        self.stdout.write(
            f"Demo data: {created} incidents created, {updated} updated, "
            f"{FailureCategory.objects.count()} failure modes."
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
