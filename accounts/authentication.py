"""`Authorization: Token <key>` for the API, against the hashed keys of accounts.models.ApiToken.

DRF's TokenAuthentication reads the header (and answers 401 with `WWW-Authenticate: Token`
when it is missing or wrong); only the lookup is ours. Every refusal says why, so whoever runs
a script knows whether to make a new token or ask for their account back.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import TOKEN_PREFIX, ApiToken
from common import dates

NEW_TOKEN = "make a new one on /account/tokens/"  # noqa: S105  (words, not a secret)


class ApiTokenAuthentication(TokenAuthentication):
    """A key from /account/tokens/ or `create_api_token`: refused (401) when unknown, revoked,
    expired, or its person is inactive; its last use is noted (at most once a minute)."""

    keyword = "Token"
    model = ApiToken  # never DRF's rest_framework.authtoken, which is not installed

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        token = ApiToken.objects.for_key(key)
        if token is None:
            if not key.startswith(TOKEN_PREFIX):
                # A key of rest_framework.authtoken (40 hex digits), from before the upgrade.
                raise AuthenticationFailed(
                    f"Tokens made before keys were stored hashed no longer work: {NEW_TOKEN}."
                )
            raise AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if token.revoked_at is not None:
            raise AuthenticationFailed(f"This token was revoked: {NEW_TOKEN}.")
        if token.expires_at <= now:
            raise AuthenticationFailed(
                f"This token expired on {dates.moment(token.expires_at)}: {NEW_TOKEN}."
            )
        if not token.user.is_active:
            raise AuthenticationFailed("The account this token belongs to is inactive.")
        token.note_use(now)
        return token.user, token
