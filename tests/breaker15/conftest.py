"""What the breaker15 tests share (issue 15: drafts, pictures, Markdown in and out)."""

from __future__ import annotations

import io
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import CommandError


def import_markdown(*paths: Path | str) -> tuple[str, str, int]:
    """`import_markdown PATH…`: (standard output, standard error, exit code)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_markdown", *map(str, paths), stdout=out, stderr=err)
        code = 0
    except CommandError as error:
        err.write(str(error))
        code = 1
    return out.getvalue(), err.getvalue(), code


# The real-browser fixtures of tests/e2e (a headless Chromium and a page on the live server).
from tests.e2e.conftest import browser, page  # noqa: E402,F401
