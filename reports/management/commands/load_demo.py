"""python manage.py load_demo: the demo knowledge base of `make run`. Safe to run again.

It only adds what is missing (incidents/demo.py): what a person changed in the demo is kept,
and the demo login's password is set only when the login is created, so running it again (as
every `make run` does) logs nobody out.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from reports.demo import load_demo

DEMO_LOGIN = ("demo", "demo")


class Command(BaseCommand):
    help = "Add the demo incidents, failure modes and remediations that are missing."

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        # The demo's people are made up (alice@example.com…): loading it mails and posts to
        # nobody, whatever EMAIL_* and ONCE_WEBHOOK_URL say. With in-process tasks (make run)
        # the recurrence rules run inside this block; their notifications go to memory.
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", ONCE_WEBHOOK_URL=""
        ):
            loaded = load_demo()
        if loaded.errors:  # our own data: a refusal here is a bug in incidents/demo.json
            raise CommandError("The demo data is invalid: " + "; ".join(loaded.errors[:3]))
        if verbosity >= 2:
            self.stdout.write(
                f"Demo data: {len(loaded.incidents)} incidents added, {loaded.kept} kept as "
                f"they were; {len(loaded.categories)} failure modes, {len(loaded.game_days)} "
                f"game days and {len(loaded.users)} people added."
            )
        if not settings.DEBUG:
            if verbosity >= 1:
                self.stdout.write("No demo login: it is only created while DJANGO_DEBUG is on.")
            return
        username, password = DEMO_LOGIN
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            # Only when it is missing: setting the password again would change the session
            # hash and log out everyone signed in as demo.
            user = get_user_model().objects.create_superuser(
                username=username, email="", password=password
            )
        if verbosity < 1:
            return
        if user.check_password(password):
            self.stdout.write(self.style.SUCCESS(f"Log in as {username} / {password}"))
        else:
            self.stdout.write(f"Log in as {username}, with the password you gave it.")
