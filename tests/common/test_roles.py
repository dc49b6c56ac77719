"""Who may change what (PRODUCT.md, "Who may see and change what"): every active user reads,
members of `Viewers` only read, writers write, staff delete categories and services.

The walk visits every page of the URLconf and every route of the OpenAPI schema, so a page or
route added later is walked too: as victor (a viewer) and as alice (a writer). A viewer reads
what a writer reads, and every write he tries is refused with 403 and changes nothing.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from common.roles import VIEWERS
from common.validation import Errors
from gamedays.actions import game_day_record_of, record_outcome, save_game_day, start_game_day
from gamedays.models import GameDay, Scenario
from gamedays.records import clean_game_day
from incidents.actions import (
    delete_category,
    delete_service,
    record_of,
    save_category,
    save_incident,
    save_service,
)
from incidents.models import FailureCategory, Incident, Service
from remediations.actions import save_remediation, triage_flag
from remediations.models import FlagState, RecurrenceFlag, Remediation
from remediations.records import clean_remediation, clean_report
from reports.importer import BatchImporter
from reports.interchange import apply_record, parse_record
from reviews import actions as review_actions
from reviews.forms import MeetingForm
from reviews.models import ReviewMeeting
from reviews.weeks import Week
from tests.api_helpers import api_client_for
from tests.conftest import MODEL_BACKEND
from tests.factories import (
    CategoryFactory,
    IncidentFactory,
    RemediationFactory,
    UserFactory,
    make_flag,
)

# --- What the walk visits --------------------------------------------------------------------


def _walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _is_api(route: str) -> bool:
    return route.startswith("api/") and not route.startswith("api/docs/")


PAGE_ROUTES = sorted({route for route in _walk(get_resolver().url_patterns) if not _is_api(route)})

# Pages about a person's own session and account: a viewer signs in and out, makes his own
# (read-only) tokens and changes his own password like anyone. Nothing of Once's records.
OWN_ACCOUNT = ("accounts/", "account/", "oidc/")
# The admin answers people who are not staff (victor and alice) with its login redirect; the
# roles inside it are tested below with staff.
ADMIN = "admin/"
# Forms: a viewer opening one gets 403, not a form he can't save.
FORM_PAGES = {
    "incident_create", "incident_edit", "category_edit", "remediation_create",
    "remediation_edit", "game_day_create", "game_day_edit", "game_day_close", "incident_duplicate",
    "add_failure_mode", "person_add",  # the incident form's in-place dialogs
    "service_notes",
}  # fmt: skip
# Writes only staff make: a writer who isn't staff is refused too (tests/accounts).
STAFF_ONLY_WRITES = {"person_add"}
# Staff only (merging services): 403 for the viewer and the writer who is not staff alike.
STAFF_PAGES = {"service_merge"}
# Pages that read query parameters they can't do without (an htmx fragment of a form).
QUERIES = {"scenario_fixes": "?prefix=scenarios-0&scenarios-0-category=Control+plane"}
API_QUERIES = {"/api/search/": "?q=incident"}  # a search needs words
# The address whose secret is the credential: a made-up secret is 404 for everyone.
BY_SECRET = {"game_day_calendar"}
# Superusers only: 404 for the viewer and the writer alike (tests/common/test_audit.py).
SUPERUSER_ONLY = {"audit_log"}


def _api_operations() -> list[tuple[str, str]]:
    """(method, path template) of every operation the OpenAPI schema describes."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )


API_OPERATIONS = _api_operations()
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


# --- The world walked: one of everything, so addresses with ids answer 200 -------------------


class World:
    """One record of each kind, linked as in real use, and the values of the URLs' ids."""

    def __init__(self, author: User) -> None:
        self.category = CategoryFactory(name="Control plane")
        self.spare = CategoryFactory(name="Unused mode")  # nothing refers to it: deletable
        self.service = Service.objects.create(name="etcd")
        self.incident = IncidentFactory(
            author=author, categories=[self.category], services=[self.service]
        )
        self.remediation = RemediationFactory(
            incident=self.incident, category=self.category, status="done",
            done_at=timezone.now() - datetime.timedelta(days=5),
        )  # fmt: skip
        self.flag = make_flag(self.incident, self.category, self.remediation)
        errors = Errors()
        record = clean_game_day(
            {
                "title": "Break etcd", "scheduled_at": timezone.now().isoformat(),
                "scenarios": [{"category": "Control plane", "injection": "Kill a member"}],
            },
            errors,
        )  # fmt: skip
        assert not errors
        self.game_day = GameDay()
        save_game_day(self.game_day, record, by=None, expected_version=None)
        self.scenario = Scenario.objects.get(game_day=self.game_day)
        self.week = Week.current()
        # The collection an id follows in a path → the id of this world's record there.
        self.ids = {
            "incidents": self.incident.pk, "categories": self.category.pk,
            "modes": self.category.pk, "services": self.service.pk,
            "remediations": self.remediation.pk, "flags": self.flag.pk,
            "game-days": self.game_day.pk, "scenarios": self.scenario.pk,
        }  # fmt: skip

    def value(self, name: str, after: str) -> str:
        if name == "week":
            return self.week.label
        if name == "slug":
            return self.category.slug
        if name == "scenario_pk":
            return str(self.scenario.pk)
        if name == "key":  # a picture's key (incidents/images.py): none exists, the route answers
            return "k" * 16
        if name == "extension":
            return "png"
        if after in self.ids:
            return str(self.ids[after])
        return "x"

    def page(self, route: str) -> str:
        """A route of the URLconf with this world's values in place of its parameters."""
        parts, after = [], ""
        # Django routes (<int:pk>) and regex routes ((?P<pk>…)), segment by segment.
        for segment in re.split(r"(?<=/)", route):

            def fill(match: re.Match[str], after: str = after) -> str:
                return self.value(match.group("name"), after)

            # Regex groups first: "(?P<key>…)" also holds what looks like a route's "<key>".
            filled = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", fill, segment)
            filled = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", fill, filled)
            filled = filled.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")
            filled = re.sub(r"[()?*+\[\]]", "", filled)
            parts.append(filled)
            if filled.strip("/") and not re.search(r"[<(]", segment):
                after = filled.strip("/")
        return "/" + "".join(parts)

    def api(self, template: str) -> str:
        """A path of the OpenAPI schema (/api/incidents/{id}/) with this world's values."""
        segments = template.strip("/").split("/")
        filled = []
        for n, segment in enumerate(segments):
            match = re.fullmatch(r"\{(\w+)\}", segment)
            filled.append(self.value(match.group(1), segments[n - 1]) if match else segment)
        return "/" + "/".join(filled) + "/"


@pytest.fixture
def world(alice: User) -> World:
    return World(alice)


@pytest.fixture
def sam(db: None) -> User:
    """Staff who writes: deletes categories and services."""
    return UserFactory(username="sam", is_staff=True)


def snapshot() -> dict[str, Any]:
    """What a refused write must leave as it was, in one query: the number of rows of every
    table (history included: every write makes a version), the sum of the version numbers of
    each versioned table (they only grow), and the flags' states and notes."""
    quote = connection.ops.quote_name
    columns: list[str] = []
    names: list[str] = []
    for model in apps.get_models():
        label = model._meta.label
        if label == "sessions.Session" or label.startswith("axes."):
            continue
        table = quote(model._meta.db_table)
        columns.append(f"(SELECT COUNT(*) FROM {table})")  # noqa: S608 - the models' tables
        names.append(label)
        fields = {f.name for f in model._meta.concrete_fields}
        if "version" in fields and not model.__name__.startswith("Historical"):
            total = f"(SELECT COALESCE(SUM({quote('version')}), 0) FROM {table})"  # noqa: S608
            columns.append(total)
            names.append(f"{label} versions")
    flags = quote(RecurrenceFlag._meta.db_table)
    weighed = " + ".join(
        f"LENGTH(COALESCE({quote(name)}, '')) * {weight}"
        for name, weight in (("state", 1), ("outcome", 7), ("note", 13))
    )
    columns.append(f"(SELECT COALESCE(SUM({weighed}), 0) FROM {flags})")  # noqa: S608
    names.append("flag states")
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns))
        return dict(zip(names, cursor.fetchone(), strict=True))


def _forms_that_post(html: str) -> list[str]:
    """The actions of the page's POST forms and htmx posts, the logout form left out."""
    found = re.findall(r'<form\b[^>]*method="post"[^>]*action="([^"]*)"', html, re.IGNORECASE)
    found += re.findall(r'hx-post="([^"]*)"', html)
    return [action for action in found if action != "/accounts/logout/"]


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    return client


# --- The walk: pages -------------------------------------------------------------------------


def test_the_walk_finds_the_pages_and_routes_we_know() -> None:
    for route in ("incidents/new/", "incidents/<int:pk>/edit/", "review/<week:week>/meeting/",
                  "flags/<int:pk>/", "game-days/<int:pk>/start/", "categories/"):  # fmt: skip
        assert route in PAGE_ROUTES
    for operation in (("GET", "/api/incidents/"), ("POST", "/api/incidents/"),
                      ("PATCH", "/api/remediations/{id}/"), ("DELETE", "/api/categories/{id}/"),
                      ("POST", "/api/flags/{id}/dismiss/"), ("GET", "/api/review/{week}/"),
                      ("POST", "/api/scenarios/{id}/journal/")):  # fmt: skip
        assert operation in API_OPERATIONS


@pytest.mark.django_db
def test_the_schema_walked_is_the_one_the_api_serves(alice_client: Client) -> None:
    served = alice_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert served.status_code == 200
    paths = json.loads(served.content)["paths"]
    assert sorted({path for _, path in API_OPERATIONS}) == sorted(paths)


def _name(path: str) -> str | None:
    return resolve(path.split("?")[0]).url_name


@pytest.mark.django_db
@pytest.mark.parametrize(
    "route", [r for r in PAGE_ROUTES if not r.startswith((*OWN_ACCOUNT, ADMIN))]
)
def test_a_viewer_reads_every_page_a_writer_reads(
    route: str, world: World, victor_client: Client, alice_client: Client
) -> None:
    path = world.page(route)
    name = _name(path)
    path += QUERIES.get(name or "", "")
    as_writer = alice_client.get(path)
    as_viewer = victor_client.get(path)
    if name in FORM_PAGES:
        assert as_writer.status_code == 200, f"{path}: the writer's form answered {as_writer}"
        assert as_viewer.status_code == 403, f"{path}: a viewer got {as_viewer.status_code}"
        assert b"Viewers can read but not change anything" in as_viewer.content
        return
    if name in STAFF_PAGES:
        assert (as_writer.status_code, as_viewer.status_code) == (403, 403), path
        return
    assert as_viewer.status_code == as_writer.status_code, path
    # A picture's address holds a random key, and the world has no picture: 404 to both alike
    # (tests/incidents/test_images.py serves real ones to viewers).
    if name in BY_SECRET or name in SUPERUSER_ONLY or name == "incident_image":
        assert as_viewer.status_code == 404
        return
    # The world holds every id the addresses name: a read page is found (or redirects, or
    # takes only POST), never "not found" by accident.
    assert as_viewer.status_code in (200, 301, 302, 405), f"{path}: {as_viewer.status_code}"
    if as_viewer.status_code == 200 and "text/html" in as_viewer["Content-Type"]:
        html = as_viewer.content.decode()
        assert not _forms_that_post(html), f"{path} offers a viewer: {_forms_that_post(html)}"
        assert not re.search(r'href="[^"]*/(new|edit)/', html), f"{path} links to a form"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "route", [r for r in PAGE_ROUTES if not r.startswith((*OWN_ACCOUNT, ADMIN))]
)
def test_every_write_on_a_page_is_refused_to_a_viewer_and_not_to_a_writer(
    route: str, world: World, victor_client: Client, alice_client: Client
) -> None:
    path = world.page(route)
    before = snapshot()
    as_viewer = victor_client.post(path, {})
    assert snapshot() == before, f"a viewer's POST to {path} changed something"
    as_writer = alice_client.post(path, {})
    if as_writer.status_code == 405 or _name(path) == "home":
        # Nothing is written here (a read page, or the home redirect): a viewer is answered
        # alike, and nothing changed above.
        assert as_viewer.status_code == as_writer.status_code, path
        return
    assert as_viewer.status_code == 403, f"a viewer's POST to {path}: {as_viewer.status_code}"
    if _name(path) in STAFF_ONLY_WRITES:
        assert as_writer.status_code == 403 and snapshot() == before, path
        return
    if _name(path) in STAFF_PAGES:
        assert as_writer.status_code == 403, f"{path} is for staff only"
        return
    assert as_writer.status_code != 403, f"a writer's POST to {path} was refused"
    for method in ("put", "patch", "delete"):
        answer = getattr(victor_client, method)(path)
        assert answer.status_code in (403, 405), f"{method.upper()} {path}: {answer.status_code}"


@pytest.mark.django_db
def test_the_admin_sends_people_who_are_not_staff_to_log_in_alike(
    world: World, victor_client: Client, alice_client: Client
) -> None:
    before = snapshot()
    for route in [r for r in PAGE_ROUTES if r.startswith(ADMIN)]:
        path = world.page(route)
        if path in ("/admin/login/", "/admin/logout/"):
            continue  # one's own session, as with the account pages
        for client in (victor_client, alice_client):
            for answer in (client.get(path), client.post(path, {"post": "yes"})):
                assert answer.status_code == 302, f"{path}: {answer.status_code}"
                assert "/login/" in answer["Location"], path
    assert snapshot() == before


# --- The walk: the API -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "template"), API_OPERATIONS)
def test_every_api_route_answers_a_viewer_as_its_role_says(
    method: str, template: str, world: World, victor: User, alice: User
) -> None:
    path = world.api(template)
    viewer, writer = api_client_for(victor), api_client_for(alice)
    if method == "GET":
        path += API_QUERIES.get(template, "")
        as_writer, as_viewer = writer.get(path), viewer.get(path)
        assert as_viewer.status_code == as_writer.status_code == 200, (
            f"{path}: {as_viewer.status_code} for the viewer, {as_writer.status_code}"
        )
        return
    before = snapshot()
    as_viewer = getattr(viewer, method.lower())(path, {}, format="json")
    assert as_viewer.status_code == 403, f"{method} {path}: {as_viewer.status_code}"
    assert as_viewer.json()["detail"] == "Viewers can read but not change anything in Once."
    assert snapshot() == before, f"a viewer's {method} {path} changed something"
    as_writer = getattr(writer, method.lower())(path, {}, format="json")
    if method == "DELETE":
        # Deleting is for staff (categories: the API's only deletion).
        assert as_writer.status_code == 403
        assert as_writer.json()["detail"] == "Only staff can delete this."
        assert snapshot() == before
    else:
        assert as_writer.status_code != 403, f"a writer's {method} {path} was refused"


@pytest.mark.django_db
def test_staff_delete_an_unused_category_through_the_api(world: World, sam: User) -> None:
    response = api_client_for(sam).delete(f"/api/categories/{world.spare.pk}/")
    assert response.status_code == 204
    assert not FailureCategory.objects.filter(pk=world.spare.pk).exists()


@pytest.mark.django_db
def test_staff_in_viewers_only_read_through_the_api(world: World, sam: User) -> None:
    sam.groups.add(Group.objects.get_or_create(name=VIEWERS)[0])
    response = api_client_for(sam).delete(f"/api/categories/{world.spare.pk}/")
    assert response.status_code == 403
    assert FailureCategory.objects.filter(pk=world.spare.pk).exists()


@pytest.mark.django_db
def test_an_inactive_users_token_reads_nothing(world: World, alice: User) -> None:
    client = api_client_for(alice)
    alice.is_active = False
    alice.save()
    assert client.get("/api/incidents/").status_code in (401, 403)


@pytest.mark.django_db
def test_a_writer_changes_things_through_the_api(world: World, alice: User) -> None:
    response = api_client_for(alice).patch(
        f"/api/remediations/{world.remediation.pk}/",
        {"title": "Move to HTTP/2", "version": world.remediation.version},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert Remediation.objects.get(pk=world.remediation.pk).title == "Move to HTTP/2"


# --- The actions: every way in is refused alike ----------------------------------------------


@pytest.mark.django_db
def test_a_viewer_cant_save_an_incident_through_the_action(world: World, victor: User) -> None:
    record = clean_report({**record_of(world.incident), "title": "Renamed", "remediations": []})
    with pytest.raises(PermissionDenied):
        save_incident(world.incident, record, by=victor, expected_version=world.incident.version)
    assert Incident.objects.get(pk=world.incident.pk).title != "Renamed"


@pytest.mark.django_db
def test_a_viewers_import_is_refused_and_stores_nothing(victor: User) -> None:
    parsed = parse_record({"title": "Imported", "started_at": "2024-01-01T00:00:00Z"})
    with pytest.raises(PermissionDenied):
        apply_record(parsed, by=victor)
    with pytest.raises(PermissionDenied):
        BatchImporter(by=victor)
    assert not Incident.objects.filter(title="Imported").exists()


@pytest.mark.django_db
def test_an_import_by_the_system_or_a_writer_goes_through(alice: User) -> None:
    parsed = parse_record({"title": "Imported", "started_at": "2024-01-01T00:00:00Z"})
    assert apply_record(parsed, by=alice).created
    assert BatchImporter(by=alice).by == alice
    assert BatchImporter(by=None).by is None


@pytest.mark.django_db
def test_a_viewer_cant_save_a_remediation(world: World, victor: User) -> None:
    errors = Errors()
    record = clean_remediation({"title": "Sneaky", "kind": "prevent"}, errors)
    with pytest.raises(PermissionDenied):
        save_remediation(Remediation(), record, by=victor, expected_version=None)
    assert not Remediation.objects.filter(title="Sneaky").exists()


@pytest.mark.django_db
def test_a_viewer_cant_triage_a_flag(world: World, victor: User) -> None:
    with pytest.raises(PermissionDenied):
        triage_flag(world.flag, outcome="fix_did_not_hold", by=victor)
    with pytest.raises(PermissionDenied):
        review_actions.triage(
            world.flag, outcome="partial", note="n", week=Week.current(), by=victor
        )
    assert RecurrenceFlag.objects.get(pk=world.flag.pk).state == FlagState.OPEN


@pytest.mark.django_db
def test_a_viewer_cant_plan_start_or_record_a_game_day(world: World, victor: User) -> None:
    errors = Errors()
    record = clean_game_day({**game_day_record_of(world.game_day), "title": "Renamed"}, errors)
    with pytest.raises(PermissionDenied):
        save_game_day(world.game_day, record, by=victor, expected_version=world.game_day.version)
    with pytest.raises(PermissionDenied):
        start_game_day(world.game_day, by=victor)
    with pytest.raises(PermissionDenied):
        record_outcome(world.scenario, outcome="held", observations="", ran_at=None, by=victor)
    world.game_day.refresh_from_db()
    assert (world.game_day.title, world.game_day.status) == ("Break etcd", "planned")


@pytest.mark.django_db
def test_a_viewer_cant_review_or_keep_the_minutes(world: World, victor: User) -> None:
    week = Week.current()
    with pytest.raises(PermissionDenied):
        review_actions.mark_reviewed(
            world.incident, week=week, by=victor, expected_version=world.incident.version
        )
    form = MeetingForm({"notes": "Sneaky"}, instance=ReviewMeeting(week_start=week.monday))
    assert form.is_valid(), form.errors
    with pytest.raises(PermissionDenied):
        review_actions.save_meeting(form, by=victor, expected_version=None)
    assert not ReviewMeeting.objects.filter(notes="Sneaky").exists()


@pytest.mark.django_db
def test_writers_create_and_rename_categories_and_services_viewers_dont(
    victor: User, alice: User
) -> None:
    with pytest.raises(PermissionDenied):
        save_category(FailureCategory(name="Sneaky"), by=victor)
    with pytest.raises(PermissionDenied):
        save_service(Service(), by=victor, name="Sneaky")
    category = save_category(FailureCategory(name="Networking"), by=alice)
    service = save_service(Service(), by=alice, name="Envoy")
    assert category.pk and service.pk
    assert not FailureCategory.objects.filter(name="Sneaky").exists()
    assert not Service.objects.filter(name="Sneaky").exists()


@pytest.mark.django_db
def test_only_staff_delete_categories_and_services(world: World, alice: User, sam: User) -> None:
    with pytest.raises(PermissionDenied):
        delete_category(world.spare, by=alice)
    with pytest.raises(PermissionDenied):
        delete_service(world.service, by=alice)
    delete_category(world.spare, by=sam)
    delete_service(world.service, by=sam)
    assert not FailureCategory.objects.filter(pk=world.spare.pk).exists()
    assert not Service.objects.filter(pk=world.service.pk).exists()
    assert list(Incident.objects.get(pk=world.incident.pk).services.all()) == []


# --- Pages: what a viewer is shown -----------------------------------------------------------


@pytest.mark.django_db
def test_a_viewer_sees_no_write_buttons_where_a_writer_does(
    world: World, victor_client: Client, alice_client: Client
) -> None:
    page = f"/incidents/{world.incident.pk}/"
    writer_html = alice_client.get(page).content.decode()
    viewer_html = victor_client.get(page).content.decode()
    assert f"/incidents/{world.incident.pk}/edit/" in writer_html
    assert "New incident" in writer_html
    assert f"/flags/{world.flag.pk}/" in _forms_that_post(writer_html)
    assert f"/incidents/{world.incident.pk}/edit/" not in viewer_html
    assert "New incident" not in viewer_html
    assert world.incident.title in viewer_html


@pytest.mark.django_db
def test_a_viewers_refusal_is_the_403_page(world: World, victor_client: Client) -> None:
    response = victor_client.get("/incidents/new/")
    assert response.status_code == 403
    assert "<h1>Not allowed</h1>" in response.content.decode()


# --- The admin follows the roles -------------------------------------------------------------


def _staff(username: str, *, viewer: bool) -> User:
    """Staff holding every model permission, as an admin would grant them."""
    user = UserFactory(username=username, is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    if viewer:
        user.groups.add(Group.objects.get_or_create(name=VIEWERS)[0])
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


@pytest.mark.django_db
def test_staff_in_viewers_read_the_admin_but_change_nothing(world: World) -> None:
    client = _client(_staff("vera", viewer=True))
    change = f"/admin/incidents/incident/{world.incident.pk}/change/"
    shown = client.get(change)
    assert shown.status_code == 200 and world.incident.title in shown.content.decode()
    assert 'name="_save"' not in shown.content.decode()  # read only
    before = snapshot()
    assert client.post(change, {"title": "Renamed"}).status_code == 403
    assert client.get("/admin/incidents/incident/add/").status_code == 403
    deleting = f"/admin/incidents/failurecategory/{world.spare.pk}/delete/"
    assert client.post(deleting, {"post": "yes"}).status_code == 403
    assert client.get("/admin/auth/user/").status_code == 403
    assert snapshot() == before


@pytest.mark.django_db
def test_staff_delete_a_category_in_the_admin_through_the_action(world: World) -> None:
    client = _client(_staff("sam", viewer=False))
    deleting = f"/admin/incidents/failurecategory/{world.spare.pk}/delete/"
    assert client.post(deleting, {"post": "yes"}).status_code == 302
    assert not FailureCategory.objects.filter(pk=world.spare.pk).exists()


@pytest.mark.django_db
def test_staff_manage_users_but_only_a_superuser_makes_superusers(victor: User) -> None:
    sam = _staff("sam", viewer=False)
    client = _client(sam)
    page = client.get(f"/admin/auth/user/{victor.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="groups"' in html  # staff put people in and out of Viewers
    assert 'name="is_superuser"' not in html  # shown read-only
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    assert client.post(f"/admin/auth/user/{root.pk}/change/", {}).status_code == 403
