"""The cast: alice writes incidents, bob is her teammate, charlie is in none of their groups,
victor only reads (group `Viewers`); anonymous visitors see only the login."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client, override_settings

from common.roles import VIEWERS
from tests.factories import UserFactory

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# The suite runs on one database: a DATABASE_REPLICA_URL left in the environment would send
# search reads to a replica no test fills. tests/search/test_replica.py makes its own.
settings.DATABASES.pop("replica", None)


@pytest.fixture(autouse=True, scope="session")
def _media_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Uploaded pictures go to a folder of this test run, never to the project's media/."""
    with override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media"))):
        yield


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher() -> Iterator[None]:
    """Passwords hashed with MD5 for the whole run (healthchecks' way, and Django's advice for
    tests). Every UserFactory person gets a password and the browser tests log in by password:
    with the production hasher (PBKDF2, 1,000,000 iterations, about half a second a hash on one
    core) that alone cost a large share of the run. PBKDF2 stays listed, so a hash it made
    still verifies. Processes the tests start (gunicorn, Celery) keep the production settings;
    none of them checks a password made here."""
    with override_settings(
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher",
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        ]
    ):
        yield


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


@pytest.fixture
def charlie(db: None) -> User:
    return UserFactory(username="charlie")


@pytest.fixture
def charlie_client(charlie: User) -> Client:
    client = Client()
    client.force_login(charlie, backend=MODEL_BACKEND)
    return client


@pytest.fixture
def victor(db: None) -> User:
    """A member of `Viewers`: reads everything he may see, changes nothing."""
    user = UserFactory(username="victor")
    user.groups.add(Group.objects.get_or_create(name=VIEWERS)[0])
    return user


@pytest.fixture
def victor_client(victor: User) -> Client:
    client = Client()
    client.force_login(victor, backend=MODEL_BACKEND)
    return client


from tests.clock import clock  # noqa: E402, F401  (fixture: a clock the test moves)
from tests.hidden_fix import hidden_incident  # noqa: E402, F401  (fixture: a restricted incident and its fix)
from tests.oidc_provider.fixture import oidc_provider  # noqa: E402, F401  (fixture: an OpenID provider)
from tests.webhook import webhook  # noqa: E402, F401  (fixture: a local ONCE_WEBHOOK_URL)
