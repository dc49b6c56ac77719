"""The cast: alice writes incidents, bob is her teammate; anonymous visitors see only the login."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.factories import UserFactory

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
def alice(db: None) -> User:
    return UserFactory(username="alice")


@pytest.fixture
def bob(db: None) -> User:
    return UserFactory(username="bob")


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    client.force_login(alice, backend=MODEL_BACKEND)
    return client


@pytest.fixture
def bob_client(bob: User) -> Client:
    client = Client()
    client.force_login(bob, backend=MODEL_BACKEND)
    return client


from tests.clock import clock  # noqa: E402, F401  (fixture: a clock the test moves)
from tests.webhook import webhook  # noqa: E402, F401  (fixture: a local ONCE_WEBHOOK_URL)
