"""The README's `manage.py` lines work as written from a fresh shell, outside `make run`.

Each runs in a process of its own with a clean environment: no DJANGO_DEBUG, no secret key.
Only DATABASE_URL is set, to a SQLite file of the test's own, so the developer's db.sqlite3 is
left alone; it is still the embedded database the README's defaults describe.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

PYTHON = Path(settings.BASE_DIR) / ".venv" / "bin" / "python"

pytestmark = pytest.mark.skipif(not PYTHON.exists(), reason="needs the project's .venv")


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (our interpreter, our manage.py)
        [str(PYTHON), "manage.py", *args],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture
def fresh_shell(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }


def test_the_readme_commands_run_without_debug_or_a_secret_key(
    tmp_path: Path, fresh_shell: dict[str, str]
) -> None:
    record = {"external_id": "readme-1", "title": "etcd lost quorum", "started_at": "2024-03-02"}
    (tmp_path / "incidents.jsonl").write_text(json.dumps(record) + "\n")
    assert manage("migrate", "--verbosity", "0", env=fresh_shell).returncode == 0

    imported = manage("import_incidents", str(tmp_path / "incidents.jsonl"), env=fresh_shell)
    assert imported.returncode == 0, imported.stderr
    exported = manage("export_incidents", "-o", str(tmp_path / "out.jsonl"), env=fresh_shell)
    assert exported.returncode == 0, exported.stderr
    assert json.loads((tmp_path / "out.jsonl").read_text())["title"] == "etcd lost quorum"

    made = manage(
        "createsuperuser", "--noinput", "--username", "demo", "--email", "demo@example.com",
        env=fresh_shell,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = manage("create_api_token", "demo", env=fresh_shell)
    assert token.returncode == 0, token.stderr
    assert token.stdout.startswith("once_")


def test_serving_or_a_deployment_check_still_needs_the_secret_key(
    fresh_shell: dict[str, str],
) -> None:
    deploy_check = manage("check", "--deploy", env=fresh_shell)
    assert deploy_check.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in deploy_check.stderr
    serving = manage("runserver", "--noreload", "127.0.0.1:0", env=fresh_shell)
    assert serving.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in serving.stderr
    on_postgres = {**fresh_shell, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/once"}
    exporting = manage("export_incidents", env=on_postgres)
    assert exporting.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in exporting.stderr
