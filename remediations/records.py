"""The one validator of a remediation, and of a whole report (an incident with its
remediations): the forms, the API, the importers and the admin all call these (issue 10).

A remediation record is the interchange shape of PRODUCT.md: `title`, `description`, `kind`,
`status`, `owner` (a username), `due_date`, `opened_at`, `done_at`, `category` (a path),
`tracker_url`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from common.validation import (
    Errors,
    Path,
    RecordInvalid,
    clean_choice,
    clean_date,
    clean_list,
    clean_moment,
    clean_text,
)
from incidents.models import Incident
from incidents.records import (
    MAX_REMEDIATIONS,
    MAX_TITLE,
    clean_category_path,
    clean_incident,
    clean_url,
)
from remediations.models import Remediation, RemediationKind, RemediationStatus

MAX_DESCRIPTION = 50_000
MAX_OWNER = 150

REMEDIATION_FIELDS = (
    "title", "description", "kind", "status", "owner", "due_date", "opened_at", "done_at",
    "category", "tracker_url",
)  # fmt: skip


def clean_remediation(
    raw: Mapping[str, Any],
    errors: Errors,
    path: Path = (),
    *,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """The remediation, normalised; every problem is added to `errors` under `path`.

    `opened_at` defaults to `now`. A remediation marked done without `done_at` was done
    `now` (never before it was opened); a `done_at` on one that is not done is refused, as
    is one before `opened_at` (PRODUCT.md, "Domain").
    """
    now = (now or timezone.now()).replace(microsecond=0)  # times are kept to the second
    record: dict[str, Any] = {
        "title": clean_text(
            raw.get("title"), (*path, "title"), errors,
            max_length=MAX_TITLE, single_line=True, strip=True, required=True,
        ),
        "description": clean_text(
            raw.get("description"), (*path, "description"), errors, max_length=MAX_DESCRIPTION
        ),
        "kind": clean_choice(
            raw.get("kind"), (*path, "kind"), errors,
            allowed=RemediationKind.values, default=RemediationKind.PREVENT,
        ),
        "status": clean_choice(
            raw.get("status"), (*path, "status"), errors,
            allowed=RemediationStatus.values, default=RemediationStatus.OPEN,
        ),
        "owner": clean_text(
            raw.get("owner"), (*path, "owner"), errors,
            max_length=MAX_OWNER, single_line=True, strip=True,
        ) or None,
        "due_date": clean_date(raw.get("due_date"), (*path, "due_date"), errors),
        "opened_at": clean_moment(raw.get("opened_at"), (*path, "opened_at"), errors),
        "done_at": clean_moment(raw.get("done_at"), (*path, "done_at"), errors),
        "category": clean_category_path(raw.get("category"), (*path, "category"), errors),
        "tracker_url": clean_url(raw.get("tracker_url"), (*path, "tracker_url"), errors),
    }  # fmt: skip
    if record["opened_at"] is None and not _named(raw, "opened_at"):
        record["opened_at"] = now
    opened, done = record["opened_at"], record["done_at"]
    if record["status"] == RemediationStatus.DONE:
        if done is None and not _named(raw, "done_at"):
            record["done_at"] = done = max(now, opened) if opened else now
    elif done is not None:
        errors.add((*path, "done_at"), "Only a remediation marked done has a done date.")
        done = None
    if opened and done and done < opened:
        errors.add((*path, "done_at"), "A remediation can't be done before it was opened.")
    return record


# How far up a chain of follow-ups a cycle is looked for; chains are a few links long.
MAX_FOLLOW_UP_CHAIN = 100


def clean_follow_up_of(
    value: Any, remediation: Remediation | None, errors: Errors, path: Path = ()
) -> Remediation | None:
    """The fix a remediation follows up: an existing remediation's id, or None.

    Not the remediation itself, and not one that already follows it up (directly or through
    others): a chain of follow-ups always leads back to the first fix.
    """
    if value is None:
        return None
    where = (*path, "follow_up_of")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        errors.add(where, f"Send the id of a remediation or null, not {str(value)[:30]!r}.")
        return None
    follows = Remediation.objects.filter(pk=value).first()
    if follows is None:
        errors.add(where, f"There is no remediation {value}.")
        return None
    own = remediation.pk if remediation is not None else None
    if own is None:
        return follows
    if follows.pk == own:
        errors.add(where, "A remediation can't be a follow-up of itself.")
        return None
    above, hops = follows.follow_up_of_id, 0
    while above is not None and hops < MAX_FOLLOW_UP_CHAIN:
        if above == own:
            errors.add(
                where, f"“{follows.title}” already follows this one up: a follow-up can't go round."
            )
            return None
        above = (
            Remediation.objects.filter(pk=above).values_list("follow_up_of_id", flat=True).first()
        )
        hops += 1
    return follows


def _named(raw: Mapping[str, Any], key: str) -> bool:
    """True when the input gave the key a value that failed to parse (already reported)."""
    return raw.get(key) not in (None, "")


def clean_report(
    raw: Any,
    *,
    now: datetime.datetime | None = None,
    by: Any = None,
    incident: Incident | None = None,
) -> dict[str, Any]:
    """A whole incident record with its remediations, or RecordInvalid with every reason.

    `by` and `incident` (the stored one an update starts from) go to `clean_incident`, which
    refuses a restriction that would hide the incident from `by`.

    Remediations opened without `opened_at` are opened when the incident was resolved (or
    started): a report's follow-ups are never older than the incident.
    """
    errors = Errors()
    if not isinstance(raw, Mapping):
        errors.add((), "must be a JSON object.")
        raise RecordInvalid(errors)
    record = clean_incident(raw, errors, by=by, incident=incident)
    items = clean_list(
        raw.get("remediations"), ("remediations",), errors, item=dict, max_items=MAX_REMEDIATIONS
    )
    opened_default = record["resolved_at"] or record["started_at"] or now
    record["remediations"] = [
        clean_remediation(
            {"opened_at": opened_default, **{k: v for k, v in item.items() if v not in (None, "")}},
            errors,
            ("remediations", n),
            now=now,
        )
        for n, item in enumerate(items)
    ]
    seen: dict[str, int] = {}
    for n, item in enumerate(record["remediations"]):
        # An import matches an incident's remediations by title: two alike can't be told apart.
        if item["title"] and item["title"] in seen:
            errors.add(
                ("remediations", n, "title"),
                f"is also the title of remediations[{seen[item['title']] + 1}]; "
                "the remediations of one incident need different titles.",
            )
        seen.setdefault(item["title"], n)
    errors.raise_if_any()
    return record
