"""Every page needs a login, except an explicit public list. Walks the URL resolver, so a new
page can't be forgotten."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# Pages an anonymous visitor may see. Anything else must send them to the login page.
PUBLIC = {
    "/accounts/login/",
    "/healthz",
    # Forgotten passwords: a reset link's token is the credential.
    "/accounts/password/reset/",
    "/accounts/password/reset/sent/",
    "/accounts/password/reset/x/x/",
    "/accounts/password/reset/done/",
}
# Single sign-on, for visitors on their way in: not found unless ONCE_OIDC_* configures it
# (tests/accounts/test_single_sign_on.py walks it configured).
SINGLE_SIGN_ON = {"/oidc/authenticate/", "/oidc/callback/"}
# Addresses whose secret is the credential (calendar apps can't log in): a wrong secret is 404.
BY_SECRET = {"/game-days/calendar/x.ics"} | SINGLE_SIGN_ON
# Django's admin answers with its own redirect to the login page; checked below like the rest.
# The editor's autosave (reports/drafts.py) is a script's call, not a page: signed out, it is
# answered 401 with a message the page shows, never the login page (which a fetch() would
# follow and read as "saved").
AUTOSAVE = {"/incidents/new/draft/", "/incidents/1/draft/"}


def _walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _example_path(route: str) -> str:
    """Turn a route into a concrete path: <int:pk> → 1, <slug:slug> → x, regexes stripped."""
    path = re.sub(r"<int:\w+>", "1", route)
    path = re.sub(r"<week:\w+>", "2026-W48", path)
    path = re.sub(r"<(?:slug|str|path):?\w*>", "x", path)
    # A picture's key and extension (incidents/images.py): a name the route matches.
    path = re.sub(r"\(\?P<key>[^)]*\)", "k" * 16, path)
    path = re.sub(r"\(\?P<extension>[^)]*\)", "png", path)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "x", path)
    path = path.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")
    path = re.sub(r"[()?*+\[\]]", "", path)
    return "/" + path


ALL_PATHS = sorted({_example_path(route) for route in _walk(get_resolver().url_patterns)})


def test_the_walk_finds_the_pages_we_know() -> None:
    known_paths = [
        "/incidents/",
        "/incidents/new/",
        "/incidents/1/edit/",
        "/categories/x/",
        "/remediations/1/",
        "/admin/",
        "/api/incidents/",
        "/api/flags/x/acknowledge/",
        "/review/2026-W48/",
        "/search/",
    ]
    for known in known_paths:  # fmt: skip
        assert known in ALL_PATHS


def _is_api(path: str) -> bool:
    return path.startswith("/api/") and path != "/api/docs/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", [p for p in ALL_PATHS if p not in PUBLIC | BY_SECRET | AUTOSAVE and not _is_api(p)]
)
def test_anonymous_visitors_are_sent_to_login(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (301, 302), f"{path} answered {response.status_code}"
    # Admin pages send visitors to /admin/login/, which is itself walked here and redirects on.
    assert response["Location"].startswith(("/accounts/login/", "/admin/login/"))


@pytest.mark.django_db
@pytest.mark.parametrize("path", [p for p in ALL_PATHS if _is_api(p)])
def test_anonymous_api_calls_are_refused(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401, f"{path} answered {response.status_code}"
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(BY_SECRET))
def test_addresses_opened_by_a_secret_are_not_found_without_it(client: Client, path: str) -> None:
    assert path in ALL_PATHS
    assert client.get(path).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(PUBLIC))
def test_public_pages_answer_without_login(client: Client, path: str) -> None:
    assert client.get(path).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(AUTOSAVE))
def test_a_signed_out_autosave_is_refused_with_a_message(client: Client, path: str) -> None:
    assert path in ALL_PATHS
    response = client.post(path, {"title": "typed"})
    assert response.status_code == 401 and response.json()["message"]
