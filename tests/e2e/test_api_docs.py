"""The interactive API docs render in a real browser, offline, under our CSP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_write_report import log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_list_every_resource(page: Any) -> None:
    UserFactory(username="alice")
    log_in(page, "alice", "password")
    page.goto("/api/docs/")
    for path in ["/api/incidents/", "/api/categories/", "/api/services/", "/api/remediations/",
                 "/api/flags/{id}/acknowledge/"]:  # fmt: skip
        page.get_by_text(path, exact=True).first.wait_for()
