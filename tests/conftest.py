"""The cast: alice writes incidents, bob is her teammate; anonymous visitors see only the login."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
def alice(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="bob")


@pytest.fixture
def alice_client(alice) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(alice, backend=MODEL_BACKEND)
    return client


@pytest.fixture
def bob_client(bob) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(bob, backend=MODEL_BACKEND)
    return client


from tests.clock import clock  # noqa: E402, F401  (fixture: a clock the test moves)
from tests.webhook import webhook  # noqa: E402, F401  (fixture: a local ONCE_WEBHOOK_URL)
