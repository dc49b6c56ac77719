"""factory_boy factories: the smallest valid objects, named like what they are."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils import timezone

from incidents.actions import save_category
from incidents.models import FailureCategory, Incident, Service
from remediations.models import FlagFix, RecurrenceFlag, Remediation

M = TypeVar("M")

if TYPE_CHECKING:

    class ModelFactory(factory.django.DjangoModelFactory[M]):
        # `SomeFactory(...)` runs the create strategy (factory_boy's metaclass) and returns a
        # model instance; factory_boy's own types say it returns the factory. This says what
        # happens, and mypy refuses a __new__ that returns another class (hence the ignore).
        def __new__(cls, *args: Any, **kwargs: Any) -> M:  # type: ignore[misc]
            raise NotImplementedError
else:
    ModelFactory = factory.django.DjangoModelFactory


class UserFactory(ModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if create:
            obj.save()


class CategoryFactory(ModelFactory[FailureCategory]):
    class Meta:
        model = FailureCategory

    name = factory.Sequence(lambda n: f"Failure mode {n}")
    parent = None

    @classmethod
    def _create(
        cls, model_class: Callable[..., FailureCategory], *args: Any, **kwargs: Any
    ) -> FailureCategory:
        return save_category(model_class(*args, **kwargs), by=None)


class IncidentFactory(ModelFactory[Incident]):
    class Meta:
        model = Incident
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Incident number {n}")
    summary = "Something went wrong."
    body = "## Impact\n\nSome."
    started_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=3))

    @factory.post_generation
    def categories(  # noqa: N805
        obj: Incident, create: bool, extracted: list[FailureCategory] | None, **kwargs: Any
    ) -> None:
        if create and extracted:
            obj.categories.set(extracted)

    @factory.post_generation
    def services(  # noqa: N805
        obj: Incident, create: bool, extracted: list[Service] | None, **kwargs: Any
    ) -> None:
        if create and extracted:
            obj.services.set(extracted)

    @factory.post_generation
    def access_groups(  # noqa: N805
        obj: Incident, create: bool, extracted: list[Any] | None, **kwargs: Any
    ) -> None:
        if create and extracted:
            obj.access_groups.set(extracted)


class RemediationFactory(ModelFactory[Remediation]):
    class Meta:
        model = Remediation

    title = factory.Sequence(lambda n: f"Remediation number {n}")
    opened_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=10))


def make_flag(incident: Any, category: Any, *fixes: Any, **fields: Any) -> RecurrenceFlag:
    """A recurrence flag naming `fixes`, stored as the engine stores one (for tests that need
    a flag in a given state without building the facts that raise it)."""
    flag = RecurrenceFlag.objects.create(incident=incident, category=category, **fields)
    FlagFix.objects.bulk_create([FlagFix(flag=flag, remediation=fix) for fix in fixes])
    return flag
