"""Operations on incidents, categories and services, shared by views, API, commands and tasks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils.text import slugify

from common.concurrency import save_versioned
from incidents.models import (
    PATH_SEPARATOR,
    Cause,
    FailureCategory,
    Incident,
    Service,
    TimelineEntry,
)
from remediations import events
from search import index as search_index

User = AbstractBaseUser | AnonymousUser


def _unique_slug(path: str) -> str:
    base = slugify(path.replace(PATH_SEPARATOR, " ")) or "category"
    base = base[:100]
    slug, n = base, 2
    while FailureCategory.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def save_category(category: FailureCategory) -> FailureCategory:
    """Create or update a category, keeping the stored paths of it and its sub-categories right.

    Call `category.full_clean()` first (a form does): it refuses cycles and bad names.
    """
    old_path = None
    if category.pk:
        old_path = FailureCategory.objects.values_list("path", flat=True).get(pk=category.pk)
    parent_path = category.parent.path if category.parent else ""
    category.path = (
        f"{parent_path}{PATH_SEPARATOR}{category.name}" if parent_path else category.name
    )
    if not category.slug:
        category.slug = _unique_slug(category.path)
    category.save()
    if old_path is not None and old_path != category.path:
        events.category_moved(category.pk)
        search_index.category_moved(category.pk)
        # Rename or move: rewrite the path prefix of everything below, deepest last.
        below = FailureCategory.objects.filter(path__startswith=old_path + PATH_SEPARATOR)
        for child in below.order_by("path"):
            child.path = category.path + child.path[len(old_path) :]
            child.save(update_fields=["path"])
    return category


def split_category_path(path: str) -> list[str]:
    """'A > B' → ['A', 'B'], tolerant of stray spaces around the separator."""
    return [part.strip() for part in path.split(PATH_SEPARATOR.strip()) if part.strip()]


def get_or_create_category(path: str) -> FailureCategory:
    """The category at the path "A > B", creating any missing level."""
    names = split_category_path(path)
    if not names:
        raise ValueError("A category path needs at least one name.")
    parent: FailureCategory | None = None
    for depth in range(len(names)):
        full = PATH_SEPARATOR.join(names[: depth + 1])
        existing = FailureCategory.objects.filter(path=full).first()
        if existing is None:
            existing = save_category(FailureCategory(name=names[depth], parent=parent))
        parent = existing
    assert parent is not None
    return parent


def get_or_create_services(names: Iterable[str]) -> list[Service]:
    """Services by name (case-insensitive), created when missing, in the order given."""
    services: list[Service] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        service = Service.objects.filter(name__iexact=name).first()
        if service is None:
            service = Service.objects.create(name=name)
        if service not in services:
            services.append(service)
    return services


def save_incident(
    incident: Incident,
    *,
    by: User | None,
    expected_version: int | None,
    categories: Iterable[FailureCategory] | None = None,
    services: Iterable[Service] | None = None,
) -> Incident:
    """Create an incident or update it from the version the writer started from.

    Raises StaleVersion (nothing written) when someone else saved a newer version meanwhile.
    Run inside the caller's transaction when causes or timeline are saved alongside.
    """
    with transaction.atomic():
        save_versioned(incident, by=by, expected_version=expected_version, creator_field="author")
        if categories is not None:
            incident.categories.set(categories)
        if services is not None:
            incident.services.set(services)
        # After the commit, with causes saved too: re-apply the recurrence rules to it.
        events.incidents_changed([incident.pk])
        # Causes and timeline are saved in the caller's transaction: indexed after its commit.
        search_index.incidents_changed([incident.pk])
    return incident


def replace_causes(
    incident: Incident,
    causes: Iterable[dict[str, Any]],
    category_for: Callable[[str], FailureCategory] = get_or_create_category,
) -> None:
    """Replace the incident's causes: dicts of kind, description and a category path or None."""
    incident.causes.all().delete()
    Cause.objects.bulk_create(
        Cause(
            incident=incident,
            kind=cause["kind"],
            description=cause["description"],
            category=category_for(cause["category"]) if cause.get("category") else None,
        )
        for cause in causes
    )


def replace_timeline(incident: Incident, entries: Iterable[dict[str, Any]]) -> None:
    """Replace the incident's timeline: dicts of `at` and `text`."""
    incident.timeline.all().delete()
    TimelineEntry.objects.bulk_create(
        TimelineEntry(incident=incident, at=entry["at"], text=entry["text"]) for entry in entries
    )
