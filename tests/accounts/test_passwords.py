"""Changing and resetting a password: Django's views, our pages, mail through the configured
backend, and links from the login page and the account page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_login_page_links_to_the_password_reset(client: Client) -> None:
    assert reverse("password_reset") in client.get(reverse("login")).content.decode()


def test_the_account_page_links_to_the_password_change(alice_client: Client) -> None:
    assert (
        reverse("password_change") in alice_client.get(reverse("account_tokens")).content.decode()
    )


def test_a_reset_link_goes_by_email_and_sets_a_new_password(client: Client, bob: User) -> None:
    response = client.post(reverse("password_reset"), {"email": "BOB@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    (message,) = mail.outbox
    assert message.to == ["bob@example.com"] and message.subject == "Reset your Once password"
    assert '"bob"' in message.body
    link = re.search(r"http://testserver(/accounts/password/reset/\S+)", str(message.body))
    assert link
    form_url = client.get(link[1])["Location"]  # Django hides the token from the page's URL
    page = client.get(form_url)
    assert "Choose a new password" in page.content.decode()
    assert '<link rel="stylesheet"' in page.content.decode()  # our look, not the admin's
    client.post(form_url, {"new_password1": "correct horse battery", "new_password2": "correct horse battery"})  # fmt: skip
    bob.refresh_from_db()
    assert bob.check_password("correct horse battery")
    # The link works once.
    assert "no longer works" in client.get(link[1], follow=True).content.decode()


def test_a_reset_for_an_unknown_address_says_the_same_and_sends_nothing(client: Client) -> None:
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)
    assert "Check your email" in response.content.decode()
    assert mail.outbox == []


def test_an_account_without_a_password_gets_no_reset_email(client: Client) -> None:
    user = UserFactory(username="sso-only", email="sso@example.com")
    user.set_unusable_password()
    user.save()
    client.post(reverse("password_reset"), {"email": "sso@example.com"})
    assert mail.outbox == []


def test_a_password_change_needs_the_old_password(bob: User, bob_client: Client) -> None:
    url = reverse("password_change")
    refused = bob_client.post(url, {"old_password": "wrong", "new_password1": "correct horse battery", "new_password2": "correct horse battery"})  # fmt: skip
    assert refused.status_code == 200 and "incorrectly" in refused.content.decode()
    done = bob_client.post(url, {"old_password": "password", "new_password1": "correct horse battery", "new_password2": "correct horse battery"})  # fmt: skip
    assert done["Location"] == reverse("password_change_done")
    bob.refresh_from_db()
    assert bob.check_password("correct horse battery")
    # bob stays signed in on this device.
    assert bob_client.get(reverse("account_tokens")).status_code == 200


def test_the_change_page_tells_a_single_sign_on_account_where_its_password_is(
    client: Client,
) -> None:
    user = UserFactory(username="sso-only")
    user.set_unusable_password()
    user.save()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    html = client.get(reverse("password_change")).content.decode()
    assert "signs in by single sign-on" in html and "old_password" not in html


def test_the_password_change_page_needs_a_login(client: Client) -> None:
    response = client.get(reverse("password_change"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
