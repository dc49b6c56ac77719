"""`python manage.py load_demo`: the knowledge base of `make run`."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from incidents.models import FailureCategory, Incident
from remediations.models import Remediation, RemediationStatus

pytestmark = pytest.mark.django_db


def test_demo_is_rich_and_loading_it_twice_changes_nothing(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    first = {
        "incidents": Incident.objects.count(),
        "remediations": Remediation.objects.count(),
        "categories": FailureCategory.objects.count(),
        "titles": set(Remediation.objects.values_list("title", "status", "done_at")),
    }
    call_command("load_demo", verbosity=0)
    assert Incident.objects.count() == first["incidents"] >= 30
    assert Remediation.objects.count() == first["remediations"]
    assert FailureCategory.objects.count() == first["categories"]
    assert set(Remediation.objects.values_list("title", "status", "done_at")) == first["titles"]
    assert set(Remediation.objects.values_list("status", flat=True)) == set(RemediationStatus)
    for path in [
        "Control plane > etcd > Leader elections",
        "Networking > Envoy > HTTP/1.1 connection pool exhaustion",
        "Containers don't start > IAM permissions",
        "Containers don't start > Scheduler bug",
        "Containers don't start > etcd unavailable",
        "Containers don't start > Image pull failures",
        "Configuration > Invalid configuration push",
        "Capacity > Mass pod eviction",
    ]:
        assert Incident.objects.in_category(FailureCategory.objects.get(path=path)).exists(), path
    assert all(i.causes.exists() and i.timeline.exists() for i in Incident.objects.all())


def test_the_demo_login_exists_only_in_debug(settings) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    settings.DEBUG = False
    call_command("load_demo", verbosity=0)
    assert not get_user_model().objects.filter(username="demo").exists()
    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    assert get_user_model().objects.get(username="demo").check_password("demo")
