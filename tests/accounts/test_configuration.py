"""ONCE_OIDC_* and ONCE_SESSION_IDLE_MINUTES: a value Once can't use stops start-up with one
sentence naming the variable; a good one starts without asking the provider anything."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

PYTHON = Path(settings.BASE_DIR) / ".venv" / "bin" / "python"

pytestmark = pytest.mark.skipif(not PYTHON.exists(), reason="needs the project's .venv")

CONFIGURED = {
    "ONCE_OIDC_ISSUER": "https://login.example.com/realms/staff",
    "ONCE_OIDC_CLIENT_ID": "once",
    "ONCE_OIDC_CLIENT_SECRET": "s3cret",
}


def check_with(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **variables,
    }
    return subprocess.run(  # noqa: S603  (our interpreter, our manage.py)
        [str(PYTHON), "manage.py", "check"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("named", "variables"),
    [
        ("ONCE_OIDC_ISSUER", {**CONFIGURED, "ONCE_OIDC_ISSUER": "http://login.example.com"}),
        ("ONCE_OIDC_ISSUER", {**CONFIGURED, "ONCE_OIDC_ISSUER": "login.example.com"}),
        ("ONCE_OIDC_CLIENT_SECRET", {**CONFIGURED, "ONCE_OIDC_CLIENT_SECRET": ""}),
        ("ONCE_OIDC_ISSUER", {"ONCE_OIDC_CLIENT_ID": "once"}),
        ("ONCE_OIDC_ISSUER", {"ONCE_OIDC_JWKS_URI": "https://login.example.com/jwks"}),
        ("ONCE_OIDC_SCOPES", {**CONFIGURED, "ONCE_OIDC_SCOPES": "email profile"}),
        ("ONCE_OIDC_SIGN_ALGO", {**CONFIGURED, "ONCE_OIDC_SIGN_ALGO": "none"}),
        (
            "ONCE_OIDC_AUTHORIZATION_ENDPOINT",
            {**CONFIGURED, "ONCE_OIDC_TOKEN_ENDPOINT": "https://login.example.com/token"},
        ),  # fmt: skip
        ("ONCE_SESSION_IDLE_MINUTES", {"ONCE_SESSION_IDLE_MINUTES": "0"}),
        ("ONCE_SESSION_IDLE_MINUTES", {"ONCE_SESSION_IDLE_MINUTES": "eight hours"}),
    ],
)
def test_a_value_once_cannot_use_stops_start_up_naming_the_variable(
    tmp_path: Path, named: str, variables: dict[str, str]
) -> None:
    result = check_with(tmp_path, **variables)
    assert result.returncode != 0, variables
    last = result.stderr.strip().splitlines()[-1]
    assert named in last and "ImproperlyConfigured" in last, last


def test_a_configured_provider_is_not_contacted_at_start_up(tmp_path: Path) -> None:
    # Nothing answers there; the discovery document is fetched on the first sign-in.
    result = check_with(tmp_path, **CONFIGURED, ONCE_OIDC_SCOPES="openid,email")
    assert result.returncode == 0, result.stderr
