"""Edges of every address: numbers too big for 64 bits, weeks Python can't hold, loose booleans.

Whatever is typed into a URL or a query string answers 4xx with a reason (or a sane page),
never 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from incidents.actions import get_or_create_category
from remediations.models import RemediationStatus
from tests.api_helpers import api_client_for
from tests.factories import IncidentFactory, RemediationFactory

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"  # beyond 64 bits
API_LISTS = [
    "incidents",
    "categories",
    "services",
    "remediations",
    "flags",
    "game-days",
    "scenarios",
]


@pytest.fixture
def api(alice: Any) -> Any:
    return api_client_for(alice)


@pytest.fixture
def some_data(alice: Any) -> None:
    category = get_or_create_category("Control plane > etcd")
    incident = IncidentFactory(title="etcd lost quorum", categories=[category])
    RemediationFactory(title="Provisioned IOPS", incident=incident, category=category)


# --- limit and offset ------------------------------------------------------------------------


BAD_PAGING = [
    ("offset", HUGE), ("offset", "-1"), ("offset", "ten"), ("offset", "1e3"),
    ("limit", "-5"), ("limit", "0"), ("limit", "many"),
]  # fmt: skip


@pytest.mark.parametrize("endpoint", [*API_LISTS, "search"])
def test_api_lists_refuse_a_bad_limit_or_offset_with_a_reason(
    api: Any, some_data: None, endpoint: str
) -> None:
    for param, value in BAD_PAGING:
        response = api.get(f"/api/{endpoint}/", {param: value, "q": "etcd"})
        assert response.status_code == 400, (param, value)
        assert response["Content-Type"] == "application/json"
        assert "whole number" in response.json()[param][0]


@pytest.mark.parametrize("endpoint", [*API_LISTS, "search"])
def test_api_lists_serve_an_offset_past_the_end_as_an_empty_page(
    api: Any, some_data: None, endpoint: str
) -> None:
    response = api.get(f"/api/{endpoint}/", {"offset": str(2**62), "q": "etcd"})
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("endpoint", API_LISTS)
def test_a_limit_beyond_the_maximum_serves_the_maximum(
    api: Any, some_data: None, endpoint: str
) -> None:
    response = api.get(f"/api/{endpoint}/", {"limit": HUGE})
    assert response.status_code == 200


@pytest.mark.parametrize("url", ["/incidents/", "/remediations/", "/flags/", "/search/?q=etcd&"])
def test_html_lists_answer_any_page_number_with_a_page(
    alice_client: Client, some_data: None, url: str
) -> None:
    separator = "" if url.endswith("&") else "?"
    for page in [HUGE, "-1", "0", "x", "1e400", "nan", "9" * 5000]:
        assert alice_client.get(f"{url}{separator}page={page}").status_code == 200, page


# --- ids beyond 64 bits ----------------------------------------------------------------------


def test_ids_beyond_64_bits_are_not_found(api: Any, alice_client: Client) -> None:
    for kind in ["incidents", "remediations", "categories", "services", "flags", "game-days",
                 "scenarios"]:  # fmt: skip
        response = api.get(f"/api/{kind}/{HUGE}/")
        assert response.status_code == 404, kind
        assert "detail" in response.json()
    for url in [
        f"/incidents/{HUGE}/", f"/incidents/{HUGE}/edit/", f"/incidents/{HUGE}/history/",
        f"/remediations/{HUGE}/", f"/remediations/{HUGE}/edit/", f"/flags/{HUGE}/",
    ]:  # fmt: skip
        assert alice_client.get(url).status_code == 404, url


def test_filters_refuse_ids_beyond_64_bits(api: Any, alice_client: Client) -> None:
    for endpoint, param in [
        ("incidents", "category"), ("incidents", "service"), ("remediations", "category"),
        ("remediations", "owner"), ("flags", "incident"), ("flags", "remediation"),
        ("flags", "category"), ("search", "category"), ("scenarios", "game_day"),
        ("scenarios", "category"), ("scenarios", "verifies"),
    ]:  # fmt: skip
        response = api.get(f"/api/{endpoint}/", {param: HUGE + "9", "q": "etcd"})
        assert response.status_code == 400, (endpoint, param)
        assert param in response.json()
    for url in ["/incidents/", "/remediations/", "/search/?q=etcd&"]:
        separator = "" if url.endswith("&") else "?"
        response = alice_client.get(f"{url}{separator}category={HUGE}")
        assert response.status_code in (200, 400), url


# --- digits int() can't read ------------------------------------------------------------------

# str.isdigit() says yes to these, int() says no ("²") or reads another script's digits ("١").
ODD_DIGITS = ["²", "١", "٣٤", "𝟗"]


@pytest.fixture
def linked(alice: Any) -> dict[str, Any]:
    """A fix, a flag naming it, and a game day with a scenario: what the pages take ids of."""
    from gamedays.models import GameDay
    from tests.factories import make_flag

    category = get_or_create_category("Control plane > etcd")
    incident = IncidentFactory(title="etcd lost quorum", categories=[category])
    fix = RemediationFactory(title="Provisioned IOPS", incident=incident, category=category)
    flag = make_flag(incident, category, fix)
    game_day = GameDay.objects.create(title="Break etcd", scheduled_at="2030-01-01T10:00:00Z")
    scenario = game_day.scenarios.create(category=category, injection="Kill a member")
    return {"fix": fix, "flag": flag, "game_day": game_day, "scenario": scenario,
            "category": category}  # fmt: skip


def test_ids_in_queries_and_forms_in_digits_int_cannot_read_are_never_a_500(
    alice_client: Client, linked: dict[str, Any]
) -> None:
    fix, flag, game_day = linked["fix"], linked["flag"], linked["game_day"]
    category = linked["category"]
    for odd in ODD_DIGITS:
        for url, query in [
            ("/remediations/new/", {"follow_up": odd}),
            ("/remediations/new/", {"follow_up": fix.pk, "flag": odd}),
            ("/remediations/new/", {"scenario": odd}),
            ("/remediations/new/", {"incident": odd}),
            ("/incidents/new/", {"scenario": odd}),
            ("/incidents/category-context/", {"categories": odd}),
            ("/incidents/category-context/", {"categories": category.pk, "incident": odd}),
            ("/game-days/new/", {"fix": odd}),
            ("/game-days/fixes/", {"prefix": "scenarios-0", "scenarios-0-verifies": odd,
                                   "scenarios-0-category": "Control plane > etcd"}),
        ]:  # fmt: skip
            assert alice_client.get(url, query).status_code in (200, 400, 404), (url, query)
        for url, data in [
            ("/game-days/backlog/add/", {"fix": odd}),
            ("/game-days/backlog/add/", {"fix": fix.pk, "game_day": odd}),
            (
                "/game-days/new/",
                {
                    "title": "Plan",
                    "scheduled_at": "2030-05-04T10:00:00",
                    "scenarios-TOTAL_FORMS": "1",
                    "scenarios-INITIAL_FORMS": "0",
                    "scenarios-0-category": "Control plane > etcd",
                    "scenarios-0-injection": "Kill a member",
                    "scenarios-0-verifies": odd,
                },
            ),  # fmt: skip
            (
                f"/review/2030-W01/modes/{flag.category_id}/triage/",
                {
                    f"mode-{flag.category_id}-flags": [odd, flag.pk],
                    f"mode-{flag.category_id}-outcome": "partial",
                    f"mode-{flag.category_id}-note": "Expected: a drill.",
                },
            ),  # fmt: skip
        ]:
            for headers in ({}, {"HX-Request": "true"}):
                response = alice_client.post(url, data, headers=headers)
                assert response.status_code in (200, 302, 400, 404, 409), (url, odd, headers)
    assert game_day.scenarios.count() == 1


# --- weeks -----------------------------------------------------------------------------------


def test_weeks_python_cannot_hold_are_not_found_with_a_reason(
    alice_client: Client, api: Any
) -> None:
    for week in [
        "0000-W01", "0001-W01", "1969-W52", "9999-W52", "9999-W53", "2100-W01", "2026-W99",
        "2026-W00", "2027-W53",
    ]:  # fmt: skip
        assert alice_client.get(f"/review/{week}/").status_code == 404, week
        answer = api.get(f"/api/review/{week}/")
        assert answer.status_code == 404, week
        assert week[:4] in answer.json()["detail"]


@pytest.mark.parametrize("week", ["1970-W01", "2099-W53"])
def test_weeks_at_the_edge_of_the_range_render_without_links_beyond_it(
    alice_client: Client, api: Any, week: str
) -> None:
    response = alice_client.get(f"/review/{week}/")
    assert response.status_code == 200
    assert api.get(f"/api/review/{week}/").status_code == 200
    for link in ["/review/1969-W", "/review/2100-W"]:
        assert link not in response.content.decode()


@pytest.mark.parametrize("action", ["meeting/", f"incidents/{HUGE}/reviewed/"])
def test_posts_to_weeks_python_cannot_hold_are_not_found(alice_client: Client, action: str) -> None:
    assert alice_client.post(f"/review/9999-W52/{action}", {}).status_code == 404


# --- booleans --------------------------------------------------------------------------------


@pytest.fixture
def one_overdue_one_not(alice: Any) -> None:
    RemediationFactory(title="Late", due_date="2020-01-01", status=RemediationStatus.OPEN)
    RemediationFactory(title="On time", due_date="2999-01-01", status=RemediationStatus.OPEN)


WORDS = [
    ("1", ["Late"]), ("true", ["Late"]), ("True", ["Late"]), ("YES", ["Late"]), ("on", ["Late"]),
    ("0", ["On time"]), ("false", ["On time"]), ("No", ["On time"]), ("OFF", ["On time"]),
    ("", ["Late", "On time"]),
]  # fmt: skip


def test_boolean_filters_take_every_usual_word(
    api: Any, alice_client: Client, one_overdue_one_not: None
) -> None:
    for word, expected in WORDS:
        response = api.get("/api/remediations/", {"overdue": word})
        assert response.status_code == 200, word
        assert sorted(r["title"] for r in response.json()["results"]) == expected, word
        page = alice_client.get("/remediations/", {"overdue": word})
        assert page.status_code == 200, word
        assert sorted(r.title for r in page.context["page"]) == expected, word


def test_boolean_filters_refuse_other_words_naming_the_accepted_ones(
    api: Any, alice_client: Client, one_overdue_one_not: None
) -> None:
    for word in ["maybe", "2", "tru", "unknown"]:
        response = api.get("/api/remediations/", {"overdue": word})
        assert response.status_code == 400, word
        message = response.json()["overdue"][0]
        for accepted in ["1", "0", "true", "false", "yes", "no", "on", "off"]:
            assert accepted in message
        page = alice_client.get("/remediations/", {"overdue": word})
        assert page.status_code == 400, word
        assert "yes/no" in page.content.decode()


def test_the_overdue_choice_on_the_page_keeps_what_was_chosen(
    alice_client: Client, one_overdue_one_not: None
) -> None:
    page = alice_client.get("/remediations/", {"overdue": "1"}).content.decode()
    assert '<option value="true" selected>' in page


# --- JSON errors under /api/ -----------------------------------------------------------------


def test_an_unknown_api_address_is_a_json_404(api: Any) -> None:
    response = api.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_a_method_the_api_does_not_take_is_a_json_405(api: Any) -> None:
    response = api.delete("/api/incidents/")
    assert response.status_code == 405
    assert response.json()["detail"]


def test_an_anonymous_api_call_is_a_json_401(client: Client) -> None:
    response = client.get("/api/incidents/")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_an_unexpected_error_under_the_api_is_json(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports.api import IncidentViewSet

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom: a bug, not bad input")

    monkeypatch.setattr(IncidentViewSet, "list", explode)
    api.raise_request_exception = False
    response = api.get("/api/incidents/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    assert "boom" not in response.json()["detail"]  # no internals leak to the client


def test_an_unexpected_error_outside_a_viewset_under_the_api_is_json(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accounts.authentication import ApiTokenAuthentication

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    # Fails before DRF's exception handler can see it: the handler500 path answers.
    monkeypatch.setattr(ApiTokenAuthentication, "authenticate", explode)
    api.raise_request_exception = False
    response = api.get("/api/incidents/")
    assert response.status_code == 500
    assert response.json()["detail"]


def test_an_unexpected_error_on_a_page_is_still_the_html_page(
    alice_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incidents.models import IncidentQuerySet

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(IncidentQuerySet, "for_list", explode)
    alice_client.raise_request_exception = False
    response = alice_client.get(reverse("incident_list"))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_a_value_the_database_refuses_is_a_400_not_a_500(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import DataError

    from reports.api import IncidentViewSet

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise DataError("bigint out of range")

    monkeypatch.setattr(IncidentViewSet, "list", refuse)
    response = api.get("/api/incidents/")
    assert response.status_code == 400
    assert "database" in response.json()["detail"]
