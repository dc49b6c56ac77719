"""Helpers for API tests: an authenticated DRF client and the fields of a page."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient


def api_key_for(user: Any, *, name: str = "tests", days: int | None = None) -> str:
    """A fresh API key for `user` (accounts.models.ApiToken), as /account/tokens/ makes one."""
    from accounts.models import ApiToken

    _, key = ApiToken.issue(user, name=name, days=days)
    return key


def api_client_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return client
