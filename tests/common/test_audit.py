"""The audit log (PRODUCT.md, "/audit/ (superusers) lists sign-ins, views of restricted
incidents, exports, deletions, and changes of roles or visibility"; issue 13, item 5): each
kind of event with who, what, when and from where; the page; and a log nobody can rewrite."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from common import audit
from common.models import AppendOnly, AuditEvent
from incidents.actions import record_of, save_incident
from incidents.models import FailureCategory, Incident, Service, Visibility
from incidents.records import INCIDENT_FIELDS
from tests.api_helpers import api_client_for
from tests.conftest import MODEL_BACKEND
from tests.factories import CategoryFactory, IncidentFactory, RemediationFactory, UserFactory

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action
ADDRESS = "198.51.100.7"


def _mark() -> int:
    """The newest event's id: what the fixtures recorded (sign-ins, new superusers) is older."""
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _events(action: str, since: int = 0) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, id__gt=since).order_by("id"))


def _only(action: str, since: int = 0) -> AuditEvent:
    events = _events(action, since)
    assert len(events) == 1, [(e.username, e.target_label, e.detail) for e in events]
    return events[0]


@pytest.fixture
def root(db: None) -> User:
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def root_client(root: User) -> Client:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(root, backend=MODEL_BACKEND)
    return client


@pytest.fixture
def security(bob: User) -> Group:
    group = Group.objects.create(name="Security")
    bob.groups.add(group)
    return group


@pytest.fixture
def restricted(alice: User, security: Group) -> Incident:
    return IncidentFactory(
        title="Leaked signing key", author=alice, visibility=Visibility.RESTRICTED,
        access_groups=[security],
    )  # fmt: skip


# --- Sign-ins ---------------------------------------------------------------------------------


def test_a_sign_in_is_recorded_with_who_when_and_from_where(alice: User) -> None:
    before = timezone.now()
    response = Client(REMOTE_ADDR=ADDRESS).post(
        reverse("login"), {"username": "alice", "password": "password"}
    )
    assert response.status_code == 302
    event = _only(Action.SIGN_IN)
    assert (event.user, event.username, event.address) == (alice, "alice", ADDRESS)
    assert before <= event.at <= timezone.now()
    assert event.detail["backend"] == "django.contrib.auth.backends.ModelBackend"


def test_behind_the_proxy_the_address_is_the_one_the_proxy_saw(alice: User, settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    Client(REMOTE_ADDR="10.0.0.2").post(
        reverse("login"),
        {"username": "alice", "password": "password"},
        headers={"X-Forwarded-For": "192.0.2.66, 203.0.113.9", "X-Forwarded-Proto": "https"},
    )
    assert _only(Action.SIGN_IN).address == "203.0.113.9"  # not the spoofable first hop


def test_without_a_proxy_a_forwarded_header_is_not_believed(alice: User) -> None:
    Client(REMOTE_ADDR=ADDRESS).post(
        reverse("login"),
        {"username": "alice", "password": "password"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert _only(Action.SIGN_IN).address == ADDRESS


def test_a_failed_sign_in_keeps_the_name_tried_and_never_the_password(alice: User) -> None:
    Client(REMOTE_ADDR=ADDRESS).post(
        reverse("login"), {"username": "alice", "password": "hunter2-wrong"}
    )
    event = _only(Action.SIGN_IN_FAILED)
    assert (event.user, event.username, event.address) == (None, "alice", ADDRESS)
    stored = str(AuditEvent.objects.filter(pk=event.pk).values().get())
    assert "hunter2" not in stored
    assert not _events(Action.SIGN_IN)


def test_a_failed_sign_in_for_a_name_nobody_has_is_recorded_too(db: None) -> None:
    Client(REMOTE_ADDR=ADDRESS).post(reverse("login"), {"username": "mallory", "password": "x"})
    assert _only(Action.SIGN_IN_FAILED).username == "mallory"


def test_a_sign_in_by_another_backend_such_as_single_sign_on_is_recorded_with_it(
    alice: User,
) -> None:
    # Single sign-on ends in Django's auth.login like a password does; the signal hears both.
    sso = "mozilla_django_oidc.auth.OIDCAuthenticationBackend"
    Client(REMOTE_ADDR=ADDRESS).force_login(alice, backend=sso)
    event = _only(Action.SIGN_IN)
    assert (event.username, event.detail["backend"]) == ("alice", sso)


def test_signing_out_is_recorded(alice_client: Client, alice: User) -> None:
    alice_client.post(reverse("logout"), REMOTE_ADDR=ADDRESS)
    event = _only(Action.SIGN_OUT)
    assert (event.user, event.address) == (alice, ADDRESS)


# --- Views of restricted incidents ------------------------------------------------------------


@pytest.mark.parametrize("page", ["incident_detail", "incident_edit", "incident_history"])
def test_a_look_at_a_restricted_incident_is_recorded(
    bob: User, restricted: Incident, page: str
) -> None:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(bob, backend=MODEL_BACKEND)
    path = reverse(page, args=[restricted.pk])
    assert client.get(path).status_code == 200
    event = _only(Action.RESTRICTED_VIEW)
    assert (event.username, event.address) == ("bob", ADDRESS)
    assert (event.target_type, event.target_id) == ("incident", str(restricted.pk))
    assert event.target_label == f"INC-{restricted.pk} Leaked signing key"
    assert event.detail == {"path": path}


def test_a_restricted_incident_read_through_the_api_is_recorded(
    bob: User, restricted: Incident
) -> None:
    api = api_client_for(bob)
    response = api.get(f"/api/incidents/{restricted.pk}/", REMOTE_ADDR=ADDRESS)
    assert response.status_code == 200
    event = _only(Action.RESTRICTED_VIEW)
    assert (event.user, event.target_id, event.address) == (bob, str(restricted.pk), ADDRESS)


def test_looking_at_an_incident_for_everyone_is_not_recorded(alice_client: Client) -> None:
    incident = IncidentFactory()
    assert alice_client.get(reverse("incident_detail", args=[incident.pk])).status_code == 200
    assert api_client_for(UserFactory()).get(f"/api/incidents/{incident.pk}/").status_code == 200
    assert not _events(Action.RESTRICTED_VIEW)


# A restricted incident's fix page shows the incident's title and its fix (which shares its
# visibility), so a look at it is a look at the restricted incident.


@pytest.mark.parametrize("page", ["remediation_detail", "remediation_history", "remediation_edit"])
def test_a_look_at_a_restricted_incidents_fix_page_is_recorded(
    bob: User, restricted: Incident, page: str
) -> None:
    fix = RemediationFactory(incident=restricted, title="Rotate the signing key")
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(bob, backend=MODEL_BACKEND)
    path = reverse(page, args=[fix.pk])
    assert client.get(path).status_code == 200
    event = _only(Action.RESTRICTED_VIEW)
    assert (event.username, event.address) == ("bob", ADDRESS)
    assert (event.target_type, event.target_id) == ("remediation", str(fix.pk))
    assert "Rotate the signing key" in event.target_label
    assert event.detail == {
        "path": path,
        "incident": {"id": str(restricted.pk), "label": f"INC-{restricted.pk} Leaked signing key"},
    }


def test_a_restricted_incidents_fix_read_through_the_api_is_recorded(
    bob: User, restricted: Incident
) -> None:
    fix = RemediationFactory(incident=restricted)
    response = api_client_for(bob).get(f"/api/remediations/{fix.pk}/", REMOTE_ADDR=ADDRESS)
    assert response.status_code == 200
    event = _only(Action.RESTRICTED_VIEW)
    assert (event.user, event.target_id, event.address) == (bob, str(fix.pk), ADDRESS)
    assert event.detail["incident"]["id"] == str(restricted.pk)


def test_looking_at_the_fix_of_an_incident_for_everyone_or_of_none_is_not_recorded(
    alice_client: Client,
) -> None:
    for fix in (RemediationFactory(incident=IncidentFactory()), RemediationFactory(incident=None)):
        assert alice_client.get(reverse("remediation_detail", args=[fix.pk])).status_code == 200
        assert api_client_for(UserFactory()).get(f"/api/remediations/{fix.pk}/").status_code == 200
    assert not _events(Action.RESTRICTED_VIEW)


# --- Exports ----------------------------------------------------------------------------------


def test_an_export_of_incidents_is_recorded_with_how_many_and_where_to(tmp_path: Path) -> None:
    IncidentFactory.create_batch(3)
    out = tmp_path / "incidents.jsonl"
    call_command("export_incidents", output=str(out))
    event = _only(Action.EXPORT)
    assert (event.user, event.username, event.address) == (None, "", None)  # the system
    assert event.target_label == "3 incidents"
    assert event.detail["command"] == "export_incidents"
    assert (event.detail["count"], event.detail["output"]) == (3, str(out))
    assert "os_user" in event.detail


def test_an_export_of_game_days_is_recorded(tmp_path: Path) -> None:
    call_command("export_game_days", str(tmp_path / "game-days.jsonl"))
    event = _only(Action.EXPORT)
    assert (event.target_label, event.detail["command"]) == ("0 game days", "export_game_days")


# --- Deletions --------------------------------------------------------------------------------


def test_deleting_a_service_in_the_admin_is_recorded(root_client: Client, root: User) -> None:
    service = Service.objects.create(name="etcd")
    path = reverse("admin:incidents_service_delete", args=[service.pk])
    assert root_client.post(path, {"post": "yes"}).status_code == 302
    assert not Service.objects.exists()
    event = _only(Action.DELETION)
    assert (event.user, event.address) == (root, ADDRESS)
    assert (event.target_type, event.target_id, event.target_label) == (
        "service", str(service.pk), "etcd"
    )  # fmt: skip
    assert event.detail == {"via": "admin"}


def test_deleting_several_categories_at_once_in_the_admin_records_each(
    root_client: Client,
) -> None:
    categories = [CategoryFactory(name="DNS"), CategoryFactory(name="TLS")]
    response = root_client.post(
        reverse("admin:incidents_failurecategory_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [c.pk for c in categories],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not FailureCategory.objects.exists()
    events = _events(Action.DELETION)
    assert sorted(e.target_label for e in events) == ["DNS", "TLS"]
    assert {e.target_type for e in events} == {"failure category"}


def test_every_admin_page_records_its_deletions_whichever_app_registered_it() -> None:
    from django.contrib import admin

    from common.audit_admin import AuditedDeletes

    registered = {
        model._meta.label: model_admin for model, model_admin in admin.site._registry.items()
    }
    assert {"auth.User", "auth.Group", "incidents.Incident", "remediations.Remediation"} <= set(
        registered
    )
    assert [label for label, m in registered.items() if not isinstance(m, AuditedDeletes)] == []


def test_deleting_a_category_through_the_api_is_recorded(root: User) -> None:
    category = CategoryFactory(name="Networking")
    response = api_client_for(root).delete(f"/api/categories/{category.pk}/", REMOTE_ADDR=ADDRESS)
    assert response.status_code == 204
    event = _only(Action.DELETION)
    assert (event.username, event.target_label, event.address) == ("root", "Networking", ADDRESS)
    assert event.detail == {"via": "api"}


def test_deleting_a_user_in_the_admin_is_recorded_and_their_events_keep_their_name(
    root_client: Client, charlie: User
) -> None:
    Client(REMOTE_ADDR=ADDRESS).force_login(charlie, backend=MODEL_BACKEND)
    path = reverse("admin:auth_user_delete", args=[charlie.pk])
    assert root_client.post(path, {"post": "yes"}).status_code == 302
    deletion = _only(Action.DELETION)
    assert (deletion.target_type, deletion.target_label) == ("user", "charlie")
    sign_in = AuditEvent.objects.get(action=Action.SIGN_IN, username="charlie")
    assert sign_in.user is None


# --- Roles and groups -------------------------------------------------------------------------


def _request_by(user: User) -> Any:
    request = RequestFactory().post("/admin/", REMOTE_ADDR=ADDRESS)
    request.user = user
    return request


def test_making_a_user_staff_in_the_admin_is_recorded_with_before_and_after(
    root_client: Client, root: User, charlie: User
) -> None:
    path = reverse("admin:auth_user_change", args=[charlie.pk])
    form = root_client.get(path).context["adminform"].form
    since = _mark()
    data = {
        name: value
        for name, value in {**form.initial, "is_staff": "on"}.items()
        if name not in ("password", "groups", "user_permissions") and value not in (None, False)
    }
    data.update(
        date_joined_0=charlie.date_joined.strftime("%Y-%m-%d"),
        date_joined_1=charlie.date_joined.strftime("%H:%M:%S"),
    )
    data.pop("date_joined", None)
    data.pop("last_login", None)
    response = root_client.post(path, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    charlie.refresh_from_db()
    assert charlie.is_staff
    event = _only(Action.ROLE_CHANGE, since)
    assert (event.user, event.address) == (root, ADDRESS)
    assert (event.target_type, event.target_label) == ("user", "charlie")
    assert event.detail == {"is_staff": [False, True]}
    assert not _events(Action.GROUP_CHANGE, since)  # the form set the same (no) groups


def test_role_changes_made_outside_a_request_are_recorded_as_the_systems(charlie: User) -> None:
    charlie.is_superuser = True
    charlie.is_active = False
    charlie.save()
    event = _only(Action.ROLE_CHANGE)
    assert (event.user, event.username, event.address) == (None, "", None)
    assert event.detail == {"is_active": [True, False], "is_superuser": [False, True]}


def test_a_new_superuser_is_recorded(db: None) -> None:
    User.objects.create_superuser("admin2", "admin2@example.com", "pw-long-enough-42")
    event = _only(Action.ROLE_CHANGE)
    assert event.target_label == "admin2"
    assert event.detail == {
        "is_staff": [False, True], "is_superuser": [False, True], "created": True
    }  # fmt: skip


def test_saving_a_user_without_changing_a_role_records_nothing(alice: User) -> None:
    alice.first_name = "Alice"
    alice.save()
    alice.set_password("another-password-1")
    alice.save()
    assert not _events(Action.ROLE_CHANGE)


def test_adding_and_removing_group_members_is_recorded_from_either_side(
    root: User, charlie: User, victor: User
) -> None:
    security = Group.objects.create(name="Security")
    ops = Group.objects.create(name="Ops")
    since = _mark()
    with audit.request_context(_request_by(root)):
        charlie.groups.add(security, ops)
        security.user_set.add(victor)
        charlie.groups.remove(ops)
        charlie.groups.remove(ops)  # not a member any more: nothing happens, nothing recorded
        security.user_set.clear()
    changes = [(e.target_label, e.detail) for e in _events(Action.GROUP_CHANGE, since)]
    assert changes == [
        ("charlie", {"added": ["Ops", "Security"], "of": "groups"}),
        ("victor", {"added": ["Security"], "of": "groups"}),
        ("charlie", {"removed": ["Ops"], "of": "groups"}),
        ("charlie", {"removed": ["Security"], "of": "groups"}),
        ("victor", {"removed": ["Security"], "of": "groups"}),
    ]
    assert {(e.username, e.address) for e in _events(Action.GROUP_CHANGE, since)} == {
        ("root", ADDRESS)
    }
    assert _events(Action.GROUP_CHANGE, since)[0].detail_lines() == ["groups added: Ops, Security"]


def test_permissions_given_to_a_group_are_a_role_change(root: User) -> None:
    group = Group.objects.create(name="Editors")
    permission = Permission.objects.get(codename="delete_failurecategory")
    since = _mark()
    with audit.request_context(_request_by(root)):
        group.permissions.add(permission)
    event = _only(Action.ROLE_CHANGE, since)
    assert (event.target_type, event.target_label, event.username) == ("group", "Editors", "root")
    assert event.detail == {"added": ["incidents.delete_failurecategory"], "of": "permissions"}


# --- Visibility ------------------------------------------------------------------------------

needs_visibility_in_the_record = pytest.mark.skipif(
    "visibility" not in INCIDENT_FIELDS,
    reason="the incident record carries visibility once issue 13 item 2 is merged",
)


@needs_visibility_in_the_record
def test_restricting_an_incident_and_changing_its_groups_is_recorded(
    alice: User, security: Group
) -> None:
    incident = IncidentFactory(title="Outage", author=alice)
    Group.objects.create(name="Legal")
    restricted = {"visibility": Visibility.RESTRICTED, "access_groups": ["Security"]}
    with audit.request_context(_request_by(alice)):
        save_incident(incident, {**record_of(incident), **restricted}, by=alice,
                      expected_version=incident.version)  # fmt: skip
        incident.refresh_from_db()
        save_incident(incident, {**record_of(incident), "access_groups": ["Legal", "Security"]},
                      by=alice, expected_version=incident.version)  # fmt: skip
        incident.refresh_from_db()
        save_incident(incident, {**record_of(incident), "title": "Outage (edited)"}, by=alice,
                      expected_version=incident.version)  # fmt: skip
    changes = [e.detail for e in _events(Action.VISIBILITY_CHANGE)]
    assert changes == [
        {"visibility": ["everyone", "restricted"], "access_groups": [[], ["Security"]]},
        {"visibility": ["restricted", "restricted"],
         "access_groups": [["Security"], ["Legal", "Security"]]},
    ]  # fmt: skip
    assert {(e.username, e.address) for e in _events(Action.VISIBILITY_CHANGE)} == {
        ("alice", ADDRESS)
    }


@needs_visibility_in_the_record
def test_a_new_incident_is_recorded_only_when_it_starts_restricted(
    alice: User, security: Group
) -> None:
    template = record_of(IncidentFactory())
    save_incident(Incident(), {**template, "title": "Open"}, by=alice, expected_version=None)
    assert not _events(Action.VISIBILITY_CHANGE)
    save_incident(
        Incident(),
        {**template, "title": "Hidden", "visibility": "restricted", "access_groups": ["Security"]},
        by=alice, expected_version=None,
    )  # fmt: skip
    event = _only(Action.VISIBILITY_CHANGE)
    assert event.target_label.endswith("Hidden")


def test_importing_a_restricted_incident_is_in_the_audit_log(
    tmp_path: Path, security: Group
) -> None:
    # New incidents are bulk-written by the importer, not by save_incident: audited all the same.
    line = {
        "external_id": "pm-1", "title": "Keys in the build log", "started_at": "2026-11-01",
        "visibility": "restricted", "access_groups": ["Security"],
    }  # fmt: skip
    public = {"external_id": "pm-2", "title": "Open", "started_at": "2026-11-01"}
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(line) + "\n" + json.dumps(public) + "\n", encoding="utf-8")
    call_command("import_incidents", str(path), stdout=io.StringIO())
    event = _only(Action.VISIBILITY_CHANGE)
    incident = Incident.objects.get(external_id="pm-1")
    assert (event.user, event.target_id) == (None, str(incident.pk))
    assert event.detail == {
        "visibility": ["everyone", "restricted"], "access_groups": [[], ["Security"]]
    }  # fmt: skip


# --- API tokens -------------------------------------------------------------------------------


def test_making_and_revoking_a_token_on_the_tokens_page_is_recorded_without_the_key(
    alice: User,
) -> None:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(alice, backend=MODEL_BACKEND)
    client.post("/account/tokens/", {"action": "create_token", "name": "deploy bot", "days": "30"})
    key = client.get("/account/tokens/").context["new_token"]["key"]
    made = _only(Action.TOKEN_CREATED)
    assert (made.user, made.address, made.target_label) == (alice, ADDRESS, "deploy bot (alice)")
    assert made.detail["owner"] == "alice"
    token_id = made.target_id
    client.post("/account/tokens/", {"action": "revoke_token", "token": token_id})
    revoked = _only(Action.TOKEN_REVOKED)
    assert (revoked.user, revoked.target_id) == (alice, token_id)
    logged = str(list(AuditEvent.objects.values()))
    assert key not in logged and key[5:20] not in logged  # no part of the key is kept


def test_a_token_made_by_the_command_is_the_systems_and_a_revocation_in_the_admin_is_staffs(
    alice: User, root_client: Client, root: User
) -> None:
    call_command("create_api_token", "alice", "--name", "ci", stdout=io.StringIO())
    made = _only(Action.TOKEN_CREATED)
    assert (made.user, made.detail["owner"]) == (None, "alice")
    root_client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [made.target_id]},
    )
    revoked = _only(Action.TOKEN_REVOKED)
    assert (revoked.user, revoked.detail["owner"]) == (root, "alice")
    # Revoking again revokes nothing and records nothing.
    root_client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [made.target_id]},
    )
    assert len(_events(Action.TOKEN_REVOKED)) == 1


# --- The page ---------------------------------------------------------------------------------


def test_the_audit_page_shows_who_what_when_and_from_where_newest_first(
    root_client: Client, bob: User, restricted: Incident
) -> None:
    client = Client(REMOTE_ADDR="203.0.113.50")
    client.force_login(bob, backend=MODEL_BACKEND)
    client.get(reverse("incident_detail", args=[restricted.pk]))
    response = root_client.get(reverse("audit_log"))
    assert response.status_code == 200
    page = list(response.context["page"])
    assert page[0].action == Action.RESTRICTED_VIEW  # newest first
    html = response.content.decode()
    assert "Viewed a restricted incident" in html
    assert f"INC-{restricted.pk} Leaked signing key" in html
    assert "203.0.113.50" in html and ">bob<" in html.replace(" ", "")
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("who", ["alice", "victor", "staff"])
def test_only_superusers_see_the_audit_page(who: str, alice: User, victor: User) -> None:
    user = {"alice": alice, "victor": victor}.get(who) or UserFactory(
        username="staff", is_staff=True
    )
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    assert client.get(reverse("audit_log")).status_code == 404
    assert "/audit/" not in client.get(reverse("incident_list")).content.decode()


def test_the_superusers_menu_links_to_the_audit_page(root_client: Client) -> None:
    assert 'href="/audit/"' in root_client.get(reverse("incident_list")).content.decode()


def test_the_audit_page_filters_by_action_user_and_days(root_client: Client, root: User) -> None:
    day = datetime.datetime(2026, 3, 10, 12, tzinfo=datetime.UTC)
    for n, (action, name) in enumerate(
        [(Action.EXPORT, ""), (Action.SIGN_IN_FAILED, "mallory"), (Action.SIGN_IN, "alice")]
    ):
        AuditEvent.objects.create(action=action, username=name, at=day + datetime.timedelta(days=n))

    def shown(**query: str) -> list[str]:
        response = root_client.get(reverse("audit_log"), query)
        assert response.status_code == 200
        return [f"{e.action}:{e.username}" for e in response.context["page"]]

    assert shown(action="sign_in_failed") == ["sign_in_failed:mallory"]
    assert shown(user="alice") == ["sign_in:alice"]
    assert shown(after="2026-03-11", before="2026-03-11") == ["sign_in_failed:mallory"]
    assert shown(before="2026-03-10") == ["export:"]
    # and today's: root's creation as a superuser, and sign-in
    assert len(shown()) == 5
    assert len(shown(after="0001-01-01", before="9999-12-31")) == 5  # the ends of the calendar


def test_the_audit_page_is_paginated_in_a_fixed_number_of_queries(
    root_client: Client, django_assert_num_queries: Any
) -> None:
    for n in range(120):
        AuditEvent.objects.create(action=Action.SIGN_IN_FAILED, username=f"guess{n}")
    root_client.get(reverse("audit_log"))  # warm the session
    # session, user, count, the page's rows
    with django_assert_num_queries(4):
        response = root_client.get(reverse("audit_log"), {"page": 2})
    assert len(response.context["page"]) == 50
    assert response.context["page"].paginator.num_pages == 3
    html = response.content.decode()
    assert "guess69" in html and "guess119" not in html


# --- Nobody rewrites the log ------------------------------------------------------------------


def test_the_admin_offers_no_way_to_change_the_log(root_client: Client) -> None:
    audit.record(Action.EXPORT, by=None)
    assert root_client.get("/admin/common/auditevent/").status_code == 404
    assert "auditevent" not in root_client.get("/admin/").content.decode().lower()


def test_the_orm_refuses_to_change_or_delete_events(alice: User) -> None:
    event = audit.record(Action.EXPORT, by=alice)
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(username="mallory")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.all().delete()
    event.username = "mallory"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).username == "alice"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_on_postgresql_the_table_itself_refuses_updates_and_deletes(alice: User) -> None:
    event = audit.record(Action.EXPORT, by=alice)
    for sql in (
        "UPDATE common_auditevent SET username = 'mallory'",
        "UPDATE common_auditevent SET user_id = NULL, username = ''",  # erasing who, too
        "DELETE FROM common_auditevent",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    # Django's own bulk paths (QuerySet.update and delete bypassed) are refused alike.
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk)._raw_delete(connection.alias)
    assert AuditEvent.objects.get(pk=event.pk).username == "alice"


def test_deleting_a_user_keeps_their_events_under_their_name(alice: User) -> None:
    audit.record(Action.EXPORT, by=alice)
    alice.delete()  # on PostgreSQL, the trigger lets only this user_id = NULL through
    event = _only(Action.EXPORT)
    assert (event.user, event.username) == (None, "alice")


def test_the_audit_page_writes_a_tokens_expiry_like_every_other_time(
    root_client: Client, alice: User
) -> None:
    call_command("create_api_token", "alice", "--name", "ci", "--days", "30", stdout=io.StringIO())
    made = _only(Action.TOKEN_CREATED)
    expires = datetime.datetime.fromisoformat(made.detail["expires_at"])
    html = root_client.get(reverse("audit_log")).content.decode()
    assert f"expires at: {expires:%Y-%m-%d %H:%M} UTC" in html
    assert made.detail["expires_at"] not in html  # not the stored ISO text with microseconds
