"""Have we seen this before? Past incidents like the one being written, with why they match.

Fed by search (`search.service.search`, made for the viewer: an incident hidden from them is
never suggested) and by the failure modes chosen: an incident of the same failure mode is a
candidate even when it is worded differently. A duplicate is never suggested to someone who
sees its original (search leaves it out for them, and so does `originals(viewer)`), nor is the
incident being edited.
PRODUCT.md, "Writing, duplicates and importing Markdown" (`GET /api/incidents/similar/`).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from common.forms import id_of
from common.validation import Errors, clean_text
from incidents.models import PATH_SEPARATOR, Cause, FailureCategory, Incident
from incidents.names import canonical_name
from incidents.records import MAX_CATEGORIES, MAX_SUMMARY, MAX_TITLE
from search.query import parse
from search.service import Result, highlight_stems, search
from search.text import stem, words

CANDIDATES = 50  # from search, and from each failure mode chosen
WORDS_SHOWN = 8
# How much each signal weighs in the score, among the signals given (so a title alone can
# still score 1): the words typed, the failure modes shared, the services shared.
WEIGHTS = {"words": 0.6, "failure_modes": 0.3, "services": 0.1}


@dataclass
class Why:
    """Why an incident is suggested: what it shares with the one being written."""

    failure_modes: list[str] = field(default_factory=list)  # paths of the modes chosen
    words: list[str] = field(default_factory=list)  # words typed that its text uses
    services: list[str] = field(default_factory=list)  # service names


@dataclass
class Suggestion:
    incident: Incident
    score: float  # 0..1, higher is likelier the same thing
    snippet: str  # safe HTML: escaped text, only <mark> added
    categories: list[str]
    why: Why


def similar_incidents(
    *,
    title: str,
    summary: str,
    categories: Sequence[FailureCategory],
    services: Sequence[str] = (),
    viewer: Any,
    exclude: int | None = None,
) -> list[Suggestion]:
    """Incidents `viewer` may see that look like the one described, best first (at most
    CANDIDATES from the words and as many per failure mode). Raises SearchTimeout when the
    database gives up on the search."""
    text = f"{title}\n{summary}".strip()
    query = parse(text)
    originals = Incident.objects.originals(viewer)
    if exclude is not None:
        originals = originals.exclude(pk=exclude)
    hits: dict[int, Result] = {}
    if query:
        found = search(
            text,
            viewer=viewer,
            within=originals if exclude is not None else None,
            limit=CANDIDATES,
        )
        hits = {r.incident.pk: r for r in found.results if r.incident.pk != exclude}
    visible = originals.visible_to(viewer)
    by_mode: dict[int, set[int]] = {}
    for category in categories:
        by_mode[category.pk] = set(
            visible.in_category(category)
            .order_by("-started_at", "-id")
            .values_list("pk", flat=True)[:CANDIDATES]
        )
    ids = set(hits) | {pk for found_ids in by_mode.values() for pk in found_ids}
    if not ids:
        return []
    incidents = {i.pk: i for i in Incident.objects.filter(pk__in=ids)}
    paths = _category_paths(list(ids))
    service_names = _service_names(list(ids))
    stems = highlight_stems(query) if query else frozenset()
    wanted_services = {
        canonical_name(name).lower(): name.strip() for name in services if canonical_name(name)
    }
    signals = [
        name
        for name, given in (
            ("words", bool(query)),
            ("failure_modes", bool(categories)),
            ("services", bool(wanted_services)),
        )
        if given
    ]
    total = sum(WEIGHTS[name] for name in signals)
    suggestions = []
    for pk in ids:
        incident = incidents.get(pk)
        if incident is None:
            continue
        hit = hits.get(pk)
        why = Why(
            failure_modes=[
                c.path
                for c in categories
                if any(p == c.path or p.startswith(c.path + PATH_SEPARATOR) for p in paths[pk])
            ],
            words=_matched_words(f"{incident.title}\n{incident.summary}", stems) if hit else [],
            services=[name for name in service_names[pk] if name.lower() in wanted_services],
        )
        shares = {
            "words": hit.score if hit else 0.0,
            "failure_modes": len(why.failure_modes) / len(categories) if categories else 0.0,
            "services": len(why.services) / len(wanted_services) if wanted_services else 0.0,
        }
        score = sum(WEIGHTS[name] * shares[name] for name in signals) / total if total else 0.0
        if score <= 0:
            continue
        suggestions.append(
            Suggestion(
                incident=incident,
                score=round(score, 4),
                snippet=hit.snippet if hit else html.escape(incident.summary[:240]),
                categories=sorted(p for p in paths[pk] if p),
                why=why,
            )
        )
    suggestions.sort(key=lambda s: (-s.score, -s.incident.started_at.timestamp(), -s.incident.pk))
    return suggestions


def _matched_words(text: str, stems: frozenset[str]) -> list[str]:
    """The words of `text` that match what was typed, as the incident spells them."""
    found: list[str] = []
    for word in words(text):
        if stem(word) in stems and word not in found:
            found.append(word)
            if len(found) == WORDS_SHOWN:
                break
    return found


def _category_paths(ids: list[int]) -> dict[int, set[str]]:
    """Each incident's failure modes, directly or through a cause (two queries)."""
    paths: dict[int, set[str]] = defaultdict(set)
    through = Incident.categories.through.objects.filter(incident_id__in=ids)
    for incident_id, path in through.values_list("incident_id", "failurecategory__path"):
        paths[incident_id].add(path)
    causes = Cause.objects.filter(incident_id__in=ids, category__isnull=False)
    for incident_id, path in causes.values_list("incident_id", "category__path"):
        paths[incident_id].add(path)
    return paths


def _service_names(ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    through = Incident.services.through.objects.filter(incident_id__in=ids).order_by(
        "service__name"
    )
    for incident_id, name in through.values_list("incident_id", "service__name"):
        names[incident_id].append(name)
    return names


@dataclass
class Question:
    """What `GET /api/incidents/similar/` and the form's side panel were asked."""

    title: str = ""
    summary: str = ""
    categories: list[FailureCategory] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    exclude: int | None = None

    def __bool__(self) -> bool:
        return bool(self.title.strip() or self.summary.strip() or self.categories)


def read_question(params: Any, errors: Errors, *, services_key: str = "services") -> Question:
    """The question from query parameters; every problem is added to `errors` at its name.

    `title` (one line, at most 200 characters) and `summary` (at most 5,000), as an incident
    holds them; `categories`: failure category ids, repeated or comma-separated, as the
    incident list's `category` filter takes them (each must exist); `services`: names,
    comma-separated; `exclude`: the id of the incident being edited.
    """
    question = Question(
        title=clean_text(params.get("title"), ("title",), errors, max_length=MAX_TITLE, strip=True),
        summary=clean_text(params.get("summary"), ("summary",), errors, max_length=MAX_SUMMARY),
    )
    raw_ids = [part.strip() for value in params.getlist("categories") for part in value.split(",")]
    ids: list[int] = []
    for raw in filter(None, raw_ids):
        pk = id_of(raw)
        if pk is None or pk > 2**63 - 1:
            errors.add(("categories",), f"takes failure category ids (numbers), not “{raw[:40]}”.")
        elif pk not in ids:
            ids.append(pk)
    if len(ids) > MAX_CATEGORIES:
        errors.add(("categories",), f"takes at most {MAX_CATEGORIES} failure categories.")
    elif ids:
        found = FailureCategory.objects.in_bulk(ids)
        for pk in ids:
            if pk not in found:
                errors.add(("categories",), f"names no failure category with id {pk}.")
        question.categories = [found[pk] for pk in ids if pk in found]
    services = clean_text(params.get(services_key), (services_key,), errors, max_length=5_000)
    question.services = [name.strip() for name in services.split(",") if name.strip()][:50]
    raw_exclude = params.get("exclude") or ""
    if raw_exclude.strip():
        question.exclude = id_of(raw_exclude)
        if question.exclude is None or question.exclude > 2**63 - 1:
            errors.add(("exclude",), f"takes an incident id (a number), not “{raw_exclude[:40]}”.")
            question.exclude = None
    return question


def suggest(question: Question, *, viewer: Any) -> list[Suggestion]:
    """`similar_incidents` for a question read by `read_question` (none when it is empty)."""
    if not question:
        return []
    return similar_incidents(
        title=question.title,
        summary=question.summary,
        categories=question.categories,
        services=question.services,
        viewer=viewer,
        exclude=question.exclude,
    )
