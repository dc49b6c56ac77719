"""A person signs in to Once by single sign-on in a real browser, through a real OpenID
provider running beside the test (tests/oidc_provider/)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.factories import UserFactory
from tests.oidc_provider.fixture import OidcProvider, configure_once

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_signing_in_by_single_sign_on_from_the_login_page(
    page: Any, settings: Any, oidc_provider: OidcProvider
) -> None:
    configure_once(settings, oidc_provider)
    UserFactory(username="bob", email="bob@example.com")

    page.goto("/remediations/")
    assert "/accounts/login/" in page.url
    page.click("text=Sign in with single sign-on")
    # At the provider: its own login page, on its own address.
    page.wait_for_url(re.compile(re.escape(oidc_provider.url) + r"/login/"))
    page.fill("#id_username", "bob")
    page.fill("#id_password", oidc_provider.password("bob"))
    page.click("text=Sign in at the provider")
    # Back at Once, signed in as bob, on the page he asked for.
    page.wait_for_url(re.compile(r"/remediations/$"))
    assert page.inner_text(".site-header .who") == "bob"
