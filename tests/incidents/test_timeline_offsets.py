"""Timeline times default to the incident's day, and "+10m"-style offsets are accepted — by
the one validator, so the page, the API and the importers agree (issue 15)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from common.validation import Errors
from incidents.models import Incident
from incidents.records import clean_incident
from tests.api_helpers import api_client_for
from tests.incidents.test_incident_form import incident_post

UTC = datetime.UTC
START = "2026-03-02T14:05:00Z"


def times(*ats: Any, started_at: Any = START) -> tuple[list[datetime.datetime | None], Errors]:
    errors = Errors()
    record = clean_incident(
        {"title": "t", "started_at": started_at,
         "timeline": [{"at": at, "text": f"entry {n}"} for n, at in enumerate(ats)]},
        errors,
    )  # fmt: skip
    by_text = {e["text"]: e["at"] for e in record["timeline"]}
    return [by_text[f"entry {n}"] for n in range(len(ats))], errors


def at(hour: int, minute: int, second: int = 0, day: int = 2) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


def test_offsets_count_from_the_entry_above_or_the_start() -> None:
    found, errors = times("+10m", "+1h30m", "-5m", "+90s", "+1d")
    assert not errors
    assert found == [at(14, 15), at(15, 45), at(15, 40), at(15, 41, 30), at(15, 41, 30, day=3)]


def test_an_offset_after_a_full_time_counts_from_it() -> None:
    found, errors = times("2026-03-02T16:00:00Z", "+ 2 min")
    assert not errors
    assert found == [at(16, 0), at(16, 2)]


def test_a_time_of_day_is_on_the_incidents_day() -> None:
    found, errors = times("14:20", "9:05:07", "+5m")
    assert not errors
    assert found == [at(14, 20), at(9, 5, 7), at(9, 10, 7)]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("25:00", "is not a time of day: 25:00."),
        ("+", "is not an offset: write +10m, +1h30m"),
        ("+10", "is not an offset: write +10m, +1h30m"),
        ("+10y", "is not an offset: write +10m, +1h30m"),
        ("-999999d", "must be between 1970-01-01 and 2100-01-01"),
        ("+99999999d", "must be between 1970-01-01 and 2100-01-01"),
        ("+" + "9" * 5000 + "m", "must be between 1970-01-01 and 2100-01-01"),
    ],
)
def test_bad_times_are_refused_with_a_reason(value: str, message: str) -> None:
    _, errors = times(value)
    assert [path for path, _ in errors.items] == [("timeline", 0, "at")]
    assert message in errors.items[0][1]


def test_an_offset_with_nothing_to_count_from_says_so() -> None:
    errors = Errors()
    clean_incident({"title": "t", "timeline": [{"at": "+10m", "text": "x"}]}, errors)
    assert any(
        path == ("timeline", 0, "at") and "nothing to count from" in message
        for path, message in errors.items
    )
    errors = Errors()
    clean_incident({"title": "t", "timeline": [{"at": "10:00", "text": "x"}]}, errors)
    assert any("with no day" in message for _, message in errors.items)


@given(minutes=st.integers(min_value=0, max_value=10_000), sign=st.sampled_from("+-"))
def test_any_minute_offset_moves_by_that_many_minutes(minutes: int, sign: str) -> None:
    found, errors = times("2026-03-02T14:05:00Z", f"{sign}{minutes}m")
    assert not errors
    delta = datetime.timedelta(minutes=minutes)
    assert found[1] == (at(14, 5) + delta if sign == "+" else at(14, 5) - delta)


@given(text=st.text(max_size=30))
def test_any_text_is_a_time_or_a_reason_never_a_crash(text: str) -> None:
    found, errors = times(text)
    assert (found[0] is None) == bool(errors)


@pytest.mark.django_db
def test_the_form_takes_offsets_and_times_of_day(alice_client: Client) -> None:
    data = incident_post(**{
        "timeline-TOTAL_FORMS": "3",
        "timeline-0-at": "14:05", "timeline-0-text": "Latency rises",
        "timeline-1-at": "+10m", "timeline-1-text": "Paged",
        "timeline-2-at": "+1h30m", "timeline-2-text": "Recovered",
    })  # fmt: skip
    response = alice_client.post(reverse("incident_create"), data)
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert [(t.at, t.text) for t in incident.timeline.all()] == [
        (at(14, 5), "Latency rises"), (at(14, 15), "Paged"), (at(15, 45), "Recovered"),
    ]  # fmt: skip
    # The form explains what it takes.
    html = alice_client.get(f"/incidents/{incident.pk}/edit/").content.decode()
    assert "+1h30m" in html and "the incident&#x27;s day" in html


@pytest.mark.django_db
def test_the_form_shows_a_bad_offset_beside_the_entry_and_keeps_it(alice_client: Client) -> None:
    data = incident_post(**{"timeline-0-at": "+10 parsecs"})
    response = alice_client.post(reverse("incident_create"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="+10 parsecs"' in html
    assert "is not an offset: write +10m, +1h30m, -5m or +2d" in html


def test_an_offset_in_other_digits_is_refused_not_read_as_minutes() -> None:
    # Arabic-Indic "+١٠m" (or fullwidth digits) was quietly read as ten minutes: offsets are
    # written in ASCII digits only.
    for typed in ("+\u0661\u0660m", "+1\u0660m", "+\uff11\uff10m"):
        found, errors = times(typed)
        assert found == [None]
        assert "is not an offset: write +10m" in errors.items[0][1]


@pytest.mark.django_db
def test_a_mistyped_offset_is_answered_with_what_offsets_look_like(alice_client: Client) -> None:
    # "+10x" and "+99999999d" were told "must be a date or date-time in ISO 8601": nothing
    # about offsets (+10m, +1h30m), which is what the person was typing.
    for typed, said in (
        ("+10x", "is not an offset: write +10m, +1h30m, -5m or +2d"),
        ("+99999999d", "is an offset that goes too far: times must be between 1970-01-01"),
    ):
        response = alice_client.post(
            reverse("incident_create"), incident_post(**{"timeline-0-at": typed})
        )
        assert response.status_code == 400
        html = response.content.decode()
        assert "ISO 8601, not &#x27;" + typed not in html
        assert said in html
        assert f'value="{typed}"' in html  # what was typed is kept


@pytest.mark.django_db
def test_the_api_takes_offsets_too(alice: Any) -> None:
    response = api_client_for(alice).post(
        "/api/incidents/",
        {"title": "API", "started_at": START,
         "timeline": [{"at": "+10m", "text": "a"}, {"at": "14:00", "text": "b"}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    assert [e["at"] for e in response.json()["timeline"]] == [
        "2026-03-02T14:00:00Z",
        "2026-03-02T14:15:00Z",
    ]
