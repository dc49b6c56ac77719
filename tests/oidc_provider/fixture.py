"""The `oidc_provider` fixture: a real OpenID provider in a second process, for the whole run.

django-oauth-toolkit in OIDC mode (tests/oidc_provider/settings.py) under gunicorn on a free
port of this machine, with a fresh SQLite database and an RSA signing key made for the run.
Once is registered there as a confidential client; the provider's people are below.
`sign_in_at_provider` plays the person's browser at the provider: its login form, then the
redirect back towards Once.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "once-under-test"
CLIENT_SECRET = "once-client-secret-for-the-test-provider-only"
# Where the provider may send people back: the Django test client, and the browser tests' live
# server (localhost at any port: the provider treats it as loopback, RFC 8252 §7.3).
REDIRECT_URIS = ["http://testserver/oidc/callback/", "http://localhost/oidc/callback/"]
# The provider's people: username, password, email, and whether the provider verified it.
PEOPLE = {
    "bob": ("bob-at-the-provider", "bob@example.com", True),
    # Claims alice's address, which the provider never verified: must not become alice.
    "mallory": ("mallory-at-the-provider", "alice@example.com", False),
    "newcomer": ("newcomer-at-the-provider", "newcomer@example.com", True),
}


@dataclass(frozen=True)
class OidcProvider:
    url: str  # http://127.0.0.1:PORT
    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET

    def password(self, username: str) -> str:
        return PEOPLE[username][0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"The test OpenID provider exited:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.1)  # polling a starting server, not waiting out time in a test
    pytest.fail(f"The test OpenID provider did not answer {url} within 30 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    folder = tmp_path_factory.mktemp("oidc_provider")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = folder / "key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        "ONCE_TEST_PROVIDER_DB": str(folder / "provider.sqlite3"),
        "ONCE_TEST_PROVIDER_KEY_FILE": str(key_file),
    }

    def django(*args: str) -> None:
        subprocess.run(  # noqa: S603  (our own interpreter and arguments)
            [sys.executable, "-m", "django", *args], cwd=ROOT, env=env, check=True
        )

    django("migrate", "--noinput", "--verbosity", "0")
    users = [f"{name}:{pw}:{email}{'' if ok else ':unverified'}" for name, (pw, email, ok) in PEOPLE.items()]  # fmt: skip
    django(
        "provider_setup",
        "--client-id", CLIENT_ID,
        "--client-secret", CLIENT_SECRET,
        *[arg for uri in REDIRECT_URIS for arg in ("--redirect-uri", uri)],
        *[arg for user in users for arg in ("--user", user)],
    )  # fmt: skip
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "provider.log"
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--threads", "4", "tests.oidc_provider.wsgi:application"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        discovery = f"{url}/o/.well-known/openid-configuration"
        _wait_until_up(discovery, server, log)
        issuer = requests.get(discovery, timeout=5).json()["issuer"]
        yield OidcProvider(url=url, issuer=issuer)
    finally:
        server.terminate()
        server.wait(timeout=10)


def sign_in_at_provider(authorize_url: str, username: str, password: str) -> str:
    """Plays the browser at the provider: follows `authorize_url` to its login form, signs in,
    and returns the URL the provider sends the browser back to (Once's callback)."""
    browser = requests.Session()
    page = browser.get(authorize_url, timeout=10)
    assert "Test sign-on service" in page.text, page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    next_url = re.search(r'name="next" value="([^"]*)"', page.text)
    assert token and next_url
    response = browser.post(
        page.url,
        data={
            "csrfmiddlewaretoken": token[1],
            "username": username,
            "password": password,
            "next": next_url[1].replace("&amp;", "&"),
        },
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=10,
    )
    provider = urlsplit(authorize_url).netloc
    for _ in range(5):
        assert response.status_code == 302, response.text
        location = urljoin(response.url, response.headers["Location"])
        if urlsplit(location).netloc != provider:
            return location
        response = browser.get(location, allow_redirects=False, timeout=10)
    raise AssertionError("the provider never sent the browser back")


def configure_once(settings: Any, provider: OidcProvider) -> None:
    """Point Once (the `settings` fixture) at the provider, as ONCE_OIDC_* would."""
    from accounts.oidc import forget_provider

    settings.ONCE_OIDC_ISSUER = provider.issuer
    settings.ONCE_OIDC_CLIENT_ID = provider.client_id
    settings.ONCE_OIDC_CLIENT_SECRET = provider.client_secret
    forget_provider()
