"""The recurrence rules of PRODUCT.md: link incidents to open remediations, flag recurrences.

For an incident I classified into category K (directly, or through one of its causes), and a
remediation R whose category is K or above it (R *covers* K):

- R is **linked** to I when R was opened before I started and R was still open then: it is
  open or in progress, or it was done only after I started. Links are derived: one that stops
  holding is removed.
- A **flag** is raised for (I, K) when fixes of the kinds in ONCE_RECURRENCE_KINDS (default
  prevent, mitigate: the kinds that promise the failure mode stops or hurts less) that cover
  K were done before I started. It names all of them. When I's categories lie on one branch
  of the tree, only the narrowest is flagged (it is covered by every fix above it): an
  incident in *Control plane* and *Control plane > etcd* gets one flag, on etcd.
- Flags are never deleted. One whose condition stops holding is *cleared* with the reason,
  keeping any decision a person made; when it holds again it goes back to *open*, or to the
  state of that decision. The fixes a flag names follow the facts.

`evaluate(incident_ids)` brings links and flags of those incidents in line with the rules and
re-assesses the effectiveness of the fixes whose flags changed (remediations.effectiveness).
It works in chunks of 10,000 with a fixed number of queries per chunk, so one incident costs
the same whatever the history, and the periodic reconciliation is the same code over more
incidents. The rules run here, in Python, on ids and dates read once (the covering fixes once
per evaluation, not per chunk); remediations.rows reads and writes the rows, set-based on
PostgreSQL, where two connections write the chunks of a large evaluation side by side.
"""

from __future__ import annotations

import bisect
import datetime
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from common import dates
from common.bulk import relax_commit_durability
from incidents.models import PATH_SEPARATOR, Cause, FailureCategory, Incident
from remediations import effectiveness, rows
from remediations.models import (
    OPEN_STATUSES,
    STATE_OF_OUTCOME,
    FlagFix,
    FlagOutcome,
    FlagState,
    RecurrenceLink,
    Remediation,
    RemediationStatus,
)

CHUNK = 10_000


@dataclass
class Changes:
    """What one evaluation changed: counts for logs, and the flags to notify about."""

    links_added: int = 0
    links_removed: int = 0
    flags_raised: list[int] = field(default_factory=list)  # new or re-opened: notify
    flags_cleared: int = 0
    fixes_assessed: int = 0

    def __iadd__(self, other: Changes) -> Changes:
        self.links_added += other.links_added
        self.links_removed += other.links_removed
        self.flags_raised += other.flags_raised
        self.flags_cleared += other.flags_cleared
        self.fixes_assessed += other.fixes_assessed
        return self


def ancestor_paths(path: str) -> list[str]:
    """'A > B > C' → ['A', 'A > B', 'A > B > C']: the categories whose remediations cover it."""
    parts = path.split(PATH_SEPARATOR)
    return [PATH_SEPARATOR.join(parts[: n + 1]) for n in range(len(parts))]


def narrowest(paths: Iterable[str]) -> list[str]:
    """The paths with no other path of the set below them: one per branch of the tree.

    {'A', 'A > B', 'C'} → ['A > B', 'C'].
    """
    unique = sorted(set(paths))
    # Sorted, a path's descendants follow it directly ("A", "A > B", "A > B > C", "AB"), so
    # a path is an ancestor of another iff the next path in order starts with it + " > ".
    return [
        path
        for i, path in enumerate(unique)
        if i + 1 == len(unique) or not unique[i + 1].startswith(path + PATH_SEPARATOR)
    ]


def recurrence_kinds() -> list[str]:
    return list(settings.ONCE_RECURRENCE_KINDS)


class _Tree:
    """The failure categories: each one's path, and the categories whose remediations cover it."""

    def __init__(self) -> None:
        self.load()

    def load(self) -> None:
        self.paths: dict[int, str] = dict(FailureCategory.objects.values_list("id", "path"))
        by_path = {path: pk for pk, path in self.paths.items()}
        # Itself and every category above it, as ids: the rules compare ids, not strings.
        self.covering: dict[int, list[int]] = {
            pk: [by_path[above] for above in ancestor_paths(path) if above in by_path]
            for pk, path in self.paths.items()
        }

    def knows(self, category_ids: Iterable[int]) -> bool:
        return self.paths.keys() >= set(category_ids)

    def narrowest(self, category_ids: set[int]) -> list[int]:
        if len(category_ids) == 1:
            return list(category_ids)
        by_path = {self.paths[pk]: pk for pk in category_ids}
        return [by_path[path] for path in narrowest(by_path)]


# (opened_at, id, done_at) of a remediation that can link, (done_at, id) of one that can flag.
_Open = tuple[datetime.datetime, int, datetime.datetime | None]
_Done = tuple[datetime.datetime, int]


class _Fixes:
    """The remediations that can link or flag, read once per evaluation as its chunks need them
    (a full reconciliation reads each once, not once per chunk), and for each category the
    ones covering it sorted by date, for a quick "before the incident started"."""

    def __init__(self, kinds: list[str]) -> None:
        self.kinds = kinds
        self.tree = _Tree()
        self._on: dict[int, list[tuple[int, str, str, datetime.datetime, datetime.datetime | None]]]
        self._on = {}  # category id → (id, status, kind, opened_at, done_at) of those on it
        self._open: dict[int, list[_Open]] = {}  # covered category id → sorted
        self._done: dict[int, list[_Done]] = {}

    def read(self, category_ids: set[int]) -> None:
        """Make sure the remediations covering these categories are read: one query at most."""
        if not self.tree.knows(category_ids):
            # A category created since the evaluation began (a full run outlasts many saves).
            self.tree.load()
            self._open, self._done = {}, {}
        missing = {above for pk in category_ids for above in self.tree.covering[pk]}
        missing -= self._on.keys()
        if not missing:
            return
        for pk in missing:
            self._on[pk] = []
        rows = Remediation.objects.filter(
            category_id__in=missing, status__in=[*OPEN_STATUSES, RemediationStatus.DONE]
        ).values_list("category_id", "id", "status", "kind", "opened_at", "done_at")
        for category_id, *row in rows:
            self._on[category_id].append(tuple(row))  # type: ignore[arg-type]

    def _sorted(self, category_id: int) -> tuple[list[_Open], list[_Done]]:
        if category_id not in self._open:
            on = [row for above in self.tree.covering[category_id] for row in self._on[above]]
            self._open[category_id] = sorted((opened, pk, done) for pk, _, _, opened, done in on)
            self._done[category_id] = sorted(
                (done, pk)
                for pk, status, kind, _, done in on
                if status == RemediationStatus.DONE and kind in self.kinds and done is not None
            )
        return self._open[category_id], self._done[category_id]

    def linked(self, category_id: int, started_at: datetime.datetime) -> list[int]:
        """Remediations covering the category, opened before `started_at` and still open then."""
        rows = self._sorted(category_id)[0]
        return [
            pk
            for _, pk, done_at in rows[: bisect.bisect_left(rows, (started_at,))]
            if done_at is None or done_at >= started_at
        ]

    def done_before(self, category_id: int, started_at: datetime.datetime) -> list[int]:
        """Fixes of the promising kinds covering the category, done strictly before."""
        rows = self._sorted(category_id)[1]
        return [pk for _, pk in rows[: bisect.bisect_left(rows, (started_at,))]]


def incidents_for_remediation(remediation: Remediation) -> list[int]:
    """Incidents a change to this remediation can affect: those it covers now, and those it
    was linked to or flagged for before (their links and flags may have to go)."""
    return incidents_for_remediations([remediation])


def incidents_for_remediations(remediations: Iterable[Remediation]) -> list[int]:
    """The same for several remediations, in three queries whatever their number."""
    remediations = list(remediations)
    if not remediations:
        return []
    ids = [r.pk for r in remediations]
    found = set(
        RecurrenceLink.objects.filter(remediation_id__in=ids).values_list("incident_id", flat=True)
    )
    found |= set(
        FlagFix.objects.filter(remediation_id__in=ids).values_list("flag__incident_id", flat=True)
    )
    found |= set(incidents_under([r.category for r in remediations if r.category is not None]))
    return sorted(found)


def incidents_under(categories: Iterable[FailureCategory]) -> list[int]:
    """Incidents classified in any of these categories or below, directly or by a cause."""
    subtree = Q()
    for path in _tops({c.path for c in categories}):
        subtree |= Q(path=path) | Q(path__startswith=path + PATH_SEPARATOR)
    if not subtree:
        return []
    below = FailureCategory.objects.filter(subtree).values("id")
    direct = Incident.categories.through.objects.filter(failurecategory_id__in=below)
    causes = Cause.objects.filter(category_id__in=below)
    return sorted(
        Incident.objects.filter(
            Q(id__in=direct.values("incident_id")) | Q(id__in=causes.values("incident_id"))
        ).values_list("id", flat=True)
    )


def _tops(paths: set[str]) -> list[str]:
    """The paths with no other path of the set above them: {'A', 'A > B', 'C'} → ['A', 'C']."""
    unique = sorted(paths)
    return [
        path
        for i, path in enumerate(unique)
        if not any(path.startswith(other + PATH_SEPARATOR) for other in unique[:i])
    ]


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# Chunks written at once, each by its own connection, in a large evaluation: most of its time
# is PostgreSQL inserting rows and checking their foreign keys at commit, one core per
# connection. Chunks hold disjoint incidents, so their rows never meet.
WRITERS = 2


def evaluate(
    incident_ids: Iterable[int], *, assess: Iterable[int] = (), progress: bool = False
) -> Changes:
    """Bring the links and flags of these incidents in line with the rules. Idempotent.

    Then re-assesses the effectiveness of every fix whose flags changed, and of `assess`.
    """
    changes = Changes()
    ids = sorted(set(incident_ids))
    touched: set[int] = set(assess)
    if not ids:
        changes.fixes_assessed = effectiveness.assess(sorted(touched))
        return changes
    chunks = list(_chunks(ids))
    fixes = _Fixes(recurrence_kinds())

    def done(chunk_changes: Changes, chunk_touched: set[int], count: int) -> None:
        nonlocal changes
        changes += chunk_changes
        touched.update(chunk_touched)
        if progress:
            print(f"  {min(count * CHUNK, len(ids)):,} of {len(ids):,} incidents", flush=True)

    # Inside a transaction (a caller's, or a test's) other connections would not see its rows;
    # SQLite writes one transaction at a time.
    if len(chunks) < 2 or connection.in_atomic_block or not rows.set_based():
        for count, chunk in enumerate(chunks, start=1):
            done(*_write(_apply_rules(chunk, fixes)), count)
    else:
        with ThreadPoolExecutor(WRITERS) as writers:
            pending: deque[Future[tuple[Changes, set[int]]]] = deque()
            for count, chunk in enumerate(chunks, start=1):
                # The rules run here while the writers write the chunks before.
                pending.append(writers.submit(_write_apart, _apply_rules(chunk, fixes)))
                if len(pending) > WRITERS:
                    done(*pending.popleft().result(), count - len(pending))
            while pending:
                done(*pending.popleft().result(), len(chunks) - len(pending))
    changes.fixes_assessed = effectiveness.assess(sorted(touched))
    return changes


@dataclass
class _Facts:
    """What the rules read of a chunk of incidents."""

    started: dict[int, datetime.datetime]
    categories: dict[int, set[int]]

    @classmethod
    def load(cls, ids: list[int]) -> _Facts:
        return cls(*rows.read_facts(ids))


@dataclass
class _Wanted:
    """What the rules say a chunk of incidents should have."""

    ids: list[int]
    facts: _Facts
    fixes: _Fixes
    links: list[tuple[int, int]]  # (incident, remediation)
    flags: dict[tuple[int, int], list[int]]  # (incident, category) → the fixes it names


def _apply_rules(ids: list[int], fixes: _Fixes) -> _Wanted:
    facts = _Facts.load(ids)
    fixes.read({pk for own in facts.categories.values() for pk in own})
    wanted = _Wanted(ids, facts, fixes, [], {})
    # In id order, so that evaluations running at once write rows in the same order and wait
    # for each other rather than deadlock.
    for incident_id in ids:
        own = facts.categories.get(incident_id)
        if not own or incident_id not in facts.started:
            continue
        started_at = facts.started[incident_id]
        linked = {pk for category_id in own for pk in fixes.linked(category_id, started_at)}
        wanted.links += [(incident_id, pk) for pk in sorted(linked)]
        for category_id in sorted(fixes.tree.narrowest(own)):
            found = fixes.done_before(category_id, started_at)
            if found:
                wanted.flags[(incident_id, category_id)] = found
    return wanted


def _write(wanted: _Wanted) -> tuple[Changes, set[int]]:
    """Make the chunk's rows what the rules want, in one transaction; what changed, and the
    fixes whose flags changed."""
    changes, touched = Changes(), set[int]()
    with transaction.atomic():
        # Derived rows, rebuilt by the next run if a crash loses the last moment of them:
        # skip waiting for the disk on each chunk's commit.
        relax_commit_durability()
        _apply_links(wanted, changes)
        _apply_flags(wanted, changes, touched)
    return changes, touched


def _write_apart(wanted: _Wanted) -> tuple[Changes, set[int]]:
    """_write on a writer thread, with its own connection, closed after."""
    try:
        return _write(wanted)
    finally:
        connection.close()


def _apply_links(chunk: _Wanted, changes: Changes) -> None:
    removed, added = rows.sync_links(chunk.ids, chunk.links, timezone.now())
    changes.links_removed, changes.links_added = removed, added


def _apply_flags(chunk: _Wanted, changes: Changes, touched: set[int]) -> None:
    wanted = chunk.flags
    now = timezone.now()
    existing = rows.read_flags(chunk.ids)

    updates: list[rows.FlagUpdate] = []
    cleared: list[tuple[int, tuple[int, int]]] = []  # (place in updates, key)
    for key, (pk, state, outcome, resolved_at) in existing.items():
        holds = key in wanted
        if holds and state == FlagState.CLEARED:
            if outcome:
                # The person's decision stands again: it was about this same recurrence.
                reason = f"Holds again since {dates.moment(now)}; the decision made on it stands."
                updates.append(
                    (pk, state, STATE_OF_OUTCOME[FlagOutcome(outcome)], resolved_at, reason)
                )
            else:
                reason = f"Re-opened on {dates.moment(now)}: the recurrence holds again."
                updates.append((pk, state, FlagState.OPEN, None, reason))
            touched.update(wanted[key])
        elif not holds and state != FlagState.CLEARED:
            # A decided flag keeps its resolved_at (when the person decided); an open one is
            # resolved now, by the engine.
            updates.append((pk, state, FlagState.CLEARED, resolved_at or now, ""))
            cleared.append((len(updates) - 1, key))
    if cleared:
        named = rows.read_named([updates[n][0] for n, _ in cleared])
        fix_ids = set().union(*named.values())
        reasons = _Reasons(chunk.facts, chunk.fixes.tree.paths, chunk.fixes.kinds, fix_ids)
        for n, key in cleared:
            pk, was, state, resolved_at, _ = updates[n]
            reason = f"Cleared on {dates.moment(now)}: {reasons.why(key, named[pk])}"
            updates[n] = (pk, was, state, resolved_at, reason)
            touched.update(named[pk])

    for pk, state in rows.update_flags(updates):
        if state == FlagState.OPEN:
            changes.flags_raised.append(pk)
        elif state == FlagState.CLEARED:
            changes.flags_cleared += 1
    # Only the flags this evaluation raised: a concurrent one announces its own.
    changes.flags_raised += rows.insert_flags([k for k in wanted if k not in existing], now)
    touched.update(rows.sync_named(wanted))


class _Reasons:
    """Why a flag stopped holding, in a sentence a person can check."""

    def __init__(
        self, facts: _Facts, paths: dict[int, str], kinds: list[str], fix_ids: set[int]
    ) -> None:
        self.facts, self.paths, self.kinds = facts, paths, kinds
        self.fixes = {
            r.pk: r
            for r in Remediation.objects.filter(pk__in=fix_ids)
            .select_related("category")
            .only("pk", "title", "kind", "status", "done_at", "category__path")
        }

    def why(self, key: tuple[int, int], named: set[int]) -> str:
        incident_id, category_id = key
        path = self.paths.get(category_id, "its failure mode")
        own = {self.paths[c] for c in self.facts.categories.get(incident_id, ())}
        reference = f"INC-{incident_id}"
        if incident_id not in self.facts.started:  # rows.read_facts: a duplicate
            return f"{reference} is marked as a duplicate: its original is the incident."
        if path not in own:
            return f"{reference} is no longer classified under {path}."
        if path not in narrowest(own):
            below = next(p for p in sorted(own) if p.startswith(path + PATH_SEPARATOR))
            return f"{reference} is now classified under the narrower {below}, flagged there."
        for pk in sorted(named):
            fix = self.fixes.get(pk)
            if fix is None:
                continue
            if fix.status != RemediationStatus.DONE:
                return f"“{fix.title}” is no longer done (now {fix.get_status_display().lower()})."
            if fix.kind not in self.kinds:
                if not self.kinds:
                    return "no kind of fix raises flags any more (ONCE_RECURRENCE_KINDS is empty)."
                return (
                    f"“{fix.title}” is a {fix.kind} fix, and only "
                    f"{', '.join(self.kinds)} fixes promise that a failure mode stops."
                )
            covered = ancestor_paths(path)
            if fix.category is None or fix.category.path not in covered:
                return f"“{fix.title}” no longer addresses {path}."
            started = self.facts.started.get(incident_id)
            if started is not None and fix.done_at is not None and fix.done_at >= started:
                return f"{reference} now started before “{fix.title}” was done."
        return f"no fix covering {path} was done before {reference} started."
