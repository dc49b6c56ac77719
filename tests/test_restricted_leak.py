"""The leak test (issue 13, item 2): a restricted incident exists only for its author, the
members of its access groups and superusers (PRODUCT.md, "Who may see and change what").

alice writes an incident restricted to the group Security (bob is in it). A unique canary
word is in every one of its texts — title, summary, report, cause, timeline, external id,
source link — and in what shares its visibility: its remediation, its recurrence flag's note,
the game-day scenario that caused it and the fix found by that scenario; it has several
versions, so its history holds the word too. charlie, outside Security, walks every page of the
URLconf (path arguments filled with real ids, the hidden ones included: those answer 404),
every API route the OpenAPI schema lists, and every export command, and never meets the word.
No count betrays the incident either: what charlie's lists and counts say is exactly what they
say once the incident and everything of it is deleted. alice and bob still see it all (the
positive control: the same walk as bob does meet the word).
"""

from __future__ import annotations

import datetime
import difflib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import CalendarFeed
from common.validation import Errors
from gamedays.actions import save_game_day
from gamedays.models import GameDay, Scenario
from gamedays.records import clean_game_day
from incidents.actions import mark_duplicate
from incidents.models import FailureCategory, Incident, Service
from remediations import effectiveness
from remediations.actions import save_report
from remediations.models import Effectiveness, RecurrenceLink, Remediation, RemediationStatus
from remediations.records import clean_report
from search.index import rebuild_all
from tests.clock import Clock
from tests.factories import RemediationFactory, make_flag

pytestmark = pytest.mark.django_db

CANARY = "quokkacanary"  # a word nothing else in Once holds


DAY = datetime.timedelta(days=1)


@dataclass
class World:
    restricted: Incident
    public: Incident
    category: FailureCategory
    hidden_fix: Remediation  # from the restricted incident
    scenario_fix: Remediation  # found by the scenario that caused it
    public_fix: Remediation  # done before it started: its recurrence is flagged
    open_fix: Remediation  # still open when it started: linked to it
    flag_id: int
    game_day: GameDay
    hidden_scenario: Scenario
    public_scenario: Scenario
    calendar_secret: str
    hidden: dict[str, set[int]] = field(default_factory=dict)  # URL kind → ids that must 404
    copy: Incident | None = None  # public, marked a duplicate of the restricted one


def _report(title: str, started: datetime.datetime, **fields: Any) -> dict[str, Any]:
    return {
        "title": title, "started_at": started, "categories": ["Storage > Disks"],
        "services": ["Scratch disks"], **fields,
    }  # fmt: skip


@pytest.fixture
def world(alice: User, bob: User, charlie: User) -> World:
    now = timezone.now()
    security = Group.objects.create(name="Security")
    bob.groups.add(security)
    Group.objects.create(name="Operations")  # a group charlie could see named: not Security

    public = Incident()
    save_report(
        public, clean_report(_report("Disk filled up on the build hosts", now - 40 * DAY)),
        by=alice, expected_version=None,
    )  # fmt: skip
    category = FailureCategory.objects.get(path="Storage > Disks")
    public_fix = RemediationFactory(
        title="Alert on disk usage", category=category, status=RemediationStatus.DONE,
        opened_at=now - 39 * DAY, done_at=now - 30 * DAY, effectiveness=Effectiveness.UNVERIFIED,
    )  # fmt: skip
    open_fix = RemediationFactory(title="Bigger disks", category=category, opened_at=now - 35 * DAY)

    restricted = Incident()
    canary = {
        "summary": f"The {CANARY} summary.",
        "body": f"## Impact\n\nThe {CANARY} report.",
        "external_id": f"{CANARY}-1",
        "source_url": f"https://tracker.example/{CANARY}",
        "causes": [
            {"kind": "trigger", "description": f"A {CANARY} cause.", "category": "Storage > Disks"}
        ],
        "timeline": [{"at": now - 10 * DAY, "text": f"{CANARY} paged."}],
        "remediations": [
            {
                "title": f"Rotate the {CANARY} key",
                "description": f"{CANARY} steps.",
                "category": "Storage > Disks",
                "status": "done",
                "kind": "prevent",
                "opened_at": now - 9 * DAY,
                "done_at": now - 8 * DAY,
            }  # fmt: skip
        ],
        "visibility": "restricted",
        "access_groups": ["Security"],
    }
    record = _report(f"{CANARY} secrets on a full disk", now - 10 * DAY, **canary)
    save_report(restricted, clean_report(record, by=alice), by=alice, expected_version=None)
    # A second version: the history holds the word in both.
    again = clean_report({**record, "title": f"{CANARY} secrets leaked", "remediations": []},
                         by=alice, incident=restricted)  # fmt: skip
    save_report(restricted, again, by=alice, expected_version=restricted.version)
    hidden_fix = restricted.remediations.get()
    Remediation.objects.filter(pk=hidden_fix.pk).update(effectiveness=Effectiveness.UNVERIFIED)

    flag = make_flag(restricted, category, public_fix, note=f"{CANARY} note")
    RecurrenceLink.objects.create(incident=restricted, remediation=open_fix)

    game_day = GameDay()
    plan = {
        "title": "Disk day",
        "scheduled_at": now - 5 * DAY,
        "scenarios": [
            {
                "category": "Storage > Disks",
                "injection": "Fill the scratch disk.",
                "services": ["Scratch disks"],
            },  # fmt: skip
            {
                "title": f"{CANARY} scenario",
                "category": "Storage > Disks",
                "services": ["Scratch disks"],
                "injection": f"Leak the {CANARY} key.",
                "hypothesis": f"{CANARY} holds.",
                "outcome": "failed",
                "ran_at": now - 5 * DAY,
                "observations": f"{CANARY} observed.",
                "verifies": [public_fix.pk],
            },  # fmt: skip
        ],
    }
    errors = Errors()
    cleaned = clean_game_day(plan, errors)
    errors.raise_if_any()
    save_game_day(game_day, cleaned, by=alice, expected_version=None)
    public_scenario, hidden_scenario = game_day.scenarios.order_by("position", "pk")
    hidden_scenario.incidents.add(restricted)  # "this hurt real users"
    scenario_fix = RemediationFactory(
        title=f"After game day: {CANARY}", description=f"{CANARY} again.", category=category,
        scenario=hidden_scenario,
    )  # fmt: skip
    # The failed test of a public fix is evidence on that fix, which charlie sees.
    effectiveness.assess([public_fix.pk])
    _, secret = CalendarFeed.issue(charlie)

    found = World(
        restricted=restricted, public=public, category=category, hidden_fix=hidden_fix,
        scenario_fix=scenario_fix, public_fix=public_fix, open_fix=open_fix, flag_id=flag.pk,
        game_day=game_day, hidden_scenario=hidden_scenario, public_scenario=public_scenario,
        calendar_secret=secret,
    )  # fmt: skip
    found.hidden = {
        "incidents": {restricted.pk},
        "remediations": {hidden_fix.pk, scenario_fix.pk},
        "flags": {flag.pk},
        "scenarios": {hidden_scenario.pk},
    }
    # A public incident alice marked a duplicate of the hidden one: for charlie it is an
    # incident like any other — listed, counted, its `duplicate_of` null — as if the hidden
    # one had never been (issue 15, item 5).
    copy = Incident()
    save_report(
        copy, clean_report(_report("Build hosts out of disk again", now - 9 * DAY)),
        by=alice, expected_version=None,
    )  # fmt: skip
    mark_duplicate(copy, restricted.pk, by=alice, expected_version=copy.version)
    found.copy = copy
    return found


# --- The pages ------------------------------------------------------------------------------


def _walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name or ""


# The API is walked from its schema, the admin below with a staff charlie.
ROUTES = sorted(
    {(r, n) for r, n in _walk(get_resolver().url_patterns) if not r.startswith(("api/", "admin/"))}
)


def _kind(route: str) -> str:
    """What the route's first <int:pk> names: incidents, remediations, flags, game-days…"""
    head = route.split("/", 1)[0]
    return {"game-days": "game-days"}.get(head, head)


def _week(world: World) -> str:
    """The ISO week the hidden incident started in, as the review's URLs name it."""
    year, week, _ = world.restricted.started_at.isocalendar()
    return f"{year}-W{week:02d}"


def fill(route: str, world: World) -> list[str]:
    """Concrete paths for a route: each id argument with the visible and the hidden ids."""
    week = _week(world)
    ids = {
        "incidents": [world.restricted.pk, world.public.pk],
        "remediations": [
            world.hidden_fix.pk,
            world.scenario_fix.pk,
            world.public_fix.pk,
            world.open_fix.pk,
        ],
        "flags": [world.flag_id],
        "game-days": [world.game_day.pk],
        "review": [world.restricted.pk, world.hidden_fix.pk, world.flag_id],
        "services": list(Service.objects.values_list("pk", flat=True)),
    }.get(_kind(route), [1])
    paths = []
    for pk in ids:
        path = route.replace("<int:pk>", str(pk))
        path = path.replace("<int:scenario_pk>", str(world.hidden_scenario.pk))
        path = path.replace("<int:category>", str(world.category.pk))
        path = path.replace("<week:week>", week)
        path = path.replace("<slug:slug>", world.category.slug)
        path = path.replace("<str:secret>", world.calendar_secret)
        paths.append("/" + path)
    return sorted(set(paths))


def extra_paths(world: World) -> list[str]:
    """Query strings the pages take that name incidents, remediations or scenarios."""
    w = world
    return [
        f"/incidents/?category={w.category.pk}",
        f"/incidents/category-context/?categories={w.category.pk}",
        f"/incidents/new/?scenario={w.hidden_scenario.pk}",
        f"/remediations/new/?incident={w.restricted.pk}",
        f"/remediations/new/?scenario={w.hidden_scenario.pk}",
        f"/remediations/new/?follow_up={w.hidden_fix.pk}",
        f"/remediations/new/?follow_up={w.public_fix.pk}&flag={w.flag_id}",
        f"/remediations/?category={w.category.pk}",
        "/flags/?state=open",
        "/categories/?sort=recurred",
        "/categories/?sort=never_fixed",
        "/categories/?sort=never_tested",
        "/game-days/?q=Leak",
        f"/game-days/new/?fix={w.hidden_fix.pk}",
        "/game-days/fixes/?prefix=scenarios-0&scenarios-0-category=Storage%20%3E%20Disks"
        f"&scenarios-0-verifies={w.hidden_fix.pk}&scenarios-0-verifies={w.scenario_fix.pk}",
        f"/incidents/similar/?title={CANARY}&categories={w.category.pk}",
    ]


def _names_hidden(path: str, world: World) -> bool:
    """Does the path's own id (not a query string) name something hidden from charlie?"""
    where = path.split("?", 1)[0]
    for kind, ids in world.hidden.items():
        for pk in ids:
            if re.search(rf"^/{kind}/{pk}/", where):
                return True
    return False


def _assert_no_canary(client: Client, path: str, world: World) -> None:
    response = client.get(path)
    body = response.content.decode("utf-8", "replace")
    assert CANARY not in body.lower(), f"{path} ({response.status_code}) shows the canary"
    if _names_hidden(path, world) and response.status_code != 405:
        assert response.status_code == 404, f"{path} answered {response.status_code}, not 404"


@pytest.mark.parametrize(("route", "name"), ROUTES, ids=[r or "home" for r, _ in ROUTES])
def test_charlie_meets_no_canary_on_any_page(
    route: str, name: str, world: World, charlie_client: Client
) -> None:
    for path in fill(route, world):
        _assert_no_canary(charlie_client, path, world)


def test_charlie_meets_no_canary_in_query_strings_the_pages_take(
    world: World, charlie_client: Client
) -> None:
    for path in extra_paths(world):
        _assert_no_canary(charlie_client, path, world)
    # Words only in a hidden scenario find no game day.
    assert "Disk day" not in charlie_client.get("/game-days/?q=Leak").content.decode()
    assert charlie_client.get("/api/game-days/?q=Leak").json()["count"] == 0
    # What a hidden id opens answers 404, as an id that doesn't exist.
    for path in extra_paths(world)[2:6] + [f"/game-days/new/?fix={world.hidden_fix.pk}"]:
        assert charlie_client.get(path).status_code == 404, path


def test_searching_the_canary_tells_charlie_no_more_than_a_word_found_nowhere(
    world: World, charlie_client: Client, bob_client: Client
) -> None:
    """The search page repeats what was typed (title, search box): charlie's own word. Beyond
    that echo, the page for the canary is the page for a word no incident holds."""
    rebuild_all()  # the world is stored without its after-commit work: index it now
    nowhere = "vexwyzjqplmn"  # as long as the canary, in no incident
    for path in ("/search/?q={}", "/api/search/?q={}", "/incidents/?q={}"):
        canary = _normalised(charlie_client.get(path.format(CANARY)).content)
        control = _normalised(charlie_client.get(path.format(nowhere)).content)
        assert canary.replace(CANARY, nowhere) == control, path
    # The positive control: bob, in Security, finds it.
    assert bob_client.get(f"/api/search/?q={CANARY}").json()["count"] == 1


def test_the_page_walk_would_notice_a_leak(world: World, bob_client: Client) -> None:
    """The positive control: bob, in Security, walking the same pages meets the word."""
    seen = set()
    for route, name in ROUTES:
        for path in fill(route, world):
            if CANARY in bob_client.get(path).content.decode("utf-8", "replace").lower():
                seen.add(name)
    assert {
        "incident_detail", "incident_edit", "incident_history", "remediation_detail",
        "remediation_edit", "remediation_history", "flag_detail", "flag_list",
        "game_day_detail", "game_day_history", "game_day_edit", "category_detail",
        "incident_list", "remediation_list", "incident_markdown",
    } <= seen  # fmt: skip


# --- The API --------------------------------------------------------------------------------


def _api_paths(client: Client, world: World) -> list[str]:
    schema = json.loads(client.get("/api/schema/?format=json").content)
    week = _week(world)
    ids = {
        "incidents": [world.restricted.pk, world.public.pk],
        "remediations": [
            world.hidden_fix.pk,
            world.scenario_fix.pk,
            world.public_fix.pk,
            world.open_fix.pk,
        ],
        "flags": [world.flag_id],
        "scenarios": [world.hidden_scenario.pk, world.public_scenario.pk],
        "game-days": [world.game_day.pk],
        "categories": list(FailureCategory.objects.values_list("pk", flat=True)),
        "services": list(Service.objects.values_list("pk", flat=True)),
    }
    paths = []
    for template, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        kind = template.split("/")[2]
        filled = [template.replace("{week}", week)]
        if "{id}" in template:
            filled = [template.replace("{id}", str(pk)) for pk in ids.get(kind, [1])]
        paths += [p + ("?limit=200" if "{" not in template and "review" not in p else "")
                  for p in filled]  # fmt: skip
    return paths


def _api_extra(world: World) -> list[str]:
    w = world
    return [
        f"/api/incidents/?category={w.category.pk}",
        f"/api/incidents/similar/?title={CANARY}&summary={CANARY}&categories={w.category.pk}",
        f"/api/flags/?incident={w.restricted.pk}",
        f"/api/flags/?remediation={w.public_fix.pk}",
        f"/api/flags/?category={w.category.pk}",
        f"/api/scenarios/?verifies={w.scenario_fix.pk}",
        f"/api/scenarios/?game_day={w.game_day.pk}",
        f"/api/remediations/?category={w.category.pk}",
        "/api/game-days/?q=Leak",
    ]


def _api_pending(path: str) -> bool:
    return path.startswith(("/api/search/", "/api/review/"))


def test_the_schema_lists_the_routes_we_know(world: World, charlie_client: Client) -> None:
    paths = _api_paths(charlie_client, world)
    for known in ("/api/incidents/", "/api/remediations/", "/api/flags/", "/api/scenarios/"):
        assert any(p.startswith(known) for p in paths), known
    assert f"/api/incidents/{world.restricted.pk}/" in paths


def test_charlie_meets_no_canary_in_the_api(world: World, charlie_client: Client) -> None:
    for path in _api_paths(charlie_client, world) + _api_extra(world):
        if _api_pending(path):
            continue
        response = charlie_client.get(path)
        body = response.content.decode("utf-8", "replace")
        assert CANARY not in body.lower(), f"{path} ({response.status_code}) shows the canary"
        if re.search(r"^/api/(incidents|remediations|flags|scenarios)/\d+/$", path):
            kind, pk = path.split("/")[2], int(path.split("/")[3])
            if pk in world.hidden[kind]:
                assert response.status_code == 404, f"{path} answered {response.status_code}"
    # A hidden incident as a filter reads as one that doesn't exist.
    missing = charlie_client.get("/api/flags/?incident=999999")
    hidden = charlie_client.get(f"/api/flags/?incident={world.restricted.pk}")
    assert (hidden.status_code, hidden.json().keys()) == (
        missing.status_code, missing.json().keys(),
    )  # fmt: skip


def test_a_fix_tested_by_a_hidden_scenario_does_not_name_it(
    world: World, charlie_client: Client
) -> None:
    world.public_fix.refresh_from_db()
    assert world.public_fix.effectiveness == Effectiveness.REGRESSED
    assert "a restricted scenario failed" in world.public_fix.effectiveness_evidence
    page = charlie_client.get(f"/remediations/{world.public_fix.pk}/").content.decode()
    assert "a restricted scenario failed" in page


def test_the_api_walk_would_notice_a_leak(world: World, bob_client: Client) -> None:
    """The positive control: bob meets the word in the details charlie is refused."""
    for path in (
        f"/api/incidents/{world.restricted.pk}/", f"/api/remediations/{world.hidden_fix.pk}/",
        f"/api/flags/{world.flag_id}/", f"/api/scenarios/{world.hidden_scenario.pk}/",
    ):  # fmt: skip
        response = bob_client.get(path)
        assert response.status_code == 200, path
        assert CANARY in response.content.decode().lower(), path


# --- Counts ---------------------------------------------------------------------------------

# Pages whose numbers and lists must not change when the hidden incident goes away. (The
# history pages are left out: a deleted scenario stays in the versions of its game day.)
COUNTED_PAGES = [
    "/incidents/", "/categories/", "/categories/?sort=recurred", "/categories/?sort=never_fixed",
    "/categories/?sort=never_tested", "/remediations/", "/flags/?state=open", "/game-days/",
    "/game-days/backlog/", "/services/", "/services/?sort=recent", "/services/?sort=open",
    "/services/?sort=recurred", "/services/?sort=never_tested",
]  # fmt: skip


def _normalised(body: bytes) -> str:
    """A page without what differs between two requests (the CSRF token)."""
    text = body.decode("utf-8", "replace")
    return re.sub(r"\b[A-Za-z0-9]{64}\b", "(token)", text)  # masked anew on every request


def _delete_everything_of(world: World) -> None:
    Remediation.objects.filter(pk__in=[world.hidden_fix.pk, world.scenario_fix.pk]).delete()
    world.hidden_scenario.delete()
    world.restricted.delete()  # with its flag, link, causes and timeline


def test_no_count_betrays_the_hidden_incident(
    world: World, charlie_client: Client, clock: Clock
) -> None:
    # The clock stands still between the two walks: "did the fix work" draws its time axis up
    # to now, and a chart drawn a moment later moves its lines by a tenth of a pixel.
    w = world
    pages = [
        *COUNTED_PAGES,
        f"/categories/{w.category.slug}/", f"/categories/{w.category.slug}/edit/",
        f"/remediations/{w.public_fix.pk}/", f"/remediations/{w.open_fix.pk}/",
        f"/incidents/{w.public.pk}/", f"/game-days/{w.game_day.pk}/",
        f"/incidents/{w.copy.pk}/", f"/incidents/{w.copy.pk}.md",
        f"/incidents/category-context/?categories={w.category.pk}",
        f"/incidents/similar/?title={CANARY}&categories={w.category.pk}",
        *(f"/services/{pk}/" for pk in Service.objects.values_list("pk", flat=True)),
    ]  # fmt: skip
    api = [
        p for p in _api_paths(charlie_client, w) + _api_extra(w)
        if not _api_pending(p) and not re.search(r"/\d+/$", p) or p.endswith((
            f"/{w.public.pk}/", f"/{w.public_fix.pk}/", f"/{w.open_fix.pk}/",
            f"/{w.public_scenario.pk}/", f"/{w.game_day.pk}/",
            f"/incidents/{w.copy.pk}/",
        ))
    ]  # fmt: skip
    api = [p for p in api if not p.startswith("/api/flags/?incident=")]  # 400 either way
    before = {p: _normalised(charlie_client.get(p).content) for p in pages + api}
    _delete_everything_of(w)
    after = {p: _normalised(charlie_client.get(p).content) for p in pages + api}
    differ = [p for p in before if before[p] != after[p]]
    detail = "\n".join(
        line
        for p in differ
        for line in difflib.unified_diff(
            before[p].splitlines(), after[p].splitlines(), p, p, n=0, lineterm=""
        )
    )
    assert not differ, f"charlie can tell the hidden incident is there from:\n{detail}"


def test_the_count_check_would_notice(world: World, alice_client: Client) -> None:
    """The positive control: for alice, who sees it, deleting the incident changes them."""
    pages = ["/incidents/", "/categories/", "/remediations/", "/api/incidents/?limit=200"]
    before = {p: _normalised(alice_client.get(p).content) for p in pages}
    _delete_everything_of(world)
    assert all(before[p] != _normalised(alice_client.get(p).content) for p in pages)


# --- Exports and the admin ------------------------------------------------------------------


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_exports_as_charlie_hold_no_canary(world: World) -> None:
    assert CANARY not in _run("export_incidents", "--as", "charlie").lower()
    assert CANARY not in _run("export_game_days", "--as", "charlie").lower()
    # The positive control: bob's and the operator's exports hold the incident, by name.
    for export in (_run("export_incidents", "--as", "bob"), _run("export_incidents")):
        lines = [json.loads(line) for line in export.splitlines()]
        (mine,) = [line for line in lines if line["external_id"] == f"{CANARY}-1"]
        assert (mine["visibility"], mine["access_groups"]) == ("restricted", ["Security"])
    assert CANARY in _run("export_game_days", "--as", "bob").lower()


@pytest.fixture
def staff_charlie(charlie: User) -> User:
    """charlie as staff who may view everything in the admin, but is not a superuser."""
    charlie.is_staff = True
    charlie.save()
    charlie.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return charlie


def test_staff_see_no_restricted_incident_in_the_admin(
    world: World, staff_charlie: User, charlie_client: Client
) -> None:
    pages = [
        "/admin/", "/admin/incidents/incident/", "/admin/remediations/remediation/",
        "/admin/remediations/recurrenceflag/", "/admin/remediations/recurrencelink/",
        "/admin/incidents/incident/?q=secrets",
        "/admin/autocomplete/?app_label=remediations&model_name=remediation"
        "&field_name=incident&term=",
    ]  # fmt: skip
    for path in pages:
        response = charlie_client.get(path)
        assert response.status_code == 200, path
        assert CANARY not in response.content.decode().lower(), path
    found = charlie_client.get("/admin/incidents/incident/?q=secrets").content.decode()
    assert "0 results" in found
    for path in (
        f"/admin/incidents/incident/{world.restricted.pk}/change/",
        f"/admin/incidents/incident/{world.restricted.pk}/history/",
        f"/admin/remediations/remediation/{world.hidden_fix.pk}/change/",
        f"/admin/remediations/recurrenceflag/{world.flag_id}/change/",
    ):
        response = charlie_client.get(path, follow=True)
        assert CANARY not in response.content.decode().lower(), path
    # The positive control: charlie, once in Security, finds it there.
    staff_charlie.groups.add(Group.objects.get(name="Security"))
    response = charlie_client.get("/admin/incidents/incident/")
    assert CANARY in response.content.decode().lower()
