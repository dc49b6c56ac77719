"""How the recurrence engine reads and writes its rows, a chunk of incidents at a time.

On PostgreSQL, set-based statements: each takes a chunk's rows as arrays (one string each,
`_ids`) and does its work in one round trip, whatever the number of rows. A full
reconciliation writes hundreds of thousands of links, flags and named fixes, and spends its
time in PostgreSQL inserting them and checking their foreign keys; this module keeps the rest
out of the way (no model instances, no `IN (%s, …)` with a parameter per id).

Elsewhere (SQLite, the embedded default), the ORM does the same, row by row where it must: a
knowledge base there is small, and one process writes at a time.

Either way: inserts ignore rows a concurrent evaluation added first (the unique constraints
decide), and the engine changes a flag's state only if it is still what it read.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection

from incidents.models import Cause, Incident
from remediations.models import (
    DERIVED_FIELDS,
    FlagFix,
    FlagState,
    RecurrenceFlag,
    RecurrenceLink,
    Remediation,
)

Key = tuple[int, int]  # (incident, category): what a flag is about
# (id, state it was read in, new state, resolved_at, reason)
FlagUpdate = tuple[int, str, str, datetime.datetime | None, str]


def set_based() -> bool:
    return connection.vendor == "postgresql"


def _ids(values: Iterable[int]) -> str:
    """Integers as one PostgreSQL array literal, '{1,2,3}', for `%s::bigint[]`: built in C,
    where a list is adapted element by element in Python."""
    return "{" + ",".join(map(str, values)) + "}"


# The incidents' start and categories, directly or through a cause.
FACTS_SQL = """
SELECT id, started_at, NULL FROM incidents_incident
WHERE id = ANY(%(ids)s::bigint[]) AND duplicate_of_id IS NULL
UNION ALL
SELECT incident_id, NULL, failurecategory_id FROM incidents_incident_categories
WHERE incident_id = ANY(%(ids)s::bigint[])
UNION ALL
SELECT incident_id, NULL, category_id FROM incidents_cause
WHERE incident_id = ANY(%(ids)s::bigint[]) AND category_id IS NOT NULL
"""


def read_facts(ids: list[int]) -> tuple[dict[int, datetime.datetime], dict[int, set[int]]]:
    """When each incident started, and its categories (directly or through a cause).

    A duplicate has no start here: it is its original's incident, once (PRODUCT.md, "Writing,
    duplicates and importing Markdown"), so it is linked to no fix and raises no flag, and
    the flags it had are cleared."""
    started: dict[int, datetime.datetime] = {}
    categories: dict[int, set[int]] = defaultdict(set)
    if set_based():
        with connection.cursor() as cursor:
            cursor.execute(FACTS_SQL, {"ids": _ids(ids)})
            for incident_id, started_at, category_id in cursor.fetchall():
                if started_at is not None:
                    started[incident_id] = started_at
                else:
                    categories[incident_id].add(category_id)
        return started, categories
    started = dict(
        Incident.objects.filter(id__in=ids, duplicate_of__isnull=True).values_list(
            "id", "started_at"
        )
    )
    direct = Incident.categories.through.objects.filter(incident_id__in=ids)
    for incident_id, category_id in direct.values_list("incident_id", "failurecategory_id"):
        categories[incident_id].add(category_id)
    via_causes = Cause.objects.filter(incident_id__in=ids, category__isnull=False)
    for incident_id, category_id in via_causes.values_list("incident_id", "category_id"):
        categories[incident_id].add(category_id)
    return started, categories


# Remove the links of these incidents that no longer hold and add the new ones, in one
# statement. Rows go in in order, so that evaluations running at once wait for each other
# rather than deadlock.
LINKS_SQL = """
WITH wanted AS (
    SELECT * FROM unnest(%(incidents)s::bigint[], %(remediations)s::bigint[])
        AS w(incident_id, remediation_id)
), removed AS (
    DELETE FROM remediations_recurrencelink AS link
    WHERE link.incident_id = ANY(%(ids)s::bigint[])
      AND NOT EXISTS (
        SELECT 1 FROM wanted
        WHERE wanted.incident_id = link.incident_id
          AND wanted.remediation_id = link.remediation_id
      )
    RETURNING 1
), added AS (
    INSERT INTO remediations_recurrencelink (incident_id, remediation_id, created_at)
    SELECT incident_id, remediation_id, %(now)s FROM wanted ORDER BY incident_id, remediation_id
    ON CONFLICT (incident_id, remediation_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM removed), (SELECT count(*) FROM added)
"""


def sync_links(
    ids: list[int], wanted: Sequence[tuple[int, int]], now: datetime.datetime
) -> tuple[int, int]:
    """Make the links of these incidents the (incident, remediation) pairs wanted: how many
    were removed and added."""
    if set_based():
        with connection.cursor() as cursor:
            cursor.execute(
                LINKS_SQL,
                {"ids": _ids(ids), "incidents": _ids(i for i, _ in wanted),
                 "remediations": _ids(r for _, r in wanted), "now": now},
            )  # fmt: skip
            removed, added = cursor.fetchone()
            return removed, added
    existing = {
        (incident_id, remediation_id): pk
        for pk, incident_id, remediation_id in RecurrenceLink.objects.filter(
            incident_id__in=ids
        ).values_list("id", "incident_id", "remediation_id")
    }
    keep = set(wanted)
    stale = [pk for key, pk in existing.items() if key not in keep]
    if stale:
        RecurrenceLink.objects.filter(id__in=stale).delete()
    new = [key for key in wanted if key not in existing]
    RecurrenceLink.objects.bulk_create(
        [RecurrenceLink(incident_id=i, remediation_id=r, created_at=now) for i, r in new],
        ignore_conflicts=True,
    )
    return len(stale), len(new)


def read_flags(ids: list[int]) -> dict[Key, tuple[int, str, str | None, datetime.datetime | None]]:
    """The flags of these incidents: (incident, category) → (id, state, outcome, resolved_at)."""
    if set_based():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, incident_id, category_id, state, outcome, resolved_at"
                " FROM remediations_recurrenceflag WHERE incident_id = ANY(%s::bigint[])",
                [_ids(ids)],
            )
            rows = cursor.fetchall()
    else:
        rows = list(
            RecurrenceFlag.objects.filter(incident_id__in=ids).values_list(
                "id", "incident_id", "category_id", "state", "outcome", "resolved_at"
            )
        )
    return {(i, c): (pk, state, outcome, resolved) for pk, i, c, state, outcome, resolved in rows}


def read_named(flag_ids: list[int]) -> dict[int, set[int]]:
    """Flag id → the fixes it names."""
    named: dict[int, set[int]] = defaultdict(set)
    rows = FlagFix.objects.filter(flag_id__in=flag_ids).values_list("flag_id", "remediation_id")
    for flag_id, remediation_id in rows:
        named[flag_id].add(remediation_id)
    return named


# Each only if the flag is still in the state it was read in: a person triaging it meanwhile
# wins, and the next evaluation sees their decision.
UPDATE_FLAGS_SQL = """
UPDATE remediations_recurrenceflag AS flag
SET state = change.state, resolved_at = change.resolved_at, reason = change.reason
FROM unnest(%(ids)s::bigint[], %(was)s::text[], %(states)s::text[], %(resolved)s::timestamptz[],
            %(reasons)s::text[]) AS change(id, was, state, resolved_at, reason)
WHERE flag.id = change.id AND flag.state = change.was
RETURNING flag.id, flag.state
"""


def update_flags(updates: list[FlagUpdate]) -> list[tuple[int, str]]:
    """Change the state of flags; the (id, new state) of those changed."""
    if not updates:
        return []
    if set_based():
        ids, was, states, resolved, reasons = zip(*updates, strict=True)
        with connection.cursor() as cursor:
            cursor.execute(
                UPDATE_FLAGS_SQL,
                {"ids": _ids(ids), "was": list(was), "states": list(states),
                 "resolved": list(resolved), "reasons": list(reasons)},
            )  # fmt: skip
            return list(cursor.fetchall())
    done = []
    for pk, was_, state, resolved_at, reason in updates:
        if RecurrenceFlag.objects.filter(pk=pk, state=was_).update(
            state=state, resolved_at=resolved_at, reason=reason
        ):
            done.append((pk, state))
    return done


NEW_FLAGS_SQL = """
INSERT INTO remediations_recurrenceflag (incident_id, category_id, state, raised_at, note, reason)
SELECT incident_id, category_id, %(open)s, %(now)s, '', ''
FROM unnest(%(incidents)s::bigint[], %(categories)s::bigint[]) AS new(incident_id, category_id)
ORDER BY incident_id, category_id
ON CONFLICT (incident_id, category_id) DO NOTHING
RETURNING id
"""


def insert_flags(keys: list[Key], now: datetime.datetime) -> list[int]:
    """Raise open flags for these (incident, category): the ids of those this call raised,
    not of those a concurrent evaluation raised first."""
    if not keys:
        return []
    if set_based():
        with connection.cursor() as cursor:
            cursor.execute(
                NEW_FLAGS_SQL,
                {"incidents": _ids(i for i, _ in keys), "categories": _ids(c for _, c in keys),
                 "open": FlagState.OPEN, "now": now},
            )  # fmt: skip
            return [pk for (pk,) in cursor.fetchall()]
    RecurrenceFlag.objects.bulk_create(
        [RecurrenceFlag(incident_id=i, category_id=c, raised_at=now) for i, c in keys],
        ignore_conflicts=True,  # and so no ids: read back those raised at this very moment
    )
    wanted = set(keys)
    rows = RecurrenceFlag.objects.filter(
        incident_id__in={i for i, _ in keys}, raised_at=now
    ).values_list("id", "incident_id", "category_id")
    return sorted(pk for pk, i, c in rows if (i, c) in wanted)


# The fixes each flag names follow the facts, whatever its state: drop those that no longer
# apply, add the new ones, and return both, to re-assess them.
FLAG_FIXES_SQL = """
WITH wanted AS (
    SELECT flag.id AS flag_id, named.remediation_id
    FROM unnest(%(incidents)s::bigint[], %(categories)s::bigint[], %(remediations)s::bigint[])
        AS named(incident_id, category_id, remediation_id)
    JOIN remediations_recurrenceflag AS flag
      ON flag.incident_id = named.incident_id AND flag.category_id = named.category_id
), removed AS (
    DELETE FROM remediations_flagfix AS fix
    WHERE fix.flag_id IN (SELECT flag_id FROM wanted)
      AND NOT EXISTS (
        SELECT 1 FROM wanted
        WHERE wanted.flag_id = fix.flag_id AND wanted.remediation_id = fix.remediation_id
      )
    RETURNING fix.remediation_id
), added AS (
    INSERT INTO remediations_flagfix (flag_id, remediation_id)
    SELECT flag_id, remediation_id FROM wanted ORDER BY flag_id, remediation_id
    ON CONFLICT (flag_id, remediation_id) DO NOTHING
    RETURNING remediation_id
)
SELECT remediation_id FROM removed UNION SELECT remediation_id FROM added
"""


def sync_named(wanted: dict[Key, list[int]]) -> set[int]:
    """Make the flags of these keys name exactly these fixes: the fixes added or dropped."""
    if not wanted:
        return set()
    rows = [(i, c, r) for (i, c), found in wanted.items() for r in found]
    if set_based():
        incidents, categories, remediations = zip(*rows, strict=True)
        with connection.cursor() as cursor:
            cursor.execute(
                FLAG_FIXES_SQL,
                {"incidents": _ids(incidents), "categories": _ids(categories),
                 "remediations": _ids(remediations)},
            )  # fmt: skip
            return {pk for (pk,) in cursor.fetchall()}
    flag_of = {
        (i, c): pk
        for pk, i, c in RecurrenceFlag.objects.filter(
            incident_id__in={i for i, _ in wanted}
        ).values_list("id", "incident_id", "category_id")
        if (i, c) in wanted
    }
    have = FlagFix.objects.filter(flag_id__in=flag_of.values())
    existing = {(f, r): pk for pk, f, r in have.values_list("id", "flag_id", "remediation_id")}
    want = {(flag_of[key], r) for key, found in wanted.items() if key in flag_of for r in found}
    gone = [pair for pair in existing if pair not in want]
    if gone:
        FlagFix.objects.filter(id__in=[existing[pair] for pair in gone]).delete()
    new = sorted(want - existing.keys())
    FlagFix.objects.bulk_create(
        [FlagFix(flag_id=f, remediation_id=r) for f, r in new], ignore_conflicts=True
    )
    return {r for _, r in new} | {r for _, r in gone}


# The columns of DERIVED_FIELDS, in its order.
UPDATE_EFFECTIVENESS_SQL = """
UPDATE remediations_remediation AS fix
SET effectiveness = new.effectiveness, effectiveness_since = new.since,
    effectiveness_evidence = new.evidence, verified_at = new.verified_at,
    regressed_at = new.regressed_at
FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::text[], %s::timestamptz[],
            %s::timestamptz[]) AS new(id, effectiveness, since, evidence, verified_at, regressed_at)
WHERE fix.id = new.id
"""


def update_effectiveness(changed: list[tuple[Any, ...]]) -> None:
    """Write (id, *values of DERIVED_FIELDS) rows, as remediations.effectiveness derives them."""
    if not changed:
        return
    if set_based():
        # One statement: bulk_update's CASE per row costs the server rows² comparisons.
        columns = [list(column) for column in zip(*changed, strict=True)]
        columns[0] = _ids(columns[0])  # type: ignore[call-overload]
        with connection.cursor() as cursor:
            cursor.execute(UPDATE_EFFECTIVENESS_SQL, columns)
        return
    Remediation.objects.bulk_update(
        [
            Remediation(pk=pk, **dict(zip(DERIVED_FIELDS, values, strict=True)))
            for pk, *values in changed
        ],
        DERIVED_FIELDS,
        batch_size=500,
    )
