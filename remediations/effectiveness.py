"""Effectiveness of a done fix, derived from the evidence (PRODUCT.md, "Effectiveness of a
done fix"). Never typed; kept on the remediation so lists can filter and sort by it.

- *regressed*: a recurrence after it was done, triaged "the fix did not hold" (evidence time:
  when that incident started), or a game-day scenario that verifies it failed after it was
  done (when the scenario ran);
- *verified*: a scenario that verifies it held after it was done (when it ran);
- the latest of those wins;
- with neither: *unverified* while a recurrence naming it awaits triage or it was done less
  than ONCE_HOLDING_DAYS ago, *holding* once that many days passed with no recurrence (a
  recurrence triaged "partly expected" or "not a recurrence" does not count against it);
- NULL for a remediation that is not done.

`assess(ids)` recomputes the given remediations in a fixed number of queries per 2,000 and
writes only those whose result changed (no version, no history: derived, not edited).
`due_for_holding(since)` finds the done fixes whose holding time came since the last
reconciliation, so the next one turns them *holding* without anyone saving anything.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from common import dates
from incidents.models import Incident, Visibility
from remediations.models import (
    DERIVED_FIELDS,
    Effectiveness,
    FlagFix,
    FlagOutcome,
    FlagState,
    Remediation,
    RemediationStatus,
)
from remediations.rows import update_effectiveness

CHUNK = 2000


@dataclass(frozen=True)
class Evidence:
    """One fact about a fix: at `at`, it held (`verified`) or did not (`regressed`)."""

    at: datetime.datetime
    verdict: str  # Effectiveness.VERIFIED or Effectiveness.REGRESSED
    what: str  # one sentence, shown beside the effectiveness


# Sources of evidence: each takes remediation ids and returns {id: [Evidence]}. Recurrences are
# here; game-day scenarios add theirs (register_source) without this module knowing them.
EvidenceSource = Callable[[list[int]], dict[int, list[Evidence]]]
_sources: list[EvidenceSource] = []


def register_source(source: EvidenceSource) -> None:
    if source not in _sources:
        _sources.append(source)


def holding_days() -> int:
    return int(settings.ONCE_HOLDING_DAYS)


def _recurrences(ids: list[int]) -> dict[int, list[Evidence]]:
    """Recurrences triaged "the fix did not hold" that name these fixes, and still hold."""
    found: dict[int, list[Evidence]] = defaultdict(list)
    rows = FlagFix.objects.filter(
        remediation_id__in=ids,
        flag__state=FlagState.ACKNOWLEDGED,
        flag__outcome=FlagOutcome.FIX_DID_NOT_HOLD,
    ).values_list(
        "remediation_id", "flag__incident_id", "flag__incident__started_at",
        "flag__incident__visibility",
    )  # fmt: skip
    for remediation_id, incident_id, started_at, visibility in rows:
        found[remediation_id].append(
            Evidence(
                started_at,
                Effectiveness.REGRESSED,
                f"{_reference(incident_id, visibility)} recurred on {dates.day(started_at)}: "
                "the fix did not hold.",
            )
        )
    return found


register_source(_recurrences)


def _reference(incident_id: int, visibility: str) -> str:
    """How the one sentence everybody reads names an incident: a restricted one is not named
    (the sentence is kept on the fix, which people it is hidden from may see)."""
    return "A restricted incident" if visibility == Visibility.RESTRICTED else f"INC-{incident_id}"


def _awaiting_triage(ids: list[int]) -> dict[int, int | str]:
    """Fix id → the first incident of an open flag naming it: a recurrence nobody has judged
    yet (its id, or "A restricted incident"). One row per fix, whatever the number of flags (a
    full reconciliation has many)."""
    rows = (
        FlagFix.objects.filter(remediation_id__in=ids, flag__state=FlagState.OPEN)
        .values("remediation_id")
        .annotate(incident_id=Min("flag__incident_id"))
        .values_list("remediation_id", "incident_id")
    )
    found: dict[int, int | str] = dict(rows)
    restricted = set(
        Incident.objects.filter(
            pk__in=set(found.values()), visibility=Visibility.RESTRICTED
        ).values_list("pk", flat=True)
    )
    return {
        fix: _reference(int(pk), Visibility.RESTRICTED) if pk in restricted else pk
        for fix, pk in found.items()
    }


# (effectiveness, since, evidence sentence, verified_at, regressed_at); all empty when not done.
Assessment = tuple[
    str | None, datetime.datetime | None, str, datetime.datetime | None, datetime.datetime | None
]


def judge(
    done_at: datetime.datetime,
    evidence: Iterable[Evidence],
    awaiting: int | str | None,
    now: datetime.datetime,
) -> Assessment:
    """The rule itself, for one done fix: (effectiveness, since, evidence sentence,
    verified_at, regressed_at). Evidence from before the fix was done does not count."""
    after = sorted((e for e in evidence if e.at > done_at), key=lambda e: (e.at, e.verdict))
    verified = [e.at for e in after if e.verdict == Effectiveness.VERIFIED]
    regressed = [e.at for e in after if e.verdict == Effectiveness.REGRESSED]
    verified_at = verified[-1] if verified else None
    regressed_at = regressed[-1] if regressed else None
    if after:
        latest = after[-1]
        return latest.verdict, latest.at, latest.what, verified_at, regressed_at
    if awaiting is not None:
        return (
            Effectiveness.UNVERIFIED, done_at,
            f"{awaiting if isinstance(awaiting, str) else f'INC-{awaiting}'} recurred after it "
            "was done and awaits triage.", None, None,
        )  # fmt: skip
    holds_from = done_at + datetime.timedelta(days=holding_days())
    if now >= holds_from:
        return (
            Effectiveness.HOLDING, holds_from,
            f"Done {dates.day(done_at)}; no recurrence held against it since.", None, None,
        )  # fmt: skip
    return Effectiveness.UNVERIFIED, done_at, "Done; no evidence yet.", None, None


FIELDS = DERIVED_FIELDS


def assess(remediation_ids: Iterable[int]) -> int:
    """Recompute the effectiveness of these remediations; how many changed."""
    ids = sorted(set(remediation_ids))
    changed = 0
    for start in range(0, len(ids), CHUNK):
        changed += _assess_chunk(ids[start : start + CHUNK])
    return changed


@transaction.atomic
def _assess_chunk(ids: list[int]) -> int:
    now = timezone.now()
    # Locked, in id order, until the transaction ends: a fix reopened (or its dates changed)
    # by someone else meanwhile is read as they committed it, never judged from the version
    # before and written over theirs (an effectiveness on a fix that is not done breaks a
    # constraint). Every caller locks fixes in this order, so two assessments can't deadlock;
    # "no key" leaves alone the key-share locks of rows being linked to a fix (a scenario's).
    rows = list(
        Remediation.objects.filter(pk__in=ids)
        .select_for_update(no_key=True)
        .order_by("pk")
        .only("pk", "status", "done_at", *FIELDS)
    )
    done = [r.pk for r in rows if r.status == RemediationStatus.DONE]
    evidence: dict[int, list[Evidence]] = defaultdict(list)
    for source in _sources:
        for pk, found in source(done).items():
            evidence[pk] += found
    awaiting = _awaiting_triage(done) if done else {}
    changed: list[tuple[Any, ...]] = []
    for remediation in rows:
        values: Assessment
        if remediation.status == RemediationStatus.DONE and remediation.done_at is not None:
            values = judge(
                remediation.done_at, evidence.get(remediation.pk, ()),
                awaiting.get(remediation.pk), now,
            )  # fmt: skip
        else:
            values = (None, None, "", None, None)
        if tuple(getattr(remediation, name) for name in FIELDS) != values:
            changed.append((remediation.pk, *values))
    update_effectiveness(changed)
    return len(changed)


def due_for_holding(since: datetime.datetime | None = None) -> list[int]:
    """Done fixes whose stored effectiveness the clock alone, or a write that was lost, left out
    of date: unverified ones whose holding time came after `since` (the last reconciliation;
    all of them when None), done ones never assessed, assessed ones no longer done, and holding
    ones not past their time (ONCE_HOLDING_DAYS raised). Index-bound
    (remediation_effectiveness_idx), and few: not the fixes whose time came long ago and
    that stay unverified because a recurrence awaits triage. Those change with their flags,
    and whatever changes a flag re-assesses its fixes.
    """
    holding = datetime.timedelta(days=holding_days())
    cutoff = timezone.now() - holding
    came = Q(effectiveness=Effectiveness.UNVERIFIED, done_at__lte=cutoff)
    if since is not None:
        came &= Q(done_at__gt=since - holding)
    stale = Remediation.objects.filter(
        came
        | Q(status=RemediationStatus.DONE, effectiveness__isnull=True)
        | (Q(effectiveness__isnull=False) & ~Q(status=RemediationStatus.DONE))
        # ONCE_HOLDING_DAYS raised since: a holding fix may not be holding yet.
        | Q(effectiveness=Effectiveness.HOLDING, done_at__gt=cutoff)
    )
    return list(stale.order_by().values_list("pk", flat=True))
