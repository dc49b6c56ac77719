"""Whatever a review form is sent, the answer is the agenda or its row, never a server error;
and a decision is in the minutes exactly when it was made."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviews.models import ReviewDecision
from reviews.weeks import Week

pytestmark = pytest.mark.django_db

values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["1", "0", "-1", "99999999999999999999", "", "fix_did_not_hold", "partial",
                     "not_a_recurrence", "done", "open", "alice", "2026-12-01T10:00",
                     "1969-12-31T23:59", "2101-01-01T00:00", "2026-02-30"]),
)  # fmt: skip


def fields(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(names), values, max_size=len(names))


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    which=st.sampled_from(["reviewed", "investigating", "flag", "group", "reopen", "remediation"]),
    data=st.data(),
    htmx=st.booleans(),
)
def test_any_post_to_the_review_is_answered_without_a_server_error(
    alice_client: Client, kb: dict[str, Any], week: Week, which: str, data: Any, htmx: bool
) -> None:
    flag, etcd = kb["flag"], kb["etcd"]
    urls = {
        "reviewed": (f"incidents/{kb['unreviewed'].pk}/reviewed/", ["version", "resolved_at"]),
        "investigating": (f"incidents/{kb['new_sev1'].pk}/reviewed/", ["version", "resolved_at"]),
        "flag": (f"flags/{flag.pk}/", [f"flag-{flag.pk}-outcome", f"flag-{flag.pk}-note"]),
        "group": (
            f"modes/{etcd.pk}/triage/",
            [f"mode-{etcd.pk}-flags", f"mode-{etcd.pk}-outcome", f"mode-{etcd.pk}-note"],
        ),
        "reopen": (f"remediations/{kb['done'].pk}/reopen/", ["version"]),
        "remediation": (
            f"remediations/{kb['overdue'].pk}/",
            [f"remediation-{kb['overdue'].pk}-{name}"
             for name in ("version", "status", "owner", "due_date")],
        ),
    }  # fmt: skip
    path, names = urls[which]
    body = data.draw(fields(names))
    before = ReviewDecision.objects.count()
    extra: dict[str, Any] = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = alice_client.post(f"/review/{week.label}/{path}", body, **extra)
    assert response.status_code in (200, 302, 400, 409), response.status_code
    if response.status_code == 400:
        assert ReviewDecision.objects.count() == before  # refused: nothing decided
