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
`due_for_holding()` finds the done fixes whose holding time has come since they were last
assessed, so the periodic reconciliation turns them *holding* without anyone saving anything.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from remediations.models import (
    Effectiveness,
    FlagFix,
    FlagOutcome,
    FlagState,
    Remediation,
    RemediationStatus,
)

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
    ).values_list("remediation_id", "flag__incident_id", "flag__incident__started_at")
    for remediation_id, incident_id, started_at in rows:
        found[remediation_id].append(
            Evidence(
                started_at,
                Effectiveness.REGRESSED,
                f"INC-{incident_id} recurred on {started_at:%Y-%m-%d}: the fix did not hold.",
            )
        )
    return found


register_source(_recurrences)


def _awaiting_triage(ids: list[int]) -> dict[int, int]:
    """Fix id → an open flag's incident naming it: a recurrence nobody has judged yet."""
    rows = FlagFix.objects.filter(remediation_id__in=ids, flag__state=FlagState.OPEN).values_list(
        "remediation_id", "flag__incident_id"
    )
    return dict(rows)


# (effectiveness, since, evidence sentence, verified_at, regressed_at); all empty when not done.
Assessment = tuple[
    str | None, datetime.datetime | None, str, datetime.datetime | None, datetime.datetime | None
]


def judge(
    done_at: datetime.datetime,
    evidence: Iterable[Evidence],
    awaiting: int | None,
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
            f"INC-{awaiting} recurred after it was done and awaits triage.", None, None,
        )  # fmt: skip
    holds_from = done_at + datetime.timedelta(days=holding_days())
    if now >= holds_from:
        return (
            Effectiveness.HOLDING, holds_from,
            f"Done {done_at:%Y-%m-%d}; no recurrence held against it since.", None, None,
        )  # fmt: skip
    return Effectiveness.UNVERIFIED, done_at, "Done; no evidence yet.", None, None


FIELDS = ["effectiveness", "effectiveness_since", "effectiveness_evidence", "verified_at",
          "regressed_at"]  # fmt: skip


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
    to_update = []
    for remediation in rows:
        values: Assessment
        if remediation.status == RemediationStatus.DONE and remediation.done_at is not None:
            values = judge(
                remediation.done_at, evidence.get(remediation.pk, ()),
                awaiting.get(remediation.pk), now,
            )  # fmt: skip
        else:
            values = (None, None, "", None, None)
        current = tuple(getattr(remediation, name) for name in FIELDS)
        if current != values:
            for name, value in zip(FIELDS, values, strict=True):
                setattr(remediation, name, value)
            to_update.append(remediation)
    Remediation.objects.bulk_update(to_update, FIELDS, batch_size=500)
    return len(to_update)


def due_for_holding() -> list[int]:
    """Done fixes whose stored effectiveness is out of date by the clock or the status alone:
    unverified ones past their holding time, done ones never assessed, and assessed ones no
    longer done. Index-bound (remediation_effectiveness_idx)."""
    cutoff = timezone.now() - datetime.timedelta(days=holding_days())
    stale = Remediation.objects.filter(
        Q(effectiveness=Effectiveness.UNVERIFIED, done_at__lte=cutoff)
        | Q(status=RemediationStatus.DONE, effectiveness__isnull=True)
        | (Q(effectiveness__isnull=False) & ~Q(status=RemediationStatus.DONE))
        # ONCE_HOLDING_DAYS raised since: a holding fix may not be holding yet.
        | Q(effectiveness=Effectiveness.HOLDING, done_at__gt=cutoff)
    )
    return list(stale.values_list("pk", flat=True))
