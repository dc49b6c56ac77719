"""Dependencies run one way (CONVENTIONS.md; issue 10, item 9): each app imports only the apps
below it, so a change announced by `incidents` reaches search and recurrence through
common/changes.py, never through an import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = {
    "common",
    "accounts",
    "incidents",
    "remediations",
    "gamedays",
    "reviews",
    "search",
    "reports",
    "config",
}
ALLOWED = {
    "common": set(),
    "accounts": {"common"},
    "incidents": {"common"},
    "remediations": {"common", "incidents"},
    "gamedays": {"common", "accounts", "incidents", "remediations"},
    "search": {"common", "incidents", "remediations", "gamedays"},
    "reviews": {"common", "incidents", "remediations", "gamedays"},
    "reports": {"common", "incidents", "remediations", "gamedays"},
}


def imported_apps(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & APPS
    return found


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_an_app_imports_only_the_apps_below_it(app: str) -> None:
    wrong = {}
    for path in (ROOT / app).rglob("*.py"):
        extra = imported_apps(path) - ALLOWED[app] - {app}
        if extra:
            wrong[str(path.relative_to(ROOT))] = sorted(extra)
    assert not wrong, wrong
