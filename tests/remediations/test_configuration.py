"""The recurrence engine's settings: a value the engine can't work with stops start-up with one
sentence naming the variable (PRODUCT.md, "Configuration"), never a crash later, in the
periodic reconciliation or when someone saves a done fix."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

PYTHON = Path(settings.BASE_DIR) / ".venv" / "bin" / "python"

pytestmark = pytest.mark.skipif(not PYTHON.exists(), reason="needs the project's .venv")


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
    ("name", "value"),
    [
        ("ONCE_HOLDING_DAYS", "0"),
        ("ONCE_HOLDING_DAYS", "-1"),
        ("ONCE_HOLDING_DAYS", "abc"),
        # Beyond what a date can hold: "done + N days" overflows in every reconciliation.
        ("ONCE_HOLDING_DAYS", "100000000"),
        ("ONCE_HOLDING_DAYS", "99999999999999999999"),
        ("ONCE_NOTIFY_WITHIN_DAYS", "100000000"),
        ("ONCE_NOTIFY_WITHIN_DAYS", "-1"),
        ("ONCE_RECONCILE_SECONDS", "0"),
        ("ONCE_RECONCILE_SECONDS", "-600"),
        ("ONCE_RECURRENCE_KINDS", "garbage"),
    ],
)
def test_a_value_the_engine_cannot_use_stops_start_up_naming_the_variable(
    tmp_path: Path, name: str, value: str
) -> None:
    result = check_with(tmp_path, **{name: value})
    assert result.returncode != 0, (name, value)
    last = result.stderr.strip().splitlines()[-1]
    assert name in last and "ImproperlyConfigured" in last, last


def test_the_largest_holding_time_accepted_still_reconciles(tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603
        [str(PYTHON), "manage.py", "migrate", "-v0"],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=300,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
             "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "ONCE_HOLDING_DAYS": "36500",
    }  # fmt: skip
    script = (
        "from remediations import effectiveness as e; e.due_for_holding();"
        "import datetime; from django.utils import timezone;"
        "print(e.judge(datetime.datetime(2099, 12, 31, tzinfo=datetime.UTC), [], None,"
        " timezone.now())[0])"
    )
    result = subprocess.run(  # noqa: S603
        [str(PYTHON), "manage.py", "shell", "-c", script],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "unverified"
