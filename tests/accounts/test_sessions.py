"""A session ends after ONCE_SESSION_IDLE_MINUTES without a request (default 8 hours), and
lasts as long as its owner keeps working."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db


def logged_in(bob: User) -> Client:
    client = Client()
    assert (
        client.post(reverse("login"), {"username": "bob", "password": "password"}).status_code
        == 302
    )
    return client


def is_signed_in(client: Client) -> bool:
    return client.get(reverse("account_tokens")).status_code == 200


def test_the_default_idle_time_is_eight_hours() -> None:
    assert settings.ONCE_SESSION_IDLE_MINUTES == 480
    assert settings.SESSION_COOKIE_AGE == 8 * 3600


def test_a_session_left_alone_longer_than_the_idle_time_ends(clock: Any, bob: User) -> None:
    client = logged_in(bob)
    clock.advance(hours=7, minutes=50)
    assert is_signed_in(client)
    clock.advance(hours=8, minutes=1)
    assert not is_signed_in(client)


def test_a_session_in_use_outlives_the_idle_time(clock: Any, bob: User) -> None:
    client = logged_in(bob)
    for _ in range(6):  # a working day and a half, a request every 5 hours
        clock.advance(hours=5)
        assert is_signed_in(client)


def test_the_browser_is_told_the_new_expiry(clock: Any, bob: User) -> None:
    client = logged_in(bob)
    clock.advance(hours=1)
    response = client.get(reverse("account_tokens"))
    assert response.cookies["sessionid"]["max-age"] == 8 * 3600


def test_requests_close_together_do_not_write_the_session(bob: User) -> None:
    client = logged_in(bob)
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("account_tokens"))
    assert not any("UPDATE" in q["sql"] and "django_session" in q["sql"] for q in captured)


def test_an_api_call_by_token_makes_no_session(bob: User) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(bob)
    response = client.get("/api/incidents/")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
