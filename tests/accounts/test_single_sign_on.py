"""Single sign-on, end to end against a real OpenID provider running beside the test
(tests/oidc_provider/): Once → the provider's authorize page → its login → back to Once's
callback → a Once session for the right person."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts.models import SingleSignOnIdentity
from common.models import AuditEvent
from tests.oidc_provider.fixture import OidcProvider, configure_once, sign_in_at_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def sso(settings: Any, oidc_provider: OidcProvider) -> OidcProvider:
    configure_once(settings, oidc_provider)
    return oidc_provider


def sign_in(client: Client, provider: OidcProvider, username: str, next_url: str = "") -> Any:
    """The whole dance; returns Once's answer to the provider's redirect back."""
    start = client.get(reverse("oidc_start"), {"next": next_url} if next_url else {})
    assert start.status_code == 302
    authorize = start["Location"]
    assert authorize.startswith(provider.url + "/o/authorize/")
    back = sign_in_at_provider(authorize, username, provider.password(username))
    parts = urlsplit(back)
    assert parts.path == reverse("oidc_callback")
    return client.get(f"{parts.path}?{parts.query}")


def signed_in_as(client: Client) -> str | None:
    response = client.get(reverse("account_tokens"))
    return response.context["user"].username if response.status_code == 200 else None


def test_the_login_page_offers_single_sign_on_when_configured(sso: OidcProvider) -> None:
    html = Client().get(reverse("login")).content.decode()
    assert "Sign in with single sign-on" in html
    assert reverse("oidc_start") in html


def test_without_configuration_there_is_no_button_and_no_route(client: Client) -> None:
    assert "single sign-on" not in client.get(reverse("login")).content.decode()
    assert client.get(reverse("oidc_start")).status_code == 404
    assert client.get(reverse("oidc_callback")).status_code == 404


def test_a_person_signs_in_through_the_provider_to_their_own_account(
    sso: OidcProvider, bob: User
) -> None:
    client = Client()
    response = sign_in(client, sso, "bob", next_url="/remediations/")
    assert response.status_code == 302 and response["Location"] == "/remediations/"
    assert signed_in_as(client) == "bob"
    identity = SingleSignOnIdentity.objects.get(user=bob)
    assert identity.issuer == sso.issuer and identity.subject


def test_deactivating_an_account_ends_its_single_sign_on_session(
    sso: OidcProvider, bob: User
) -> None:
    client = Client()
    sign_in(client, sso, "bob")
    assert signed_in_as(client) == "bob"
    bob.is_active = False
    bob.save()
    assert signed_in_as(client) is None
    # Nor can the provider sign the account in again.
    sign_in(client, sso, "bob")
    assert signed_in_as(client) is None
    assert "your Once account is deactivated" in client.get(reverse("login")).content.decode()


def test_the_second_sign_in_finds_the_account_by_subject_even_after_an_email_change(
    sso: OidcProvider, bob: User
) -> None:
    sign_in(Client(), sso, "bob")
    bob.email = "robert@example.com"  # changed in Once; the provider still says bob@
    bob.save()
    client = Client()
    sign_in(client, sso, "bob")
    assert signed_in_as(client) == "bob"
    assert User.objects.count() == 1


def test_an_unverified_email_does_not_take_over_the_account_that_has_it(
    sso: OidcProvider, alice: User
) -> None:
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client = Client()
    sign_in(client, sso, "mallory")  # the provider says alice@example.com, not verified
    assert signed_in_as(client) == "mallory"
    mallory = User.objects.get(username="mallory")
    assert not (mallory.is_staff or mallory.is_superuser) and mallory.email == ""
    assert not SingleSignOnIdentity.objects.filter(user=alice).exists()


def test_a_newcomer_gets_an_account_without_a_password(sso: OidcProvider) -> None:
    client = Client()
    response = sign_in(client, sso, "newcomer")
    assert response["Location"] == reverse("incident_list")
    newcomer = User.objects.get(username="newcomer")
    assert newcomer.email == "newcomer@example.com"
    assert not newcomer.has_usable_password() and not newcomer.is_staff


def test_a_provider_username_that_is_taken_never_signs_in_to_that_account(
    sso: OidcProvider,
) -> None:
    from tests.factories import UserFactory

    UserFactory(username="newcomer", email="someone-else@example.com")
    client = Client()
    sign_in(client, sso, "newcomer")
    assert signed_in_as(client) == "newcomer-2"


def test_without_account_creation_a_stranger_is_refused_with_a_reason(
    sso: OidcProvider, settings: Any
) -> None:
    settings.ONCE_OIDC_CREATE_USERS = False
    client = Client()
    response = sign_in(client, sso, "newcomer")
    assert response["Location"] == reverse("login")
    page = client.get(reverse("login")).content.decode()
    assert "Single sign-on failed: no Once account has your verified email address." in page
    assert signed_in_as(client) is None


def test_a_forged_callback_signs_nobody_in(sso: OidcProvider, bob: User) -> None:
    client = Client()
    client.get(reverse("oidc_start"))
    response = client.get(reverse("oidc_callback"), {"code": "made-up", "state": "made-up"})
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert signed_in_as(client) is None


def test_a_provider_that_does_not_answer_sends_people_back_to_the_password_form(
    settings: Any,
) -> None:
    from accounts.oidc import forget_provider

    settings.ONCE_OIDC_ISSUER = "http://127.0.0.1:9/nothing-listens-here"
    settings.ONCE_OIDC_CLIENT_ID = settings.ONCE_OIDC_CLIENT_SECRET = "x"
    forget_provider()
    client = Client()
    response = client.get(reverse("oidc_start"))
    assert response["Location"] == reverse("login")
    assert "can&#x27;t be reached" in client.get(reverse("login")).content.decode()


def test_staff_see_who_is_bound_to_which_subject_and_can_unlink_them(
    sso: OidcProvider, bob: User, alice: User
) -> None:
    sign_in(Client(), sso, "bob")
    identity = SingleSignOnIdentity.objects.get(user=bob)
    alice.is_staff = alice.is_superuser = True
    alice.save()
    admin = Client()
    admin.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    listing = admin.get("/admin/accounts/singlesignonidentity/").content.decode()
    assert identity.subject in listing and "bob" in listing
    assert admin.get("/admin/accounts/singlesignonidentity/add/").status_code == 403
    url = f"/admin/accounts/singlesignonidentity/{identity.pk}/delete/"
    assert admin.post(url, {"post": "yes"}).status_code == 302
    assert not SingleSignOnIdentity.objects.filter(user=bob).exists()
    deleted = AuditEvent.objects.get(action=AuditEvent.Action.DELETION)
    assert (deleted.user, deleted.target_label) == (alice, str(identity))
    # bob signs in again by the provider, and is bound anew to his own account.
    client = Client()
    sign_in(client, sso, "bob")
    assert signed_in_as(client) == "bob"
