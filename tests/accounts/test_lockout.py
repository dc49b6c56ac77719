"""The login lock-out can't be aimed at a colleague: it is keyed on the account *and* the
client's address — behind the documented proxy, the address the proxy saw — and a locked
account still gets in by single sign-on or by resetting its password."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.accounts.test_single_sign_on import sign_in, signed_in_as
from tests.oidc_provider.fixture import OidcProvider, configure_once

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # every request reaches Once from the TLS proxy's address


def log_in(client: Client, username: str, password: str, forwarded_for: str = "") -> int:
    meta: dict[str, Any] = {"REMOTE_ADDR": PROXY}
    if forwarded_for:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for
    response = client.post(reverse("login"), {"username": username, "password": password}, **meta)
    return response.status_code


def lock_out(client: Client, username: str, forwarded_for: str = "") -> None:
    for _ in range(5):
        log_in(client, username, "wrong", forwarded_for)
    assert log_in(client, username, "password", forwarded_for) == 429


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def test_behind_the_proxy_failures_from_one_desk_do_not_lock_the_account_at_another(
    behind_proxy: None, bob: User
) -> None:
    lock_out(Client(), "bob", forwarded_for="198.51.100.7")
    # bob, at his own desk behind the same proxy, logs in.
    assert log_in(Client(), "bob", "password", forwarded_for="203.0.113.20") == 302
    # Only the last hop counts: the proxy appends the real address after whatever was sent.
    assert log_in(Client(), "bob", "password", "203.0.113.20, 198.51.100.7") == 429


def test_without_a_proxy_a_made_up_forwarded_for_header_does_not_escape_the_lock(
    bob: User,
) -> None:
    client = Client()
    for n in range(5):
        log_in(client, "bob", "wrong", forwarded_for=f"192.0.2.{n}")
    assert log_in(client, "bob", "password", forwarded_for="192.0.2.99") == 429
    assert log_in(client, "bob", "password") == 429


def test_a_locked_account_still_signs_in_by_single_sign_on(
    settings: Any, oidc_provider: OidcProvider, bob: User
) -> None:
    configure_once(settings, oidc_provider)
    client = Client(REMOTE_ADDR=PROXY)
    lock_out(client, "bob")
    response = sign_in(client, oidc_provider, "bob")
    assert response.status_code == 302 and response["Location"] == reverse("incident_list")
    assert signed_in_as(client) == "bob"


def test_a_completed_password_reset_lifts_the_lock(bob: User) -> None:
    client = Client(REMOTE_ADDR=PROXY)
    lock_out(client, "bob")
    client.post(reverse("password_reset"), {"email": "bob@example.com"})
    (message,) = mail.outbox
    link = re.search(r"http://testserver(/accounts/password/reset/\S+)", str(message.body))
    assert link
    form = client.get(link[1], follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a new long passphrase", "new_password2": "a new long passphrase"},
    )
    assert done["Location"] == reverse("password_reset_complete")
    assert log_in(client, "bob", "a new long passphrase") == 302


def test_a_reset_that_is_only_asked_for_does_not_lift_the_lock(bob: User) -> None:
    client = Client(REMOTE_ADDR=PROXY)
    lock_out(client, "bob")
    client.post(reverse("password_reset"), {"email": "bob@example.com"})
    assert len(mail.outbox) == 1
    assert log_in(client, "bob", "password") == 429
