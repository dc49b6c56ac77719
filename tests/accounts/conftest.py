from typing import Any

import pytest


@pytest.fixture(autouse=True)
def fast_password_hasher(settings: Any) -> None:
    """These tests log in by password dozens of times: a fast hasher (healthchecks' way)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
