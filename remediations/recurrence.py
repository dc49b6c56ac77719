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
It works in chunks with a fixed number of queries per chunk, so one incident costs the same
whatever the history, and the periodic reconciliation is the same code over more incidents.
"""

from __future__ import annotations

import bisect
import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from incidents.models import PATH_SEPARATOR, Cause, FailureCategory, Incident
from remediations import effectiveness
from remediations.models import (
    OPEN_STATUSES,
    STATE_OF_OUTCOME,
    FlagFix,
    FlagOutcome,
    FlagState,
    RecurrenceFlag,
    RecurrenceLink,
    Remediation,
    RemediationStatus,
)

CHUNK = 2000


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


class _Remediations:
    """Covering remediations by category path, sorted by date for quick "before I started"."""

    def __init__(self, paths: set[str], kinds: list[str]) -> None:
        self.open_by_path: dict[str, list[tuple]] = defaultdict(list)  # (opened_at, id, done_at)
        self.done_by_path: dict[str, list[tuple]] = defaultdict(list)  # (done_at, id)
        rows = Remediation.objects.filter(
            category__path__in=paths,
            status__in=[*OPEN_STATUSES, RemediationStatus.DONE],
        ).values_list("id", "status", "kind", "opened_at", "done_at", "category__path")
        for pk, status, kind, opened_at, done_at, path in rows:
            self.open_by_path[path].append((opened_at, pk, done_at))
            if status == RemediationStatus.DONE and kind in kinds:
                self.done_by_path[path].append((done_at, pk))
        for rows_ in (*self.open_by_path.values(), *self.done_by_path.values()):
            rows_.sort()

    def linked(self, path: str, started_at: datetime.datetime) -> Iterable[int]:
        """Remediations on `path` opened before `started_at` and still open at that moment."""
        rows = self.open_by_path.get(path, [])
        for _opened_at, pk, done_at in rows[: bisect.bisect_left(rows, (started_at,))]:
            if done_at is None or done_at >= started_at:
                yield pk

    def done_before(self, path: str, started_at: datetime.datetime) -> Iterable[int]:
        """Fixes of the promising kinds on `path` done strictly before `started_at`."""
        rows = self.done_by_path.get(path, [])
        return (pk for _, pk in rows[: bisect.bisect_left(rows, (started_at,))])


def incidents_for_remediation(remediation: Remediation) -> list[int]:
    """Incidents a change to this remediation can affect: those it covers now, and those it
    was linked to or flagged for before (their links and flags may have to go)."""
    ids = set(
        RecurrenceLink.objects.filter(remediation=remediation).values_list("incident_id", flat=True)
    )
    ids |= set(
        FlagFix.objects.filter(remediation=remediation).values_list("flag__incident_id", flat=True)
    )
    if remediation.category is not None:
        ids |= set(Incident.objects.in_category(remediation.category).values_list("id", flat=True))
    return sorted(ids)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def evaluate(incident_ids: Iterable[int], *, progress: bool = False) -> Changes:
    """Bring the links and flags of these incidents in line with the rules. Idempotent.

    Then re-assesses the effectiveness of every fix whose flags changed.
    """
    changes = Changes()
    ids = sorted(set(incident_ids))
    if not ids:
        return changes
    paths = dict(FailureCategory.objects.values_list("id", "path"))
    kinds = recurrence_kinds()
    touched: set[int] = set()
    for done, chunk in enumerate(_chunks(ids), start=1):
        changes += _evaluate_chunk(chunk, paths, kinds, touched)
        if progress:
            print(f"  {min(done * CHUNK, len(ids)):,} of {len(ids):,} incidents", flush=True)
    changes.fixes_assessed = effectiveness.assess(sorted(touched))
    return changes


@dataclass
class _Facts:
    """What the rules read of a chunk of incidents."""

    started: dict[int, datetime.datetime]
    categories: dict[int, set[int]]

    @classmethod
    def load(cls, ids: list[int]) -> _Facts:
        started = dict(Incident.objects.filter(id__in=ids).values_list("id", "started_at"))
        categories: dict[int, set[int]] = defaultdict(set)
        direct = Incident.categories.through.objects.filter(incident_id__in=ids)
        for incident_id, category_id in direct.values_list("incident_id", "failurecategory_id"):
            categories[incident_id].add(category_id)
        via_causes = Cause.objects.filter(incident_id__in=ids, category__isnull=False)
        for incident_id, category_id in via_causes.values_list("incident_id", "category_id"):
            categories[incident_id].add(category_id)
        return cls(started, categories)


@transaction.atomic
def _evaluate_chunk(
    ids: list[int], paths: dict[int, str], kinds: list[str], touched: set[int]
) -> Changes:
    facts = _Facts.load(ids)
    by_path = {path: pk for pk, path in paths.items()}
    covering = {
        a for cats in facts.categories.values() for c in cats for a in ancestor_paths(paths[c])
    }
    remediations = _Remediations(covering, kinds)

    wanted_links: set[tuple[int, int]] = set()
    wanted_flags: dict[tuple[int, int], set[int]] = {}  # (incident, category) → fixes
    for incident_id, started_at in facts.started.items():
        own = {paths[c] for c in facts.categories[incident_id]}
        for path in own:
            for above in ancestor_paths(path):
                wanted_links.update(
                    (incident_id, pk) for pk in remediations.linked(above, started_at)
                )
        for path in narrowest(own):
            fixes = {
                pk
                for above in ancestor_paths(path)
                for pk in remediations.done_before(above, started_at)
            }
            if fixes:
                wanted_flags[(incident_id, by_path[path])] = fixes

    changes = Changes()
    _apply_links(ids, wanted_links, changes)
    _apply_flags(ids, wanted_flags, facts, paths, kinds, changes, touched)
    return changes


def _apply_links(ids: list[int], wanted: set[tuple[int, int]], changes: Changes) -> None:
    existing = {
        (incident_id, remediation_id): pk
        for pk, incident_id, remediation_id in RecurrenceLink.objects.filter(
            incident_id__in=ids
        ).values_list("id", "incident_id", "remediation_id")
    }
    stale = [pk for key, pk in existing.items() if key not in wanted]
    if stale:
        RecurrenceLink.objects.filter(id__in=stale).delete()
        changes.links_removed = len(stale)
    new = wanted - existing.keys()
    RecurrenceLink.objects.bulk_create(
        [RecurrenceLink(incident_id=i, remediation_id=r) for i, r in new],
        batch_size=5000,
        ignore_conflicts=True,  # a concurrent evaluation may have added it: same result
    )
    changes.links_added = len(new)


def _apply_flags(
    ids: list[int],
    wanted: dict[tuple[int, int], set[int]],
    facts: _Facts,
    paths: dict[int, str],
    kinds: list[str],
    changes: Changes,
    touched: set[int],
) -> None:
    now = timezone.now()
    existing = {
        (flag.incident_id, flag.category_id): flag
        for flag in RecurrenceFlag.objects.filter(incident_id__in=ids).only(
            "id", "incident_id", "category_id", "state", "outcome", "resolved_at", "reason"
        )
    }
    named: dict[int, set[int]] = defaultdict(set)  # flag id → the fixes it names now
    for flag_id, remediation_id in FlagFix.objects.filter(flag__incident_id__in=ids).values_list(
        "flag_id", "remediation_id"
    ):
        named[flag_id].add(remediation_id)

    to_update = []
    cleared: list[tuple[RecurrenceFlag, tuple[int, int]]] = []
    for key, flag in existing.items():
        holds = key in wanted
        if holds and flag.state == FlagState.CLEARED:
            if flag.outcome:
                # The person's decision stands again: it was about this same recurrence.
                flag.state = STATE_OF_OUTCOME[FlagOutcome(flag.outcome)]
                flag.reason = (
                    f"Holds again since {now:%Y-%m-%d %H:%M} UTC; the decision made on it stands."
                )
            else:
                flag.state, flag.resolved_at = FlagState.OPEN, None
                flag.reason = f"Re-opened on {now:%Y-%m-%d %H:%M} UTC: the recurrence holds again."
                changes.flags_raised.append(flag.pk)
            to_update.append(flag)
            touched.update(wanted[key])
        elif not holds and flag.state != FlagState.CLEARED:
            cleared.append((flag, key))
    if cleared:
        reasons = _Reasons(facts, paths, kinds, {pk for f, _ in cleared for pk in named[f.pk]})
        for flag, key in cleared:
            # A decided flag keeps its resolved_at (when the person decided); an open one is
            # resolved now, by the engine.
            flag.resolved_at = flag.resolved_at or now
            flag.state = FlagState.CLEARED
            flag.reason = f"Cleared on {now:%Y-%m-%d %H:%M} UTC: " + reasons.why(
                key, named[flag.pk]
            )
            to_update.append(flag)
            touched.update(named[flag.pk])
            changes.flags_cleared += 1
    RecurrenceFlag.objects.bulk_update(
        to_update, ["state", "resolved_at", "reason"], batch_size=500
    )

    new_flags = [
        RecurrenceFlag(incident_id=i, category_id=c, raised_at=now)
        for (i, c) in wanted
        if (i, c) not in existing
    ]
    if new_flags:
        RecurrenceFlag.objects.bulk_create(new_flags, batch_size=5000, ignore_conflicts=True)
        # ignore_conflicts leaves ids unset: read back the ones that are now there.
        for pk, incident_id, category_id, raised_at in RecurrenceFlag.objects.filter(
            incident_id__in={i for i, _ in wanted}
        ).values_list("id", "incident_id", "category_id", "raised_at"):
            key = (incident_id, category_id)
            if key in wanted and key not in existing:
                existing[key] = RecurrenceFlag(
                    pk=pk, incident_id=incident_id, category_id=category_id
                )
                if raised_at == now:  # raised by this evaluation, not a concurrent one
                    changes.flags_raised.append(pk)

    # The fixes each flag names follow the facts, whatever its state.
    add, remove = [], []
    for key, fixes in wanted.items():
        flag_id = existing[key].pk
        have = named.get(flag_id, set())
        add += [FlagFix(flag_id=flag_id, remediation_id=r) for r in fixes - have]
        remove += [(flag_id, r) for r in have - fixes]
        if fixes != have:
            touched.update(fixes | have)
    if remove:
        for flag_id in {f for f, _ in remove}:
            gone = [r for f, r in remove if f == flag_id]
            FlagFix.objects.filter(flag_id=flag_id, remediation_id__in=gone).delete()
    FlagFix.objects.bulk_create(add, batch_size=5000, ignore_conflicts=True)


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
                return (
                    f"“{fix.title}” is a {fix.kind} fix, and only "
                    f"{', '.join(self.kinds) or 'no'} fixes promise that a failure mode stops."
                )
            covered = ancestor_paths(path)
            if fix.category is None or fix.category.path not in covered:
                return f"“{fix.title}” no longer addresses {path}."
            started = self.facts.started.get(incident_id)
            if started is not None and fix.done_at is not None and fix.done_at >= started:
                return f"{reference} now started before “{fix.title}” was done."
        return f"no fix covering {path} was done before {reference} started."
