"""Game-day evidence for the effectiveness of fixes (PRODUCT.md, "Effectiveness of a done
fix"): a scenario that verifies a fix *held* → verified, *failed* → regressed, at the time it
ran. Registered with `remediations.effectiveness` when the app loads (apps.py), so the
remediations app needs no knowledge of game days."""

from __future__ import annotations

from collections import defaultdict

from common import dates
from gamedays.models import Outcome, Scenario
from incidents.models import Visibility
from remediations.effectiveness import Evidence
from remediations.models import Effectiveness

VERDICT = {Outcome.HELD: Effectiveness.VERIFIED, Outcome.FAILED: Effectiveness.REGRESSED}


def scenario_evidence(remediation_ids: list[int]) -> dict[int, list[Evidence]]:
    """{remediation id: [Evidence]} from the scenarios that verify them and held or failed."""
    found: dict[int, list[Evidence]] = defaultdict(list)
    if not remediation_ids:
        return found
    through = Scenario.verifies.through.objects.filter(
        remediation_id__in=remediation_ids,
        scenario__outcome__in=list(VERDICT),
        scenario__ran_at__isnull=False,
    )
    rows = list(
        through.values_list(
            "remediation_id", "scenario_id", "scenario__outcome", "scenario__ran_at",
            "scenario__title", "scenario__injection", "scenario__game_day__title",
        )
    )  # fmt: skip
    # The sentence is kept on the fix, which people a restricted incident is hidden from may
    # see: a scenario linked to one (it shares its visibility) is not named.
    restricted = set(
        Scenario.incidents.through.objects.filter(
            scenario_id__in={row[1] for row in rows}, incident__visibility=Visibility.RESTRICTED
        ).values_list("scenario_id", flat=True)
    )
    for remediation_id, scenario_id, outcome, ran_at, title, injection, game_day in rows:
        if ran_at is None:  # excluded by the filter; a constraint says outcomes have a time
            continue
        name = title or (injection.strip().splitlines() or ["a scenario"])[0]
        named = "a restricted scenario" if scenario_id in restricted else f"“{_short(name)}”"
        verb = "held" if outcome == Outcome.HELD else "failed"
        found[remediation_id].append(
            Evidence(
                ran_at,
                VERDICT[Outcome(outcome)],
                f"Game day “{_short(game_day)}”: {named} {verb} on {dates.day(ran_at)}.",
            )
        )
    return found


# Each title at most this long in the sentence: with the words around them it stays within the
# 300 characters a fix keeps (Remediation.effectiveness_evidence), so the date is never cut.
MAX_NAME = 100


def _short(text: str) -> str:
    return text if len(text) <= MAX_NAME else text[: MAX_NAME - 1].rstrip() + "…"
