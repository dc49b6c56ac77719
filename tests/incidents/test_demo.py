"""`python manage.py load_demo`: the knowledge base of `make run`."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from gamedays.models import GameDay, Scenario
from incidents.models import FailureCategory, Incident
from remediations.models import RecurrenceFlag, Remediation, RemediationStatus

pytestmark = pytest.mark.django_db


def test_demo_is_rich_and_loading_it_twice_changes_nothing(settings: Any) -> None:
    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    first: dict[str, Any] = {
        "incidents": Incident.objects.count(),
        "remediations": Remediation.objects.count(),
        "categories": FailureCategory.objects.count(),
        "titles": set(Remediation.objects.values_list("title", "status", "done_at")),
        "effectiveness": set(Remediation.objects.values_list("title", "effectiveness")),
        "game_days": set(GameDay.objects.values_list("external_id", "version", "scheduled_at")),
        "scenarios": set(Scenario.objects.values_list("pk", "outcome", "ran_at")),
    }
    call_command("load_demo", verbosity=0)
    assert Incident.objects.count() == first["incidents"] >= 30
    assert GameDay.objects.count() == 3
    stored = set(GameDay.objects.values_list("external_id", "version", "scheduled_at"))
    assert stored == first["game_days"]
    assert set(Scenario.objects.values_list("pk", "outcome", "ran_at")) == first["scenarios"]
    assert set(Remediation.objects.values_list("title", "effectiveness")) == first["effectiveness"]
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


def test_the_demo_login_exists_only_in_debug(settings: Any) -> None:
    from django.contrib.auth import get_user_model

    settings.DEBUG = False
    call_command("load_demo", verbosity=0)
    assert not get_user_model().objects.filter(username="demo").exists()
    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    assert get_user_model().objects.get(username="demo").check_password("demo")


def test_loading_again_keeps_what_a_person_changed_and_adds_what_is_missing(settings: Any) -> None:
    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    incident = Incident.objects.get(external_id="demo-etcd-ebs-1")
    remediation = Remediation.objects.filter(status=RemediationStatus.OPEN).first()
    Incident.objects.filter(pk=incident.pk).update(title="etcd elections: our own title")
    Remediation.objects.filter(pk=remediation.pk).update(status=RemediationStatus.WONT_DO)
    FailureCategory.objects.filter(path="Storage").update(description="Our words.")
    gone = Incident.objects.get(external_id="demo-dns-3")
    gone.remediations.all().delete()
    gone.delete()
    count = Incident.objects.count()

    call_command("load_demo", verbosity=0)
    assert Incident.objects.get(pk=incident.pk).title == "etcd elections: our own title"
    assert Remediation.objects.get(pk=remediation.pk).status == RemediationStatus.WONT_DO
    assert FailureCategory.objects.get(path="Storage").description == "Our words."
    assert Incident.objects.filter(external_id="demo-dns-3").exists()  # missing: added again
    assert Incident.objects.count() == count + 1


def test_loading_again_logs_nobody_out(settings: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    browser = Client()
    browser.force_login(
        get_user_model().objects.get(username="demo"),
        backend="django.contrib.auth.backends.ModelBackend",
    )
    assert browser.get("/incidents/").status_code == 200
    call_command("load_demo", verbosity=0)
    assert browser.get("/incidents/").status_code == 200  # not a redirect to the login page


def test_the_demo_login_keeps_a_password_its_user_changed(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.contrib.auth import get_user_model

    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    demo = get_user_model().objects.get(username="demo")
    demo.set_password("a better one")
    demo.save()
    call_command("load_demo")
    assert get_user_model().objects.get(username="demo").check_password("a better one")
    assert "with the password you gave it" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)  # the recurrence rules run when the load commits
def test_loading_the_demo_mails_nobody(settings: Any, capsys: pytest.CaptureFixture[str]) -> None:
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    call_command("load_demo", verbosity=0)
    assert RecurrenceFlag.objects.exists()  # the demo has recurrences, and they were flagged
    assert Scenario.objects.filter(outcome="failed").exists()  # and failed verifications
    assert "Subject:" not in capsys.readouterr().out
    from common.models import Notification

    assert not Notification.objects.exists()  # nothing waits to be sent later either


def test_the_demo_tells_the_truth_about_its_fixes(settings: Any) -> None:
    """A few recurrences that matter, fixes holding, detect fixes that raise nothing, and the
    earlier reviews' decisions: the recurrence signal of a believable knowledge base."""
    from remediations.models import Effectiveness, FlagOutcome, FlagState

    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    open_flags = RecurrenceFlag.objects.filter(state=FlagState.OPEN)
    assert 2 <= open_flags.count() <= 6  # what a weekly review gets through
    # Never two open flags of one incident, and only promising fixes are named.
    incidents = list(open_flags.values_list("incident_id", flat=True))
    assert len(incidents) == len(set(incidents))
    named = Remediation.objects.filter(flags__isnull=False).distinct()
    assert set(named.values_list("kind", flat=True)) <= {"prevent", "mitigate"}
    assert not Remediation.objects.filter(kind="detect", flags__isnull=False).exists()
    # A prevent fix that did not hold, decided in an earlier review, and fixes holding.
    regressed = Remediation.objects.get(title="Put etcd data on provisioned-IOPS volumes")
    assert regressed.effectiveness == Effectiveness.REGRESSED
    assert RecurrenceFlag.objects.filter(
        remediations=regressed, outcome=FlagOutcome.FIX_DID_NOT_HOLD
    ).exists()
    holding = set(
        Remediation.objects.filter(effectiveness=Effectiveness.HOLDING, kind="prevent").values_list(
            "title", flat=True
        )
    )
    assert "PodDisruptionBudgets for every production deployment" in holding
    assert RecurrenceFlag.objects.filter(outcome=FlagOutcome.NOT_A_RECURRENCE).exists()


def test_loading_again_never_undoes_a_triage(settings: Any) -> None:
    from remediations.actions import triage_flag
    from remediations.models import FlagState

    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    flag = RecurrenceFlag.objects.filter(state=FlagState.OPEN).first()
    assert flag is not None
    triage_flag(flag, outcome="not_a_recurrence", by=None, note="Our call.")
    decided = set(RecurrenceFlag.objects.values_list("pk", "state", "outcome", "note"))
    call_command("load_demo", verbosity=0)
    assert set(RecurrenceFlag.objects.values_list("pk", "state", "outcome", "note")) == decided


def test_the_demo_has_game_days_that_verify_its_fixes(settings: Any) -> None:
    """Three game days of the talk's examples: one weeks ago, whose scenarios made an untested
    prevent fix verified and one regressed by a failure; one this week, on the review; one
    planned for next week. The recurrence flags are the demo's as before."""
    from remediations.models import Effectiveness, FlagState
    from reports.demo import load_demo, read_demo
    from reviews import agenda
    from reviews.weeks import Week

    settings.DEBUG = True
    data = read_demo()
    load_demo({**data, "game_days": []})  # the demo as it was before its game days
    validated = Remediation.objects.get(title="Validate configs with envoy --mode validate in CI")
    canary = Remediation.objects.get(title="Canary config pushes to 5% of proxies first")
    assert validated.effectiveness == canary.effectiveness == Effectiveness.UNVERIFIED
    before = set(RecurrenceFlag.objects.values_list("pk", "state"))

    loaded = load_demo(data)  # adds the game days, which are missing
    assert loaded.errors == [] and len(loaded.game_days) == 3
    week = Week.current()
    earlier, this_week, planned = GameDay.objects.order_by("scheduled_at")
    assert earlier.status == "done" and earlier.scheduled_at < week.back(2).starts_at
    # An untested prevent fix verified later by a game day, and the evidence says which.
    validated.refresh_from_db()
    assert (validated.kind, validated.effectiveness) == ("prevent", Effectiveness.VERIFIED)
    assert earlier.title in validated.effectiveness_evidence
    # A scenario that failed: the fix it verifies is regressed.
    canary.refresh_from_db()
    assert canary.effectiveness == Effectiveness.REGRESSED
    failed = earlier.scenarios.get(outcome="failed")
    assert list(failed.verifies.all()) == [canary]
    # This week's is on the review, with its failed verification; next week's is all ahead.
    assert week.starts_at <= this_week.scheduled_at < week.ends_at
    built = agenda.build(week, viewer=None)
    assert [g.pk for g in built.game_days.rows] == [this_week.pk]
    assert [s.game_day_id for s in built.failed_verifications.rows] == [this_week.pk]
    assert week.next.starts_at <= planned.scheduled_at < week.next.ends_at
    assert planned.status == "planned"
    assert set(planned.scenarios.values_list("outcome", flat=True)) == {"pending"}
    assert planned.scenarios.filter(verifies__isnull=False).exists()
    # Game days change no recurrence flag: the demo's four stay open.
    assert set(RecurrenceFlag.objects.values_list("pk", "state")) == before
    assert RecurrenceFlag.objects.filter(state=FlagState.OPEN).count() == 4


def test_loading_again_keeps_what_a_person_did_to_the_game_days(settings: Any) -> None:
    from gamedays.actions import record_outcome

    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    earlier, this_week, planned = GameDay.objects.order_by("scheduled_at")
    GameDay.objects.filter(pk=this_week.pk).update(title="Our own title")
    scenario = planned.scenarios.order_by("position").first()
    assert scenario is not None
    record_outcome(scenario, outcome="aborted", observations="Ran early.", ran_at=None, by=None)
    earlier.delete()

    call_command("load_demo", verbosity=0)
    assert GameDay.objects.get(pk=this_week.pk).title == "Our own title"
    assert Scenario.objects.get(pk=scenario.pk).outcome == "aborted"
    assert GameDay.objects.get(pk=planned.pk).status == "running"  # as recording left it
    assert GameDay.objects.filter(external_id=earlier.external_id).exists()  # missing: added
    assert GameDay.objects.count() == 3


def test_the_demo_services_have_design_notes_of_our_own(settings: Any) -> None:
    from incidents.actions import save_service
    from incidents.models import Service

    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    notes = dict(Service.objects.exclude(design_notes="").values_list("name", "design_notes"))
    assert set(notes) == {"etcd", "Envoy", "Kubernetes API server"}
    assert "Predictable disk latency" in notes["etcd"]
    # Loading again keeps notes a person changed, and makes no new version of the others.
    envoy = Service.objects.get(name="Envoy")
    save_service(envoy, by=None, design_notes="Ours now.")
    versions = dict(Service.objects.values_list("name", "version"))
    call_command("load_demo", verbosity=0)
    assert Service.objects.get(name="Envoy").design_notes == "Ours now."
    assert dict(Service.objects.values_list("name", "version")) == versions
