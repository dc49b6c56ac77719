"""factory_boy factories: the smallest valid objects, named like what they are."""

from __future__ import annotations

import datetime

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents.actions import save_category
from incidents.models import FailureCategory, Incident
from remediations.models import Remediation


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]  # noqa: N805
        if create:
            obj.save()


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FailureCategory

    name = factory.Sequence(lambda n: f"Failure mode {n}")
    parent = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        return save_category(model_class(*args, **kwargs))


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Incident number {n}")
    summary = "Something went wrong."
    body = "## Impact\n\nSome."
    started_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=3))

    @factory.post_generation
    def categories(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]  # noqa: N805
        if create and extracted:
            obj.categories.set(extracted)

    @factory.post_generation
    def services(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]  # noqa: N805
        if create and extracted:
            obj.services.set(extracted)


class RemediationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Remediation

    title = factory.Sequence(lambda n: f"Remediation number {n}")
    opened_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=10))
