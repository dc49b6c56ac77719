"""API tokens that can't leak: made and revoked by their owner on /account/tokens/ or by
`create_api_token`, shown once, kept only as a hash, expiring, and refused with a reason."""

from __future__ import annotations

import datetime
import hashlib
import io
import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import MAX_ACTIVE_TOKENS, ApiToken
from common.validation import RecordInvalid
from tests.api_helpers import api_key_for
from tests.clock import Clock
from tests.conftest import MODEL_BACKEND
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/account/tokens/"
KEY = re.compile(r'id="new-token-key"[^>]*value="(once_[A-Za-z0-9]+)"')


def make_token(client: Client, name: str = "nightly export", days: int | str = 90) -> str:
    """Make a token on the page, as a person does, and read its key off the page it leads to."""
    response = client.post(
        PAGE, {"action": "create_token", "name": name, "days": days}, follow=True
    )
    assert response.status_code == 200
    found = KEY.search(response.content.decode())
    assert found, response.content.decode()
    return found.group(1)


def api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def refusal(key: str) -> str:
    """Why the API refuses `key`: the 401's detail (and it must be a 401 that says Token)."""
    response = api(key).get("/api/incidents/")
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Token"
    return str(response.json()["detail"])


# --- Making a token on the page, and seeing it once -----------------------------------------


def test_a_key_made_on_the_page_opens_the_api_as_its_owner(alice_client: Client) -> None:
    key = make_token(alice_client)
    assert key.startswith("once_") and len(key) == len("once_") + 43
    response = api(key).get("/api/incidents/")
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert token.user.username == "alice" and token.name == "nightly export"


def test_the_key_is_shown_once_and_never_again(alice_client: Client) -> None:
    key = make_token(alice_client)
    again = alice_client.get(PAGE).content.decode()
    assert key not in again
    assert "nightly export" in again  # the token is listed, by its name
    assert 'id="new-token-key"' not in again


def test_the_key_is_kept_only_as_its_hash_anywhere_in_the_database(
    alice_client: Client,
) -> None:
    key = make_token(alice_client)
    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                assert not any(key in str(value) for value in row), f"the key is in {table}"
    # Sessions are stored encoded: the key passed through one until the page showed it.
    for session in Session.objects.all():
        assert key not in str(session.get_decoded())


def test_the_page_lists_name_dates_and_last_use_but_no_key(
    alice_client: Client, clock: Clock
) -> None:
    key = make_token(alice_client, name="laptop scripts", days=30)
    created = clock.now
    clock.advance(hours=2)
    api(key).get("/api/incidents/")
    response = alice_client.get(PAGE)
    page = response.content.decode()
    row = re.search(r'<tr id="token-\d+".*?</tr>', page, re.S)
    assert row, page
    assert "laptop scripts" in row.group()
    assert f"{created:%Y-%m-%d %H:%M}" in row.group()  # created
    assert f"{created + datetime.timedelta(days=30):%Y-%m-%d %H:%M}" in row.group()  # expires
    assert f"{clock.now:%Y-%m-%d %H:%M}" in row.group()  # last used
    assert key not in page and ApiToken.objects.get().key_hash not in page
    assert "no-store" in response["Cache-Control"]


def test_a_token_never_used_says_so(alice_client: Client) -> None:
    make_token(alice_client)
    row = re.search(r'<tr id="token-\d+".*?</tr>', alice_client.get(PAGE).content.decode(), re.S)
    assert row and "never" in row.group()


def test_a_viewer_may_make_a_token_and_read_with_it(victor_client: Client) -> None:
    key = make_token(victor_client, name="dashboard")
    assert api(key).get("/api/incidents/").status_code == 200


@pytest.mark.parametrize(
    ("name", "days", "message"),
    [
        ("", 90, "This field is required."),
        ("two\nlines", 90, "This field must be a single line"),
        ("x" * 101, 90, "the limit is 100"),
        ("export", 0, "must be from 1 to 365 days, not 0."),
        ("export", 366, "must be from 1 to 365 days, not 366."),
        ("export", "soon", "Enter a whole number."),
    ],
)
def test_a_token_needs_a_name_and_a_lifetime_in_bounds(
    alice_client: Client, name: str, days: int | str, message: str
) -> None:
    response = alice_client.post(PAGE, {"action": "create_token", "name": name, "days": days})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "The token was not made" in page
    if name and "\n" not in name:
        assert f'value="{name}"' in page  # what the person typed is kept
    assert not ApiToken.objects.exists()


def test_a_lifetime_left_empty_is_the_default_ninety_days(
    alice_client: Client, clock: Clock
) -> None:
    alice_client.post(PAGE, {"action": "create_token", "name": "export", "days": ""})
    assert ApiToken.objects.get().expires_at == clock.now + datetime.timedelta(days=90)


def test_one_person_holds_at_most_fifty_tokens_in_force(alice: User, clock: Clock) -> None:
    for n in range(MAX_ACTIVE_TOKENS):
        ApiToken.issue(alice, name=f"script {n}")
    with pytest.raises(RecordInvalid, match="revoke one you no longer use"):
        ApiToken.issue(alice, name="one more")
    oldest = ApiToken.objects.filter(user=alice).values_list("pk", flat=True)[0]
    ApiToken.objects.filter(pk=oldest).revoke()
    ApiToken.issue(alice, name="one more")  # a revoked token makes room


# --- Expiry, revocation, inactive people: 401 with the reason -------------------------------


def test_a_token_stops_working_when_it_expires(alice: User, clock: Clock) -> None:
    key = api_key_for(alice, days=1)
    clock.advance(days=1, seconds=-1)
    assert api(key).get("/api/incidents/").status_code == 200
    clock.advance(seconds=1)
    assert "This token expired on" in refusal(key)
    assert "make a new one on /account/tokens/" in refusal(key)


def test_an_expired_token_is_marked_expired_on_the_page(
    alice: User, alice_client: Client, clock: Clock
) -> None:
    api_key_for(alice, name="old export", days=1)
    clock.advance(days=2)
    alice_client.force_login(alice)  # two idle days ended the session too
    row = re.search(r'<tr id="token-\d+" class="expired".*?</tr>', alice_client.get(PAGE).content.decode(), re.S)  # fmt: skip
    assert row and "old export" in row.group() and "expired" in row.group()


def test_a_revoked_token_stops_working_at_once(alice_client: Client) -> None:
    key = make_token(alice_client)
    token = ApiToken.objects.get()
    response = alice_client.post(PAGE, {"action": "revoke_token", "token": token.pk}, follow=True)
    assert "Token “nightly export” revoked" in response.content.decode()
    assert "This token was revoked" in refusal(key)
    assert f'id="token-{token.pk}"' not in alice_client.get(PAGE).content.decode()


def test_a_token_of_someone_inactive_is_refused(alice: User) -> None:
    key = api_key_for(alice)
    alice.is_active = False
    alice.save()
    assert refusal(key) == "The account this token belongs to is inactive."


def test_an_unknown_key_is_refused(db: None) -> None:
    assert refusal("once_" + "A" * 43) == "Invalid token."


def test_a_key_from_before_the_upgrade_is_refused_with_what_to_do(alice: User) -> None:
    old_style = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # a rest_framework.authtoken key
    assert refusal(old_style) == (
        "Tokens made before keys were stored hashed no longer work: "
        "make a new one on /account/tokens/."
    )


def test_nobody_can_revoke_someone_elses_token(alice: User, bob_client: Client, bob: User) -> None:
    key = api_key_for(alice, name="alice's export")
    token = ApiToken.objects.get(user=alice)
    response = bob_client.post(PAGE, {"action": "revoke_token", "token": token.pk})
    assert response.status_code == 404
    assert api(key).get("/api/incidents/").status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is None
    assert "alice&#x27;s export" not in bob_client.get(PAGE).content.decode()
    assert "alice's export" not in bob_client.get(PAGE).content.decode()


@pytest.mark.parametrize("token", ["", "abc", "²", "99999999999999999999999"])
def test_revoking_a_token_that_does_not_exist_is_not_found(
    alice_client: Client, token: str
) -> None:
    response = alice_client.post(PAGE, {"action": "revoke_token", "token": token})
    assert response.status_code == 404


# --- Last use: noted, at most once a minute --------------------------------------------------


def _token_updates(captured: CaptureQueriesContext) -> int:
    return sum(
        1
        for query in captured.captured_queries
        if query["sql"].startswith("UPDATE") and "accounts_apitoken" in query["sql"]
    )


def test_the_last_use_is_noted_at_most_once_a_minute(alice: User, clock: Clock) -> None:
    key = api_key_for(alice)
    client = api(key)
    token = ApiToken.objects.get()
    assert token.last_used_at is None

    first_use = clock.now
    with CaptureQueriesContext(connection) as captured:
        client.get("/api/incidents/")
    assert _token_updates(captured) == 1
    token.refresh_from_db()
    assert token.last_used_at == first_use

    clock.advance(seconds=59)
    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            client.get("/api/incidents/")
    assert _token_updates(captured) == 0  # reads stay reads
    token.refresh_from_db()
    assert token.last_used_at == first_use

    clock.advance(seconds=1)
    client.get("/api/incidents/")
    token.refresh_from_db()
    assert token.last_used_at == clock.now


# --- The command -----------------------------------------------------------------------------


def test_the_command_prints_the_key_and_nothing_else(alice: User, clock: Clock) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "alice", "--days", "7", "--name", "backup", stdout=out, stderr=err)  # fmt: skip
    key = out.getvalue()
    assert re.fullmatch(r"once_[A-Za-z0-9]{43}\n", key)
    assert api(key.strip()).get("/api/incidents/").status_code == 200
    token = ApiToken.objects.get()
    assert token.name == "backup" and token.user == alice
    assert token.expires_at == clock.now + datetime.timedelta(days=7)
    assert "This is the only time the key is shown." in err.getvalue()


def test_the_command_makes_a_ninety_day_token_by_default(alice: User, clock: Clock) -> None:
    call_command("create_api_token", "alice", stdout=io.StringIO(), stderr=io.StringIO())
    token = ApiToken.objects.get()
    assert token.expires_at == clock.now + datetime.timedelta(days=90)
    assert token.name == "made by create_api_token"


def test_the_command_refuses_an_unknown_user(db: None) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError, match="There is no user named “nobody”.") as refused:
        call_command("create_api_token", "nobody", stdout=out, stderr=io.StringIO())
    assert refused.value.returncode != 0
    assert out.getvalue() == "" and not ApiToken.objects.exists()


def test_the_command_refuses_an_inactive_user(db: None) -> None:
    UserFactory(username="gone", is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        call_command("create_api_token", "gone", stdout=io.StringIO(), stderr=io.StringIO())


def test_the_command_refuses_a_lifetime_out_of_bounds(alice: User) -> None:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="No token was made."):
        call_command("create_api_token", "alice", "--days", "400", stdout=out, stderr=err)
    assert "--days must be from 1 to 365 days, not 400." in err.getvalue()
    assert out.getvalue() == "" and not ApiToken.objects.exists()


# --- The admin -------------------------------------------------------------------------------


@pytest.fixture
def staff(db: None) -> Client:
    client = Client()
    client.force_login(
        UserFactory(username="sam", is_staff=True, is_superuser=True), backend=MODEL_BACKEND
    )
    return client


def test_staff_see_tokens_without_keys_and_can_revoke_them(alice: User, staff: Client) -> None:
    key = api_key_for(alice, name="alice's export")
    token = ApiToken.objects.get()
    listing = staff.get("/admin/accounts/apitoken/").content.decode()
    assert "alice&#x27;s export" in listing
    detail = staff.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    for page in (listing, detail):
        assert key not in page and token.key_hash not in page
    response = staff.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert "1 token revoked" in response.content.decode()
    assert "This token was revoked" in refusal(key)


def test_staff_can_neither_add_change_nor_delete_tokens(alice: User, staff: Client) -> None:
    api_key_for(alice)
    token = ApiToken.objects.get()
    assert staff.get("/admin/accounts/apitoken/add/").status_code == 403
    assert staff.get(f"/admin/accounts/apitoken/{token.pk}/delete/").status_code == 403
    staff.post(f"/admin/accounts/apitoken/{token.pk}/change/", {"name": "renamed"})
    token.refresh_from_db()
    assert token.name == "tests"


# --- The upgrade from rest_framework.authtoken -----------------------------------------------


def _migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.fixture
def before_the_upgrade(transactional_db: None) -> Iterator[None]:
    """The database as the previous version left it: DRF's plain-text tokens in their table."""
    _migrate([("accounts", "0002_viewers_group")])
    alice = UserFactory(username="alice")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, CURRENT_TIMESTAMP, %s)",
            ["9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", alice.pk],
        )
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) "
            "VALUES ('authtoken', '0001_initial', CURRENT_TIMESTAMP)"
        )
    try:
        yield
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_the_upgrade_drops_the_plain_text_keys_and_they_no_longer_work(
    before_the_upgrade: None,
) -> None:
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert "authtoken_token" not in connection.introspection.table_names()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone() == (0,)
    assert "no longer work" in refusal("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b")
