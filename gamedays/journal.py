"""Chaos Toolkit journals: what `chaos run` writes, read into a scenario's outcome
(PRODUCT.md, "scenario": `POST /api/scenarios/<id>/journal/`, `import_chaos_journal`).

The journal format is chaostoolkit-lib's (`chaoslib.run.initialize_run_journal`, documented
at chaostoolkit.org, "Reference > API > Journal"): a JSON object with

- `experiment`: the experiment that ran (its `title`, `steady-state-hypothesis`, `method`,
  `rollbacks`, and `dry` when it was a dry run);
- `start`, `end` (ISO 8601 with an offset), `duration` (seconds);
- `status`: `completed`, `failed`, `aborted` or `interrupted`; `deviated`: true when the
  steady state was not met after the method;
- `steady_states`: `before` and `after`, each null or `{"steady_state_met", "probes"}`, and
  `during` (a list of such states, for continuous hypotheses);
- `run` (the method) and `rollbacks`: lists of activity results.

An activity result is `{"activity": {"type": "probe"|"action", "name", "provider", …},
"status": "succeeded"|"failed", "output", "exception" (a list of lines, when it failed),
"start", "end", "duration"}`, plus `tolerance_met` for a steady-state probe. A `process`
provider's output is `{"status": <exit code>, "stdout", "stderr"}`.

The outcome: `deviated` → failed (what the hypothesis said must keep working did not); else
`completed` → held; `failed`, `aborted` or `interrupted` → aborted. One case the status alone
hides: when the steady state was not met *before* the method, chaoslib stops there with
`completed` and nothing was injected, so that run is aborted too, never evidence that a fix
held. A dry run (`chaos run --dry`) injects nothing either and is refused.

`read_journal` turns bytes into a `JournalRun` (outcome, ran_at, Markdown observations and
a bounded summary for `Scenario.journal`) or raises `NotAJournal` naming every problem at
its path; `record_journal` records it through `gamedays.actions.record_outcome`.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from common.jsonlines import json_depth
from common.validation import Errors, clean_moment
from gamedays.actions import record_outcome
from gamedays.models import Outcome, Scenario
from gamedays.records import MAX_MARKDOWN

MAX_JOURNAL_BYTES = 5 * 1024 * 1024  # a long run with chatty probes stays well below it
MAX_DEPTH = 64  # deeper JSON is refused before it is decoded (outputs are seldom deeper than 5)
MAX_ACTIVITIES = 50  # per list summarized; the rest are counted
MAX_OUTPUT = 300  # characters of an activity's output kept in the summary
MAX_NAME = 200
STATUSES = ("completed", "failed", "aborted", "interrupted")
# Observations of a run start with this line; text above it was written by people and is
# kept when a journal (the same run again, or another) is recorded over it.
MARKER = "#### Chaos Toolkit run"
USAGE = "send the journal.json that `chaos run` writes"


class NotAJournal(ValueError):
    """Bytes that are not a Chaos Toolkit journal Once can record; `errors` says why."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(errors.as_lines()))
        self.errors = errors


@dataclass
class JournalRun:
    """What a journal tells about a scenario."""

    outcome: str
    ran_at: datetime.datetime
    observations: str  # Markdown, starting with MARKER
    summary: dict[str, Any]  # bounded: stored in Scenario.journal


def read_journal(data: bytes | str) -> JournalRun:
    """A journal's bytes (at most MAX_JOURNAL_BYTES) read; NotAJournal naming what is wrong."""
    return parse_journal(decode(data))


def _refuse(message: str, path: tuple[str | int, ...] = ()) -> NotAJournal:
    errors = Errors()
    errors.add(path, message)
    return NotAJournal(errors)


def decode(data: bytes | str) -> Any:
    """The JSON value of a journal file or request body, or NotAJournal saying why not."""
    if len(data) > MAX_JOURNAL_BYTES:
        raise _refuse(
            f"The journal is {len(data):,} bytes long; the limit is {MAX_JOURNAL_BYTES:,}."
        )
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise _refuse(f"Not UTF-8 (byte {error.start + 1}): {USAGE}.") from None
    if json_depth(data) > MAX_DEPTH:
        raise _refuse(f"The JSON is nested deeper than {MAX_DEPTH} levels: {USAGE}.")
    try:
        return json.loads(data)
    except json.JSONDecodeError as error:
        raise _refuse(
            f"Not JSON ({error.msg} at line {error.lineno}, column {error.colno}): {USAGE}."
        ) from None
    except (ValueError, RecursionError) as error:  # a 5,000-digit number, and the like
        raise _refuse(f"Not JSON Once can read ({str(error)[:80]}): {USAGE}.") from None


def _kind(value: Any) -> str:
    return {
        dict: "an object", list: "a list", bool: "true or false", int: "a number",
        float: "a number", type(None): "null", str: "text",
    }.get(type(value), type(value).__name__)  # fmt: skip


def parse_journal(journal: Any) -> JournalRun:
    """A decoded journal checked and summarized; NotAJournal with every problem at its path.

    Foreign JSON (no `experiment`) gets one message, not one per missing key.
    """
    if not isinstance(journal, dict):
        raise _refuse(f"Not a Chaos Toolkit journal: a journal is a JSON object, not "
                      f"{_kind(journal)} ({USAGE}).")  # fmt: skip
    experiment = journal.get("experiment")
    if not isinstance(experiment, dict):
        found = "no `experiment`" if experiment is None else f"`experiment` is {_kind(experiment)}"
        raise _refuse(f"Not a Chaos Toolkit journal: {found} ({USAGE}).")
    errors = Errors()
    if experiment.get("dry"):
        errors.add(
            ("experiment", "dry"),
            "A dry run (`chaos run --dry`) injects nothing and tests nothing: record a real run.",
        )
    status = journal.get("status")
    if status not in STATUSES:
        shown = repr(status)[:40] if isinstance(status, str) else _kind(status)
        errors.add(("status",), f"must be one of {', '.join(STATUSES)}, not {shown}.")
    deviated = journal.get("deviated", False)
    if not isinstance(deviated, bool):
        errors.add(("deviated",), f"must be true or false, not {_kind(deviated)}.")
    ran_at = clean_moment(journal.get("start"), ("start",), errors, required=True)
    end = clean_moment(journal.get("end"), ("end",), Errors())  # only shown: never refused
    steady = journal.get("steady_states")
    if steady is None:
        steady = {}
    elif not isinstance(steady, dict):
        errors.add(("steady_states",), f"must be an object, not {_kind(steady)}.")
        steady = {}
    before = _state(steady.get("before"), ("steady_states", "before"), errors)
    after = _state(steady.get("after"), ("steady_states", "after"), errors)
    method = _activities(journal.get("run"), ("run",), errors)
    rollbacks = _activities(journal.get("rollbacks"), ("rollbacks",), errors)
    if errors:
        raise NotAJournal(errors)
    assert ran_at is not None  # required: an error otherwise

    gate_failed = before is not None and before["met"] is False
    if deviated:
        outcome = Outcome.FAILED
    elif status == "completed" and not gate_failed:
        outcome = Outcome.HELD
    else:
        outcome = Outcome.ABORTED
    duration = journal.get("duration")
    summary = {
        "chaoslib_version": _text(journal.get("chaoslib-version"), 40) or None,
        "experiment": _text(experiment.get("title"), MAX_NAME) or None,
        "status": status,
        "deviated": deviated,
        "start": _stamp(ran_at),
        "end": _stamp(end),
        "duration": round(duration, 3)
        if isinstance(duration, int | float) and not isinstance(duration, bool)
        and 0 <= duration < 10**9 else None,
        "steady_state_before": before,
        "steady_state_after": after,
        "method": method,
        "rollbacks": rollbacks,
    }  # fmt: skip
    return JournalRun(
        outcome=outcome,
        ran_at=ran_at,
        observations=observations_of(summary, outcome),
        summary=summary,
    )


def _stamp(moment: datetime.datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _text(value: Any, limit: int) -> str:
    """A value as one bounded line of text: outputs can be any JSON."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    # No NUL or lone surrogate: neither PostgreSQL nor an encoder can store them.
    value = " ".join(_UNSTORABLE.sub("\ufffd", value).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _output(value: Any) -> str | None:
    """An activity's output, trimmed: a process's exit code and what it printed."""
    if value is None:
        return None
    if isinstance(value, dict) and set(value) >= {"status", "stdout", "stderr"}:
        parts = [f"exit {_text(value['status'], 20)}"]
        for stream in ("stdout", "stderr"):
            text = _text(value[stream], MAX_OUTPUT)
            if text:
                parts.append(f"{stream}: {text}")
        return _text("; ".join(parts), MAX_OUTPUT)
    return _text(value, MAX_OUTPUT)


def _state(value: Any, path: tuple[str, ...], errors: Errors) -> dict[str, Any] | None:
    """A steady-state result: `{"met", "probes"}`, or None when it did not run."""
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add(path, f"must be an object with `steady_state_met` and `probes`, not "
                         f"{_kind(value)}.")  # fmt: skip
        return None
    met = value.get("steady_state_met")
    if met is not None and not isinstance(met, bool):
        errors.add((*path, "steady_state_met"), f"must be true or false, not {_kind(met)}.")
        met = None
    return {"met": met, **_activities(value.get("probes"), (*path, "probes"), errors)}


def _activities(value: Any, path: tuple[str, ...], errors: Errors) -> dict[str, Any]:
    """Activity results summarized: the first MAX_ACTIVITIES, and how many more there were."""
    if value is None:
        value = []
    if not isinstance(value, list):
        errors.add(path, f"must be a list of activity results, not {_kind(value)}.")
        return {"activities": [], "more": 0}
    kept = []
    for n, item in enumerate(value[:MAX_ACTIVITIES]):
        activity = item.get("activity") if isinstance(item, dict) else None
        if not isinstance(activity, dict):
            errors.add(
                (*path, n),
                "must be an activity result: an object with `activity` (its `name` and "
                "`type`), `status` and `output`.",
            )
            continue
        tolerance = item.get("tolerance_met")
        exception = item.get("exception")
        if isinstance(exception, list):  # traceback lines: the last one says what happened
            exception = next((line for line in reversed(exception) if str(line).strip()), "")
        kept.append({
            "type": _text(activity.get("type"), 20) or "activity",
            "name": _text(activity.get("name"), MAX_NAME) or "(no name)",
            "status": _text(item.get("status"), 20) or None,
            "tolerance_met": tolerance if isinstance(tolerance, bool) else None,
            "output": _output(item.get("output")),
            "exception": _text(exception, MAX_OUTPUT) or None,
        })  # fmt: skip
    return {"activities": kept, "more": max(0, len(value) - MAX_ACTIVITIES)}


# --- Markdown --------------------------------------------------------------------------------

VERDICT = {
    Outcome.HELD: "held: the steady state was met before and after the method",
    Outcome.FAILED: "failed: the steady state deviated after the method",
    Outcome.ABORTED: "aborted",
}


def _code(text: str) -> str:
    """Text as a Markdown code span, whatever backticks it holds."""
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    if not text:
        return "``"
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _plain(text: str) -> str:
    """Text shown as typed inside Markdown: its markup characters escaped."""
    return "".join("\\" + c if c in "\\`*_[]#>!" else c for c in text)


def _activity_line(item: dict[str, Any], *, probe_of_state: bool = False) -> str:
    words = [f"{item['type']} {_code(item['name'])}: {item['status'] or 'no status'}"]
    if probe_of_state and item["tolerance_met"] is not None:
        words.append("tolerance met" if item["tolerance_met"] else "**tolerance not met**")
    line = "- " + ", ".join(words)
    if item["exception"]:
        line += f" — {_code(item['exception'])}"
    if item["output"]:
        line += f" — {_code(item['output'])}"
    return line


def _section(title: str, listed: dict[str, Any], *, probes: bool = False) -> list[str]:
    lines = [title, ""]
    lines += [_activity_line(item, probe_of_state=probes) for item in listed["activities"]]
    if not listed["activities"]:
        lines.append("- none")
    if listed["more"]:
        lines.append(f"- … and {listed['more']} more")
    return [*lines, ""]


def observations_of(summary: dict[str, Any], outcome: str) -> str:
    """The run as Markdown: the verdict, each steady-state probe, the method, the rollbacks."""
    verdict = VERDICT[Outcome(outcome)]
    before, after = summary["steady_state_before"], summary["steady_state_after"]
    if outcome == Outcome.ABORTED:
        if summary["status"] != "completed":
            verdict += f": the run ended {summary['status']}"
        else:
            verdict += ": the steady state was not met before the method, nothing was injected"
    title = f" “{_plain(summary['experiment'])}”" if summary["experiment"] else ""
    when = summary["start"].replace("T", " ").replace("Z", " UTC")
    if summary["duration"] is not None:
        when += f", {summary['duration']:.1f} s"
    lines = [
        MARKER,
        "",
        f"Experiment{title}, started {when}: **{verdict}** "
        f"(journal status `{summary['status']}`, deviated: {str(summary['deviated']).lower()}).",
        "",
    ]

    def met(state: dict[str, Any] | None) -> str:
        if state is None:
            return "not run"
        return {True: "met", False: "**not met**", None: "unknown"}[state["met"]]

    if before is not None:
        lines += _section(f"**Steady state before** — {met(before)}", before, probes=True)
    lines += _section("**Method**", summary["method"])
    if after is not None or before is not None:
        lines += _section(f"**Steady state after** — {met(after)}", after or _NONE, probes=True)
    lines += _section("**Rollbacks**", summary["rollbacks"])
    text = "\n".join(lines).rstrip() + "\n"
    return text[:MAX_MARKDOWN]


_NONE: dict[str, Any] = {"activities": [], "more": 0}


def merged_observations(current: str, run: JournalRun) -> str:
    """What people wrote (above an earlier run's MARKER) kept, the run's summary after it."""
    written = current.split(MARKER, 1)[0].rstrip()
    if not written:
        return run.observations
    room = MAX_MARKDOWN - len(run.observations) - 2
    if len(written) > room:
        written = written[: max(0, room - 1)] + "…"
    return f"{written}\n\n{run.observations}"


def record_journal(
    scenario: Scenario, run: JournalRun, *, by: AbstractBaseUser | AnonymousUser | None
) -> Scenario:
    """Record a journal as the scenario's outcome (validated, versioned, kept in history)."""
    return record_outcome(
        scenario,
        outcome=run.outcome,
        observations=merged_observations(scenario.observations, run),
        ran_at=run.ran_at,
        by=by,
        journal=run.summary,
    )
