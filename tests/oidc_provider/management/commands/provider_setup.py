"""Registers Once as a confidential client and adds people to the test provider.

    provider_setup --client-id ID --client-secret SECRET --redirect-uri URI… \
        --user NAME:PASSWORD:EMAIL[:unverified]…
"""

from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from oauth2_provider.models import Application

from tests.oidc_provider.validator import UNVERIFIED


class Command(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--redirect-uri", action="append", default=[])
        parser.add_argument("--user", action="append", default=[])

    def handle(self, *args: Any, **options: Any) -> None:
        Application.objects.update_or_create(
            client_id=options["client_id"],
            defaults={
                "name": "Once",
                "client_secret": options["client_secret"],  # hashed on save
                "client_type": Application.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
                "redirect_uris": " ".join(options["redirect_uri"]),
                "algorithm": Application.RS256_ALGORITHM,
                "skip_authorization": True,  # no consent screen: the company's own app
            },
        )
        unverified = Group.objects.get_or_create(name=UNVERIFIED)[0]
        for spec in options["user"]:
            name, password, email, *flags = spec.split(":")
            user = User.objects.filter(username=name).first() or User(username=name)
            user.email = email
            user.set_password(password)
            user.save()
            if "unverified" in flags:
                user.groups.add(unverified)
