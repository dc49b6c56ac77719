"""Keeping search documents in step with the knowledge base.

Every write path that changes what an incident says calls one of the `*_changed` functions
below inside its transaction. The documents are rebuilt right after the commit, before the
save returns to its caller: an incident is findable as soon as its save returns. Rebuilding is
set-based (a fixed number of queries per chunk of incidents), so an import of thousands or
the rename of a big category costs seconds, not minutes. `rebuild_search_index` rebuilds
everything, for a restore or a changed indexing rule.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Q
from django.utils import timezone

from common import changes
from common.bulk import relax_commit_durability
from incidents.models import (
    PATH_SEPARATOR,
    Cause,
    FailureCategory,
    Incident,
    IncidentQuerySet,
    TimelineEntry,
    Visibility,
)
from remediations.models import Remediation
from search.models import SearchDocument, SearchWord
from search.text import compound_parts, plain_text, words

logger = logging.getLogger(__name__)

CHUNK = 500
REBUILD_CHUNK = 2000  # incidents per progress step of rebuild_all
ROWS_PER_STATEMENT = 250  # documents per INSERT … ON CONFLICT statement
VOCABULARY_WORD = (3, 40)  # shorter words are not worth a typo fix; longer ones are noise


def _chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def build_documents(incident_ids: list[int]) -> list[SearchDocument]:
    """The search documents of these incidents, from six queries whatever their number."""
    labels: dict[int, list[str]] = defaultdict(list)
    summary: dict[int, list[str]] = defaultdict(list)
    body: dict[int, list[str]] = defaultdict(list)

    through = Incident.categories.through.objects.filter(incident_id__in=incident_ids)
    for incident_id, path in through.values_list("incident_id", "failurecategory__path"):
        labels[incident_id].append(path)
    services = Incident.services.through.objects.filter(incident_id__in=incident_ids)
    for incident_id, name in services.values_list("incident_id", "service__name"):
        labels[incident_id].append(name)
    causes = Cause.objects.filter(incident_id__in=incident_ids).order_by("pk")
    for incident_id, description, path in causes.values_list(
        "incident_id", "description", "category__path"
    ):
        summary[incident_id].append(description)
        if path and path not in labels[incident_id]:
            labels[incident_id].append(path)
    remediations = Remediation.objects.filter(incident_id__in=incident_ids).order_by("pk")
    for incident_id, title, description in remediations.values_list(
        "incident_id", "title", "description"
    ):
        summary[incident_id].append(title)
        body[incident_id].append(plain_text(description))
    timeline = TimelineEntry.objects.filter(incident_id__in=incident_ids).order_by("at", "pk")
    for incident_id, text in timeline.values_list("incident_id", "text"):
        body[incident_id].append(text)

    documents = []
    now = timezone.now()
    # A duplicate has no document: it leaves search (PRODUCT.md, "Writing, duplicates …"),
    # unless its original is restricted (`searched`).
    for incident_id, title, incident_summary, incident_body in (
        searched().filter(pk__in=incident_ids).values_list("pk", "title", "summary", "body")
    ):
        document = SearchDocument(
            incident_id=incident_id,
            title=title,
            # Paths read as words: "Control plane > etcd" → "Control plane. etcd".
            labels="\n".join(p.replace(PATH_SEPARATOR, ". ") for p in labels[incident_id]),
            summary="\n".join([incident_summary, *summary[incident_id]]).strip(),
            body="\n".join([plain_text(incident_body), *body[incident_id]]).strip(),
            indexed_at=now,
        )
        # The parts of compound words ("CoreDNS" → core dns, "logo.png" → logo png), so that
        # a part finds them on every backend (search.text.compound_parts). Labels are never
        # shown: the parts are indexed there, at its weight.
        parts = compound_parts(
            "\n".join([document.title, document.labels, document.summary, document.body])
        )
        if parts:
            document.labels = f"{document.labels}\n{parts}".strip()
        documents.append(document)
    return documents


def searched() -> IncidentQuerySet:
    """The incidents that have a search document: every one but the duplicates of a public
    original (those leave search for everyone: PRODUCT.md, "Writing, duplicates and importing
    Markdown"). A duplicate of a restricted original is kept, because for the people that
    original is hidden from it is an incident like any other (`IncidentQuerySet.originals`);
    search leaves it out for the others (search.service.hidden_ids). Such duplicates are few,
    so what each search leaves out stays small. An original changing between public and
    restricted has its duplicates reindexed (incidents.actions.save_incident)."""
    return Incident.objects.filter(
        Q(duplicate_of__isnull=True) | Q(duplicate_of__visibility=Visibility.RESTRICTED)
    )


def vocabulary(documents: Iterable[SearchDocument]) -> set[str]:
    shortest, longest = VOCABULARY_WORD
    found: set[str] = set()
    for document in documents:
        for text in (document.title, document.labels, document.summary, document.body):
            found.update(words(text))
    return {w for w in found if shortest <= len(w) <= longest and not w.isdigit()}


def _store(documents: list[SearchDocument]) -> None:
    """Insert these documents, or update those stored, but only where the text changed.

    One statement per ROWS_PER_STATEMENT documents. A document that says what it said is left
    alone: the database then neither re-derives its full-text index entry nor rewrites the row
    (on PostgreSQL, the generated tsvector and its GIN entries cost most of a write), so a
    rebuild after a restore, or the refresh of a batch already indexed, costs only a read.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    fields = ("title", "labels", "summary", "body")
    changed = " OR ".join(f"search_document.{f} <> excluded.{f}" for f in fields)
    size = ROWS_PER_STATEMENT if connection.vendor == "postgresql" else 100  # SQLite: 999 args
    with connection.cursor() as cursor:
        for start in range(0, len(documents), size):
            batch = documents[start : start + size]
            rows = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(batch))
            cursor.execute(
                f"""INSERT INTO search_document (incident_id, {", ".join(fields)}, indexed_at)
                    VALUES {rows}
                    ON CONFLICT (incident_id) DO UPDATE SET
                        {", ".join(f"{f} = excluded.{f}" for f in fields)},
                        indexed_at = excluded.indexed_at
                    WHERE {changed}""",  # noqa: S608 (our column names; the text is parameters)
                [
                    value
                    for d in batch
                    for value in (d.incident_id, d.title, d.labels, d.summary, d.body, d.indexed_at)
                ],
            )


def refresh(incident_ids: Iterable[int], *, relaxed: bool = False) -> int:
    """Rebuild the documents of these incidents now; returns how many were built.

    A fixed number of queries per CHUNK incidents. `relaxed`: commit without waiting for the
    disk (common.bulk.relax_commit_durability), for a rebuild that can simply run again.
    """
    ids = sorted(set(incident_ids))
    written = 0
    for chunk in _chunks(ids):
        documents = build_documents(chunk)
        words_used = vocabulary(documents)
        with transaction.atomic():
            if relaxed:
                relax_commit_durability()
            unsearched = Incident.objects.filter(pk__in=chunk).exclude(pk__in=searched())
            SearchDocument.objects.filter(incident_id__in=unsearched.values("pk")).delete()
            _store(documents)
            known = set(
                SearchWord.objects.filter(word__in=words_used).values_list("word", flat=True)
            )
            SearchWord.objects.bulk_create(
                (SearchWord(word=w) for w in words_used - known),
                ignore_conflicts=True,
                batch_size=2000,
            )
        written += len(documents)
    return written


def rebuild_all(progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild every document (and drop those of deleted incidents and duplicates).

    Walks the incidents in id order, REBUILD_CHUNK at a time (memory stays flat whatever their
    number), and calls `progress(incidents done, total)` after each chunk. Returns how many
    documents were built (duplicates have none). Time grows linearly with the incidents
    (docs/search.md, "Reindexing").
    """
    total = Incident.objects.count()
    SearchDocument.objects.exclude(incident_id__in=searched().values("pk")).delete()
    written, done, last = 0, 0, 0
    while True:
        chunk = list(
            Incident.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:REBUILD_CHUNK]
        )
        if not chunk:
            break
        written += refresh(chunk, relaxed=True)
        done, last = done + len(chunk), chunk[-1]
        if progress:  # incidents made while it runs may push `done` past the first count
            progress(done, max(total, done))
    return written


def _refresh_now(ids: Iterable[int]) -> None:
    try:
        refresh(ids)
    except Exception:  # a stale search document must never undo or fail a saved incident
        logger.exception("Could not refresh search documents; run rebuild_search_index.")


# --- Subscribed to common.changes: each runs after the commit of a write ----------------------


def incidents_changed(incident_ids: list[int]) -> None:
    _refresh_now(incident_ids)


def remediation_changed(remediation_id: int) -> None:
    """A remediation's title and description are part of its incident's document."""
    _refresh_now(
        Remediation.objects.filter(pk=remediation_id, incident__isnull=False).values_list(
            "incident_id", flat=True
        )
    )


def category_moved(category_id: int) -> None:
    """A renamed or moved category changes the labels of every incident in its subtree."""
    category = FailureCategory.objects.get(pk=category_id)
    subtree = FailureCategory.objects.subtree(category)
    _refresh_now(
        Incident.objects.filter(Q(categories__in=subtree) | Q(causes__category__in=subtree))
        .values_list("pk", flat=True)
        .distinct()
    )


def service_changed(service_id: int) -> None:
    """A renamed service changes the documents of every incident it affected."""
    _refresh_now(Incident.objects.filter(services=service_id).values_list("pk", flat=True))


def subscribe() -> None:
    changes.subscribe(changes.INCIDENTS, incidents_changed)
    changes.subscribe(changes.REMEDIATION, remediation_changed)
    changes.subscribe(changes.CATEGORY, category_moved)
    changes.subscribe(changes.SERVICE, service_changed)
