"""Safe by default: CSP, cookies, login rate limit, health check."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse


def test_pages_carry_a_content_security_policy_without_inline_script(alice_client: Client) -> None:
    response = alice_client.get(reverse("incident_list"))
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["object-src"] == "'none'"


def test_pages_include_no_inline_script(alice_client: Client) -> None:
    html = alice_client.get(reverse("incident_create")).content.decode()
    # Every <script> element loads a file; none carries code.
    for chunk in html.split("<script")[1:]:
        tag, _, rest = chunk.partition(">")
        assert "src=" in tag
        assert rest.startswith("</script>")
    assert " onclick=" not in html and " onload=" not in html


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_httponly_and_secure_outside_debug(alice: User) -> None:
    client = Client()
    client.get(reverse("login"))
    response = client.post(reverse("login"), {"username": "alice", "password": "password"})
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["httponly"] and session["secure"]
    csrf = client.get(reverse("login")).cookies.get("csrftoken") or client.cookies["csrftoken"]
    assert csrf["httponly"] and csrf["secure"]


@pytest.mark.django_db
def test_repeated_failed_logins_are_locked_out(alice: User) -> None:
    client = Client()
    for _ in range(4):
        response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
    # The fifth failure (ONCE_LOGIN_FAILURE_LIMIT) locks the username from this address.
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 429
    # Even the right password is refused now, with a page that says why.
    response = client.post(reverse("login"), {"username": "alice", "password": "password"})
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    # Another user from the same address is not locked out by alice's failures.
    from tests.factories import UserFactory

    UserFactory(username="bob")
    response = client.post(reverse("login"), {"username": "bob", "password": "password"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_healthz_answers_without_login(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
