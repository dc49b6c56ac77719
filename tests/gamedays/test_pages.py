"""The game-day pages: plan, run, close, findings that become work, the backlog of fixes."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from common.validation import Errors, RecordInvalid
from gamedays.actions import game_day_record_of, record_outcome, save_game_day
from gamedays.forms import fingerprint
from gamedays.models import GameDay, Scenario
from gamedays.records import clean_game_day
from incidents.actions import get_or_create_category
from incidents.models import Incident
from remediations import effectiveness
from remediations.models import Effectiveness, Remediation
from tests.conftest import MODEL_BACKEND
from tests.factories import RemediationFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
HTMX = {"HX-Request": "true"}


def days(n: float) -> datetime.datetime:
    return NOW + datetime.timedelta(days=n)


def _fix(path: str = "Control plane > etcd", done: float = -30, **fields: Any) -> Remediation:
    fix = RemediationFactory(
        category=get_or_create_category(path), kind=fields.pop("kind", "prevent"),
        status="done", opened_at=days(done - 30), done_at=days(done), **fields,
    )  # fmt: skip
    effectiveness.assess([fix.pk])  # as saving it does: unverified until there is evidence
    fix.refresh_from_db()
    return fix


def _save(raw: dict[str, Any], game_day: GameDay | None = None) -> GameDay:
    errors = Errors()
    record = clean_game_day(raw, errors)
    if errors:
        raise RecordInvalid(errors)
    game_day = game_day or GameDay()
    save_game_day(
        game_day, record, by=None, expected_version=game_day.version if game_day.pk else None
    )
    return game_day


def _scenario(**fields: Any) -> dict[str, Any]:
    return {"category": "Control plane > etcd", "injection": "Terminate one etcd member",
            "services": ["etcd"], **fields}  # fmt: skip


def _game_day(*scenarios: dict[str, Any], **fields: Any) -> GameDay:
    return _save({
        "title": "Break etcd in staging", "scheduled_at": days(1).isoformat(),
        "scenarios": list(scenarios) or [_scenario()], **fields,
    })  # fmt: skip


def _form(**fields: Any) -> dict[str, Any]:
    """What the plan form sends: the game day's fields, then `scenarios` as rows."""
    rows = fields.pop("scenarios", [])
    data: dict[str, Any] = {
        "title": "Terminate etcd members", "scheduled_at": "2030-05-04T10:00:00",
        "environment": "staging", "facilitator": "", "participants": [], "plan": "",
        "scenarios-TOTAL_FORMS": str(len(rows)), "scenarios-INITIAL_FORMS": "0",
        **fields,
    }  # fmt: skip
    for n, row in enumerate(rows):
        for key, value in row.items():
            data[f"scenarios-{n}-{key}"] = value
    return data


def _row(**fields: Any) -> dict[str, Any]:
    return {"category": "Control plane > etcd", "injection": "Terminate one etcd member",
            "services_text": "etcd", **fields}  # fmt: skip


def _text(response: Any) -> str:
    # A date is inline text in a <time> element (common/dates.py): read it as the text it is.
    return re.sub(r"</?time[^>]*>", "", response.content.decode())


# --- Planning -------------------------------------------------------------------------------


def test_a_game_day_is_planned_with_two_scenarios(alice_client: Client, bob: User) -> None:
    fix = _fix()
    response = alice_client.post("/game-days/new/", _form(
        facilitator="alice", participants=["bob", "alice"], plan="## Goal\n\nLearn.",
        scenarios=[
            _row(title="One member", hypothesis="The API answers within 1 s",
                 abort_conditions="Error rate above 5 %", rollback_plan="Start it again",
                 verifies=[str(fix.pk)]),
            _row(title="Invalid config", category="Networking > Envoy config",
                 injection="Push an invalid listener", services_text="Envoy, xDS"),
        ],
    ))  # fmt: skip
    game_day = GameDay.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/game-days/{game_day.pk}/"
    assert game_day.facilitator.username == "alice"
    assert sorted(u.username for u in game_day.participants.all()) == ["alice", "bob"]
    assert game_day.plan == "## Goal\n\nLearn." and game_day.status == "planned"
    first, second = game_day.scenarios.all()
    assert (first.title, first.hypothesis, first.rollback_plan) == (
        "One member", "The API answers within 1 s", "Start it again",
    )  # fmt: skip
    assert list(first.verifies.all()) == [fix]
    assert second.category.path == "Networking > Envoy config"
    assert sorted(s.name for s in second.services.all()) == ["Envoy", "xDS"]
    page = _text(alice_client.get(game_day.get_absolute_url()))
    assert "One member" in page and "Push an invalid listener" in page and fix.title in page


def test_a_bad_field_keeps_everything_typed_and_says_where(alice_client: Client) -> None:
    response = alice_client.post("/game-days/new/", _form(
        title="", plan="Our *plan*",
        scenarios=[_row(title="Kept one", hypothesis="Writes keep working"),
                   _row(title="Second", injection="", hypothesis="Reads keep working")],
    ))  # fmt: skip
    assert response.status_code == 400
    assert not GameDay.objects.exists()
    page = _text(response)
    assert "Nothing you typed was lost" in page
    for typed in ("Our *plan*", "Kept one", "Writes keep working", "Reads keep working"):
        assert typed in page
    rows = response.context["scenarios"].forms
    assert "title" in response.context["form"].errors
    assert not rows[0].errors and "injection" in rows[1].errors


def test_a_fix_that_does_not_cover_the_mode_is_refused_beside_its_row(
    alice_client: Client,
) -> None:
    etcd, dns = _fix(title="Five etcd members"), _fix("Networking > DNS", title="DNS cache")
    response = alice_client.post("/game-days/new/", _form(scenarios=[
        _row(),
        _row(title="Two", verifies=[str(etcd.pk), str(dns.pk)]),
    ]))  # fmt: skip
    assert response.status_code == 400
    second = response.context["scenarios"].forms[1]
    assert second.errors["verifies"] == [
        "“DNS cache” does not cover Control plane > etcd: a scenario verifies fixes on its "
        "failure mode or above it."
    ]
    # Both stay checked: the one that does not cover the mode says so.
    page = _text(response)
    assert re.search(rf'value="{dns.pk}" checked', page) and "uncheck it" in page


def test_the_fixes_offered_are_unverified_first_and_follow_the_mode(
    alice_client: Client,
) -> None:
    verified = _fix("Control plane", done=-90, title="Dedicated etcd disks")
    verified.effectiveness = Effectiveness.VERIFIED
    verified.save(update_fields=["effectiveness"])
    older = _fix(done=-60, title="Five members")
    newer = _fix(done=-10, title="Snapshot every hour")
    below = _fix("Control plane > etcd > Disk latency", title="Faster volumes")
    _fix("Networking > DNS", title="DNS cache")

    response = alice_client.get(
        "/game-days/fixes/",
        {"prefix": "scenarios-3", "scenarios-3-category": "control plane > ETCD"},
        headers=HTMX,
    )  # fmt: skip
    page = _text(response)
    titles = [f.title for f, _ in response.context["fixes"]["offered"]]
    assert titles == ["Five members", "Snapshot every hour", "Dedicated etcd disks"]
    assert 'name="scenarios-3-verifies"' in page and "2 awaiting verification" in page
    assert "DNS cache" not in page
    # The planning aid: a fix below the mode waits for a scenario on its own mode.
    assert "Faster volumes" in page and "awaiting verification below" in page.lower()

    moved = alice_client.get("/game-days/fixes/", {
        "prefix": "scenarios-3", "scenarios-3-category": "Networking > DNS",
        "scenarios-3-verifies": [str(older.pk)],
    })  # fmt: skip
    assert [f.title for f, _ in moved.context["fixes"]["offered"]] == ["DNS cache"]
    assert moved.context["fixes"]["stray"] == [older]  # still checked, to uncheck
    assert newer.pk and below.pk
    assert alice_client.get("/game-days/fixes/", {"prefix": "x"}).status_code == 400


def test_the_edit_page_keeps_results_and_edits_the_plan(alice_client: Client) -> None:
    fix = _fix()
    game_day = _game_day(_scenario(title="One", verifies=[fix.pk]), _scenario(title="Two"))
    one, two = game_day.scenarios.all()
    record_outcome(one, outcome="held", observations="Fine.", ran_at=None, by=None)
    game_day.refresh_from_db()
    page = alice_client.get(f"/game-days/{game_day.pk}/edit/")
    assert page.status_code == 200 and "Its result is evidence" in _text(page)
    response = alice_client.post(f"/game-days/{game_day.pk}/edit/", _form(
        version=str(game_day.version), title="Renamed", notes="Went well.",
        **{"scenarios-INITIAL_FORMS": "2"},
        scenarios=[_row(id=str(one.pk), title="One", verifies=[str(fix.pk)]),
                   _row(id=str(two.pk), title="Two", DELETE="on")],
    ))  # fmt: skip
    assert response.status_code == 302
    game_day.refresh_from_db()
    assert game_day.title == "Renamed" and game_day.notes == "Went well."
    kept = game_day.scenarios.get()
    assert (kept.pk, kept.outcome, kept.observations) == (one.pk, "held", "Fine.")


def test_a_stale_edit_is_refused_with_409_and_keeps_the_text(
    alice_client: Client, bob_client: Client
) -> None:
    game_day = _game_day(_scenario(title="One"))
    one = game_day.scenarios.get()
    seen = game_day.version
    # Meanwhile bob adds a scenario and renames the game day.
    record = game_day_record_of(game_day)
    record["title"] = "Bob's title"
    record["scenarios"].append({**_scenario(title="Bob's scenario"), "id": None})
    _save(record, GameDay.objects.get(pk=game_day.pk))

    response = alice_client.post(f"/game-days/{game_day.pk}/edit/", _form(
        version=str(seen), title="Alice's title", plan="Alice's long plan",
        **{"scenarios-INITIAL_FORMS": "1"},
        scenarios=[_row(id=str(one.pk), title="One", hypothesis="Alice's hypothesis")],
    ))  # fmt: skip
    assert response.status_code == 409
    page = _text(response)
    assert "Someone else saved this while you were editing" in page
    assert "Alice&#x27;s long plan" in page and "Alice&#x27;s hypothesis" in page
    assert "Bob&#x27;s title" in page  # what they changed, shown
    game_day.refresh_from_db()
    assert game_day.title == "Bob's title" and game_day.plan == ""  # nothing of alice's saved
    # Saving the conflict page's form goes through, and keeps bob's scenario.
    form = response.context["form"]
    rows = response.context["scenarios"].forms
    assert form["version"].value() == str(game_day.version) and len(rows) == 2
    data = {k: v for k, v in form.data.items()}
    data.update({k: form.data.getlist(k) for k in form.data if k.endswith("verifies")})
    again = alice_client.post(f"/game-days/{game_day.pk}/edit/", data)
    assert again.status_code == 302
    game_day.refresh_from_db()
    assert game_day.title == "Alice's title" and game_day.plan == "Alice's long plan"
    assert [s.title for s in game_day.scenarios.all()] == ["One", "Bob's scenario"]


def test_the_history_shows_each_version_with_its_scenarios(alice_client: Client) -> None:
    game_day = _game_day(_scenario(title="One"))
    record_outcome(game_day.scenarios.get(), outcome="failed", observations="Stalled.",
                   ran_at=None, by=None)  # fmt: skip
    response = alice_client.get(f"/game-days/{game_day.pk}/history/")
    page = _text(response)
    assert "Version 2" in page and "Version 1" in page
    assert "Scenario “One”" in page
    # The changed line, old and new (issue 15, item 4): words are marked only when the two
    # lines are alike enough, and "Pending" → "Failed (when)" is a new line.
    assert re.search(r'diff-removed"><span class="diff-number">\d+</span><span class="diff-line">'
                     r"Outcome: (<del>)?Pending", page)  # fmt: skip
    assert re.search(r'diff-added"><span class="diff-number">\d+</span><span class="diff-line">'
                     r"Outcome: (<del>[^<]*</del>)?(<ins>)?Failed", page)  # fmt: skip
    assert "Observations: Stalled." in page


# --- Running --------------------------------------------------------------------------------


def _seen(scenario: Scenario) -> str:
    return fingerprint(scenario.outcome, scenario.observations)


def test_two_people_record_two_scenarios_and_both_keep_their_results(
    alice_client: Client, bob_client: Client
) -> None:
    fix = _fix()
    game_day = _game_day(_scenario(title="One", verifies=[fix.pk]), _scenario(title="Two"))
    one, two = game_day.scenarios.all()
    # Both loaded the page before either recorded anything.
    alice_seen, bob_seen = _seen(one), _seen(two)
    url = f"/game-days/{game_day.pk}/scenarios/%d/outcome/"
    alice_typed = {"outcome": "held", "observations": "Leader moved in 2 s", "seen": alice_seen}
    bob_typed = {"outcome": "failed", "observations": "Writes stalled", "seen": bob_seen}
    first = alice_client.post(url % one.pk, {**alice_typed, "ran_at": ""}, headers=HTMX)
    second = bob_client.post(url % two.pk, {**bob_typed, "ran_at": ""}, headers=HTMX)
    assert first.status_code == second.status_code == 200
    assert "Saved: held" in _text(first) and "Saved: failed" in _text(second)
    assert f'id="scenario-{one.pk}"' in _text(first)  # the card, swapped in place
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.outcome, one.observations) == ("held", "Leader moved in 2 s")
    assert (two.outcome, two.observations) == ("failed", "Writes stalled")
    assert one.ran_at is not None and two.ran_at is not None
    game_day.refresh_from_db()
    assert game_day.status == "running"
    fix.refresh_from_db()
    assert fix.effectiveness == Effectiveness.VERIFIED


def test_the_same_scenario_changed_meanwhile_keeps_your_text_and_says_so(
    alice_client: Client,
) -> None:
    game_day = _game_day(_scenario(title="One"))
    one = game_day.scenarios.get()
    seen = _seen(one)
    record_outcome(one, outcome="aborted", observations="Bob: alarm fired", ran_at=None, by=None)
    url = f"/game-days/{game_day.pk}/scenarios/{one.pk}/outcome/"
    mine = {"outcome": "held", "observations": "Alice: all fine", "ran_at": "", "seen": seen}
    response = alice_client.post(url, mine, headers=HTMX)
    page = _text(response)
    assert "Someone recorded this scenario while you were: it is now aborted" in page
    assert "Alice: all fine" in page  # kept in the box
    one.refresh_from_db()
    assert (one.outcome, one.observations) == ("aborted", "Bob: alarm fired")
    # Without htmx: 409, the same message and text.
    plain = alice_client.post(url, mine)
    assert plain.status_code == 409 and "Alice: all fine" in _text(plain)
    # Pressing again (the page now knows what they saw) saves hers.
    again = alice_client.post(url, {**mine, "seen": _seen(one)})
    assert again.status_code == 302
    one.refresh_from_db()
    assert (one.outcome, one.observations) == ("held", "Alice: all fine")


def test_a_result_needs_an_outcome_and_a_time_it_can_read(alice_client: Client) -> None:
    game_day = _game_day()
    one = game_day.scenarios.get()
    url = f"/game-days/{game_day.pk}/scenarios/{one.pk}/outcome/"
    no_button = alice_client.post(url, {"observations": "typed", "seen": _seen(one)})
    assert no_button.status_code == 400 and "press Held, Failed or Aborted" in _text(no_button)
    assert "typed" in _text(no_button)
    late = {"outcome": "held", "observations": "typed twice", "ran_at": "2150-01-01T00:00:00"}
    too_late = alice_client.post(url, {**late, "seen": _seen(one)})
    assert too_late.status_code == 400 and "typed twice" in _text(too_late)
    assert "2100-01-01" in _text(too_late)
    assert Scenario.objects.get(pk=one.pk).outcome == "pending"


def test_a_game_day_starts_and_closes_with_notes(alice_client: Client) -> None:
    game_day = _game_day()
    alice_client.post(f"/game-days/{game_day.pk}/start/")
    game_day.refresh_from_db()
    assert game_day.status == "running"
    page = alice_client.get(f"/game-days/{game_day.pk}/close/")
    assert "1 scenario has no result" in _text(page)
    version = page.context["form"]["version"].value()
    # A result recorded meanwhile is no conflict for the closing notes.
    record_outcome(game_day.scenarios.get(), outcome="held", observations="", ran_at=None, by=None)
    response = alice_client.post(f"/game-days/{game_day.pk}/close/", {
        "version": version, "notes": "## Learned\n\netcd copes.", "action": "done",
    })  # fmt: skip
    assert response.status_code == 302
    game_day.refresh_from_db()
    assert (game_day.status, game_day.notes) == ("done", "## Learned\n\netcd copes.")
    detail = _text(alice_client.get(game_day.get_absolute_url()))
    assert "etcd copes." in detail and "outcome-buttons" not in detail  # closed: no controls


def test_closing_notes_changed_meanwhile_are_a_conflict_that_keeps_yours(
    alice_client: Client,
) -> None:
    game_day = _game_day()
    version = game_day.version
    record = game_day_record_of(game_day)
    _save({**record, "notes": "Bob's notes", "status": "running"},
          GameDay.objects.get(pk=game_day.pk))  # fmt: skip
    response = alice_client.post(f"/game-days/{game_day.pk}/close/", {
        "version": str(version), "notes": "Alice's notes", "action": "done",
    })  # fmt: skip
    assert response.status_code == 409
    assert "Alice&#x27;s notes" in _text(response) and "Bob&#x27;s notes" in _text(response)
    assert GameDay.objects.get(pk=game_day.pk).status == "running"


def test_a_game_day_is_cancelled(alice_client: Client) -> None:
    game_day = _game_day()
    alice_client.post(f"/game-days/{game_day.pk}/close/", {
        "version": str(game_day.version), "notes": "Staging was down.", "action": "cancel",
    })  # fmt: skip
    game_day.refresh_from_db()
    assert (game_day.status, game_day.notes) == ("cancelled", "Staging was down.")
    one = game_day.scenarios.get()
    refused = alice_client.post(
        f"/game-days/{game_day.pk}/scenarios/{one.pk}/outcome/",
        {"outcome": "held", "observations": "", "seen": _seen(one)},
    )  # fmt: skip
    assert refused.status_code == 409 and "is cancelled" in _text(refused)


# --- Findings become work -------------------------------------------------------------------


def test_a_new_remediation_from_a_scenario_is_filled_in_and_links_back(
    alice_client: Client,
) -> None:
    game_day = _game_day(_scenario(title="One member", services=["etcd", "EBS"]))
    one = game_day.scenarios.get()
    record_outcome(one, outcome="failed", observations="Stalled", ran_at=None, by=None)
    page = alice_client.get(f"/remediations/new/?scenario={one.pk}")
    form = page.context["form"]
    assert form["category"].value() == one.category.pk
    description = form["description"].value()
    assert f"/game-days/{game_day.pk}/#scenario-{one.pk}" in description
    assert "Services: EBS, etcd." in description and "(failed)" in description
    response = alice_client.post(f"/remediations/new/?scenario={one.pk}", {
        "title": "Move etcd to faster disks", "kind": "prevent", "status": "open",
        "category": str(one.category.pk), "description": description,
    })  # fmt: skip
    remediation = Remediation.objects.get(title="Move etcd to faster disks")
    assert response.status_code == 302 and remediation.scenario == one
    detail = _text(alice_client.get(remediation.get_absolute_url()))
    assert f'href="/game-days/{game_day.pk}/#scenario-{one.pk}"' in detail
    assert "Move etcd to faster disks" in _text(alice_client.get(game_day.get_absolute_url()))


def test_a_scenario_that_hurt_real_users_becomes_a_linked_incident(
    alice_client: Client,
) -> None:
    game_day = _game_day(_scenario(title="Evict every pod", services=["Kubernetes"]),
                         environment="production")  # fmt: skip
    one = game_day.scenarios.get()
    record_outcome(one, outcome="failed", observations="Checkout down", ran_at=None, by=None)
    one.refresh_from_db()
    page = alice_client.get(f"/incidents/new/?scenario={one.pk}")
    form = page.context["form"]
    assert "Evict every pod" in form["title"].value()
    assert f"/game-days/{game_day.pk}/#scenario-{one.pk}" in form["summary"].value()
    assert form["services_text"].value() == "Kubernetes"
    assert [str(pk) for pk in form["categories"].value()] == [str(one.category.pk)]
    assert "From game day" in _text(page)
    response = alice_client.post(f"/incidents/new/?scenario={one.pk}", {
        "title": form["title"].value(), "summary": form["summary"].value(),
        "severity": "SEV2", "status": "investigating",
        "started_at": one.ran_at.strftime("%Y-%m-%dT%H:%M:%S"),
        "services_text": "Kubernetes", "categories": [str(one.category.pk)], "body": "",
        **{f"{p}-{k}": "0" for p in ("causes", "timeline", "remediations")
           for k in ("TOTAL_FORMS", "INITIAL_FORMS")},
    })  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    incident = Incident.objects.get()
    assert list(one.incidents.all()) == [incident]
    detail = _text(alice_client.get(incident.get_absolute_url()))
    assert f'href="/game-days/{game_day.pk}/#scenario-{one.pk}"' in detail
    assert incident.reference in _text(alice_client.get(game_day.get_absolute_url()))


# --- The backlog ----------------------------------------------------------------------------


def test_the_backlog_lists_untested_prevent_and_mitigate_fixes_oldest_first_by_mode(
    alice_client: Client,
) -> None:
    etcd_new = _fix(done=-5, title="etcd snapshots")
    dns = _fix("Networking > DNS", done=-40, title="DNS cache", kind="mitigate")
    etcd_old = _fix(done=-50, title="Five etcd members")
    _fix(done=-45, title="Alert on leader changes", kind="detect")
    tested = _fix(done=-60, title="Dedicated disks")
    tested.effectiveness = Effectiveness.VERIFIED
    tested.save(update_fields=["effectiveness"])
    RemediationFactory(title="Still open", category=etcd_old.category, kind="prevent")

    response = alice_client.get("/game-days/backlog/")
    groups = [(path, [f.title for f in fixes]) for path, fixes in response.context["groups"]]
    assert groups == [
        ("Control plane > etcd", ["Five etcd members", "etcd snapshots"]),
        ("Networking > DNS", ["DNS cache"]),
    ]
    assert etcd_new.pk and dns.pk
    assert "Fixes awaiting verification (3)" in _text(alice_client.get("/game-days/"))


def test_add_to_a_planned_game_day_extends_its_scenario_or_adds_one(
    alice_client: Client,
) -> None:
    etcd, other_etcd = _fix(title="Five members"), _fix(title="Snapshots")
    dns = _fix("Networking > DNS", title="DNS cache")
    game_day = _game_day(_scenario(title="One member"))
    one = game_day.scenarios.get()

    extended = alice_client.post(
        "/game-days/backlog/add/", {"fix": etcd.pk, "game_day": game_day.pk}
    )
    assert extended.status_code == 302 and extended["Location"] == one.get_absolute_url()
    alice_client.post("/game-days/backlog/add/", {"fix": other_etcd.pk, "game_day": game_day.pk})
    added = alice_client.post("/game-days/backlog/add/", {"fix": dns.pk, "game_day": game_day.pk})
    first, second = GameDay.objects.get(pk=game_day.pk).scenarios.all()
    assert first.pk == one.pk and set(first.verifies.all()) == {etcd, other_etcd}
    assert second.category.path == "Networking > DNS" and list(second.verifies.all()) == [dns]
    assert added["Location"] == f"/game-days/{game_day.pk}/edit/#scenario-{second.pk}"
    backlog = _text(alice_client.get("/game-days/backlog/"))
    assert backlog.count("Planned in") == 3
    assert GameDay.objects.get(pk=game_day.pk).version == 4  # each addition a version


def test_add_to_a_new_game_day_fills_in_the_plan(alice_client: Client) -> None:
    fix = _fix(title="Five members")
    response = alice_client.post("/game-days/backlog/add/", {"fix": fix.pk, "game_day": "new"})
    assert response["Location"] == f"/game-days/new/?fix={fix.pk}"
    page = alice_client.get(response["Location"])
    row = page.context["scenarios"].forms[0]
    assert row["category"].value() == "Control plane > etcd"
    assert re.search(rf'value="{fix.pk}" checked', _text(page))


def test_a_closed_game_day_takes_no_more_fixes(alice_client: Client) -> None:
    game_day = _game_day(status="done")
    fix = _fix()
    response = alice_client.post(
        "/game-days/backlog/add/", {"fix": fix.pk, "game_day": game_day.pk}, follow=True
    )
    assert "fixes are added to planned game days" in _text(response)
    assert not fix.verified_by.exists()


# --- Lists, other pages, access -------------------------------------------------------------


def test_the_category_page_says_when_the_mode_was_last_tested(alice_client: Client) -> None:
    fix = _fix()
    never = _text(alice_client.get(fix.category.get_absolute_url()))
    assert "Last tested: never" in never
    game_day = _game_day(_scenario(category="Control plane > etcd > Disk latency"))
    record_outcome(game_day.scenarios.get(), outcome="held", observations="",
                   ran_at=days(-2), by=None)  # fmt: skip
    page = _text(alice_client.get(get_or_create_category("Control plane").get_absolute_url()))
    assert f"Last tested: {days(-2):%Y-%m-%d}" in page and game_day.title in page


def test_the_list_and_backlog_pages_take_a_fixed_number_of_queries(
    alice_client: Client, django_assert_num_queries: Any
) -> None:
    for n in range(3):
        _game_day(_scenario(verifies=[_fix(title=f"Fix {n}").pk]), title=f"Game day {n}")
    _game_day(status="done", title="Earlier")
    alice_client.get("/game-days/")  # warm the session
    # 7: one of them asks whether alice is a viewer (the pages' write buttons, common/roles.py).
    with django_assert_num_queries(7):
        assert alice_client.get("/game-days/").status_code == 200
    with django_assert_num_queries(7):
        assert alice_client.get("/game-days/backlog/").status_code == 200


@pytest.mark.parametrize("path", [
    "/game-days/", "/game-days/new/", "/game-days/backlog/", "/game-days/1/",
    "/game-days/1/edit/", "/game-days/1/history/", "/game-days/1/close/",
    "/game-days/fixes/?prefix=scenarios-0",
])  # fmt: skip
def test_every_game_day_page_needs_a_login(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_navigation_leads_to_game_days(alice: User) -> None:
    client = Client()
    client.force_login(UserFactory(username="carol"), backend=MODEL_BACKEND)
    assert 'href="/game-days/"' in _text(client.get("/incidents/"))
