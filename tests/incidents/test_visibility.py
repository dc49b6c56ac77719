"""Who sees a restricted incident (PRODUCT.md, "Who may see and change what"): its author,
members of its access groups and superusers; nobody else, and the system sees everything."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User

from incidents.models import Incident, Visibility
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def security(bob: User) -> Group:
    group = Group.objects.create(name="Security")
    bob.groups.add(group)
    return group


@pytest.fixture
def restricted(alice: User, security: Group) -> Incident:
    return IncidentFactory(
        title="Leaked key", author=alice, visibility=Visibility.RESTRICTED, access_groups=[security]
    )


@pytest.fixture
def public() -> Incident:
    return IncidentFactory(title="Disk full")


def test_everyone_sees_an_incident_for_everyone(public: Incident, charlie: User) -> None:
    assert list(Incident.objects.visible_to(charlie)) == [public]
    assert public.is_visible_to(charlie)


@pytest.mark.parametrize("who", ["alice", "bob", "root", "system"])
def test_author_group_members_superusers_and_the_system_see_a_restricted_incident(
    who: str, restricted: Incident, public: Incident
) -> None:
    user = {
        "alice": lambda: User.objects.get(username="alice"),
        "bob": lambda: User.objects.get(username="bob"),
        "root": lambda: UserFactory(username="root", is_superuser=True),
        "system": lambda: None,
    }[who]()
    assert set(Incident.objects.visible_to(user)) == {restricted, public}
    assert restricted.is_visible_to(user)
    assert not Incident.objects.hidden_from(user).exists()


def test_anyone_else_never_meets_a_restricted_incident(
    restricted: Incident, public: Incident, charlie: User
) -> None:
    for user in (charlie, AnonymousUser(), UserFactory(is_staff=True)):
        assert list(Incident.objects.visible_to(user)) == [public]
        assert list(Incident.objects.hidden_from(user)) == [restricted]
        assert not restricted.is_visible_to(user)


def test_a_member_of_two_granted_groups_sees_the_incident_once(
    restricted: Incident, charlie: User
) -> None:
    other = Group.objects.create(name="Legal")
    restricted.access_groups.add(other)
    charlie.groups.add(other, Group.objects.get(name="Security"))
    assert list(Incident.objects.visible_to(charlie).filter(pk=restricted.pk)) == [restricted]
    assert Incident.objects.visible_to(charlie).count() == 1
