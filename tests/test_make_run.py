"""`make run`: what it hands the commands it runs, checked with a stand-in for the venv's python.

(The real first run, from a fresh clone, is too slow for the suite: it builds a virtual
environment. Its quiet output is checked by hand, see the Makefile.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")

# Prints what it was asked to run, and the settings `make run` exported to it.
FAKE_PYTHON = """#!/bin/sh
echo "python $* | ONCE_BASE_URL=$ONCE_BASE_URL DJANGO_DEBUG=$DJANGO_DEBUG"
"""


def make_run(tmp_path: Path, *args: str, **env: str) -> str:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    (venv / ".runtime").touch()  # newer than requirements.txt: nothing to install
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    done = subprocess.run(  # noqa: S603
        ["make", "--no-print-directory", "run", f"VENV={venv}", *args],  # noqa: S607
        cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_notification_links_follow_the_port_make_run_serves_on(tmp_path: Path) -> None:
    out = make_run(tmp_path, "PORT=8123")
    assert "python manage.py runserver --skip-checks 127.0.0.1:8123" in out
    assert "ONCE_BASE_URL=http://127.0.0.1:8123 DJANGO_DEBUG=on" in out


def test_a_base_url_someone_set_is_kept(tmp_path: Path) -> None:
    out = make_run(tmp_path, "PORT=8123", ONCE_BASE_URL="https://once.example.com")
    assert "ONCE_BASE_URL=https://once.example.com" in out


def test_make_run_echoes_none_of_its_own_commands(tmp_path: Path) -> None:
    lines = make_run(tmp_path).splitlines()
    assert all(line.startswith("python manage.py") for line in lines), lines


def test_runserver_announces_only_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from django.core.management import get_commands

    from common.management.commands.runserver import Command

    assert get_commands()["runserver"] == "common"  # ours, not WhiteNoise's or Django's
    out = io.StringIO()
    command = Command(stdout=out)
    command.addr, command._raw_ipv6, command.protocol = "127.0.0.1", False, "http"
    monkeypatch.setenv("DJANGO_RUNSERVER_HIDE_WARNING", "true")
    command.on_bind(8123)
    assert out.getvalue() == "Once is at http://127.0.0.1:8123/  (stop with Ctrl-C)\n"
