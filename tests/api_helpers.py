"""Helpers for API tests: an authenticated DRF client and the fields of a page."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient


def api_client_for(user: Any) -> APIClient:
    from rest_framework.authtoken.models import Token

    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
