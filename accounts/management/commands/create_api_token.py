"""python manage.py create_api_token USERNAME [--days N] [--name NAME]: an API key, printed once.

Standard output holds the key and nothing else, so a script can capture it
(`KEY=$(manage.py create_api_token alice)`); what it is for and when it expires go to standard
error. Once keeps only the key's hash: run the command again for another key, revoke keys on
/account/tokens/ or in the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS, ApiToken
from common import dates
from common.validation import RecordInvalid

DEFAULT_NAME = "made by create_api_token"


class Command(BaseCommand):
    help = (
        "Make an API token for a user and print its key (once: only its hash is kept). "
        "Standard output holds the key alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="whose token it is")
        parser.add_argument(
            "--days", type=int, default=DEFAULT_TOKEN_DAYS,
            help=f"days until it expires, 1 to {MAX_TOKEN_DAYS} (default {DEFAULT_TOKEN_DAYS})",
        )  # fmt: skip
        parser.add_argument(
            "--name", default=DEFAULT_NAME, help=f"what it is for (default “{DEFAULT_NAME}”)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username})
        found = user.first()
        if found is None:
            raise CommandError(f"There is no user named “{username}”.")
        if not found.is_active:
            raise CommandError(f"The user “{username}” is inactive: a token would not work.")
        try:
            token, key = ApiToken.issue(found, name=options["name"], days=options["days"])
        except RecordInvalid as refused:
            for path, message in refused.errors.items:
                # The option's name, as the person typed it: "--days must be from 1 to 365…"
                self.stderr.write(self.style.ERROR(f"--{path[0]} {message}" if path else message))
            raise CommandError("No token was made.") from None
        self.stdout.write(key)
        self.stderr.write(
            f"Token “{token.name}” for {username}, expires {dates.moment(token.expires_at)}. "
            "This is the only time the key is shown."
        )
