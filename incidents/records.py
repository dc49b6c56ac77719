"""The one validator of an incident record: the form, the API, the importers and the admin
all turn their input into a record and call `clean_incident` (PRODUCT.md, "One set of rules
for every way in"; issue 10).

A record is the interchange shape of PRODUCT.md without its remediations (those are cleaned by
`remediations.records`): `title`, `summary`, `body`, `severity`, `status`, `started_at`,
`detected_at`, `resolved_at`, `categories` (paths), `services` (names), `causes` (`kind`,
`description`, `category` path), `timeline` (`at`, `text`), `external_id`, `source_url`,
`visibility` (`everyone` | `restricted`) and `access_groups` (group names).
Times may be ISO 8601 strings or parsed datetimes; every other value is JSON.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from common.validation import (
    RANGE_WORDS,
    Errors,
    Path,
    clean_choice,
    clean_list,
    clean_moment,
    clean_text,
)
from incidents.models import (
    PATH_SEPARATOR,
    CauseKind,
    Incident,
    IncidentStatus,
    Severity,
    Visibility,
)
from incidents.names import canonical_name

# The documented limits (docs/api.md, docs/import-export.md). Lists are bounded so that a
# record always fits one page and one edit form.
MAX_TITLE = 200
MAX_SUMMARY = 5_000
MAX_EXTERNAL_ID = 200
MAX_URL = 500
MAX_NAME = 100  # a category name or a service name
MAX_PATH = 500
MAX_CAUSE = 10_000
MAX_TIMELINE_TEXT = 10_000
MAX_CATEGORIES = 50
MAX_SERVICES = 50
MAX_CAUSES = 100
MAX_TIMELINE = 500
MAX_REMEDIATIONS = 100
MAX_ACCESS_GROUPS = 50

INCIDENT_FIELDS = (
    "external_id", "title", "summary", "body", "severity", "status",
    "started_at", "detected_at", "resolved_at", "source_url", "visibility",
)  # fmt: skip
PART_FIELDS = ("categories", "services", "causes", "timeline", "access_groups")

_url = URLValidator(schemes=["http", "https"])


def clean_url(value: Any, path: Path, errors: Errors) -> str:
    """An http(s) URL of at most 500 characters, or ""."""
    text = clean_text(value, path, errors, max_length=MAX_URL, single_line=True, strip=True)
    if text:
        try:
            _url(text)
        except ValidationError:
            errors.add(path, "is not a valid http(s) URL.")
            return ""
    return text


def clean_category_path(value: Any, path: Path, errors: Errors) -> str | None:
    """A path of names joined by " > " ("Control plane > etcd"), normalised; None for ""."""
    text = clean_text(value, path, errors, max_length=MAX_PATH, single_line=True)
    names = [name.strip() for name in text.split(PATH_SEPARATOR.strip()) if name.strip()]
    for name in names:
        if len(name) > MAX_NAME:
            errors.add(
                path,
                f"has a category name of {len(name):,} characters ({name[:20]!r}…); "
                f"at most {MAX_NAME} characters each.",
            )
            return None
    return PATH_SEPARATOR.join(names) or None


def clean_name(value: Any, path: Path, errors: Errors) -> str:
    """A service name: one line, at most 100 characters, no comma (pages list services
    separated by commas), surrounding spaces dropped."""
    name = clean_text(value, path, errors, max_length=MAX_NAME, single_line=True, strip=True)
    if "," in name:
        errors.add(path, "must not contain a comma: commas separate service names.")
        return ""
    return name


def clean_service_name(value: Any, path: Path, errors: Errors) -> str:
    """A service name by `clean_name`'s rules, in its one spelling (`names.canonical_name`:
    NFKC, no zero-width or other format characters, single spaces), so that look-alike names
    are one service on every way in. A name of only invisible characters is refused, as is one
    that NFKC lengthens past MAX_NAME characters or gives a comma ("，" is ",")."""
    name = clean_name(value, path, errors)
    if not name:
        return ""
    canonical = canonical_name(name)
    if not canonical:
        errors.add(path, "must contain a visible character.")
    elif "," in canonical:
        errors.add(path, "must not contain a comma: commas separate service names.")
    elif len(canonical) > MAX_NAME:
        errors.add(
            path,
            f"is {len(canonical):,} characters long written plainly ({canonical[:20]!r}…); "
            f"the limit is {MAX_NAME}.",
        )
    else:
        return canonical
    return ""


def clean_incident(
    raw: Mapping[str, Any],
    errors: Errors,
    *,
    by: Any = None,
    incident: Incident | None = None,
) -> dict[str, Any]:
    """The record, normalised; every problem is added to `errors` at its path.

    `by` is who writes (None: the system, e.g. an import) and `incident` the stored incident
    an update starts from (None for a new one, whose author will be `by`): a person may
    restrict an incident only so that they still see it (`clean_access`).

    Rules: PRODUCT.md ("One set of rules for every way in", "Interchange format"). `title`
    and `started_at` are required; `severity` defaults to SEV3 and `status` to resolved;
    started ≤ detected ≤ resolved; times between 1970 and 2100; no NUL anywhere; no line
    break in single-line fields; the report at most ONCE_MAX_REPORT_CHARS characters; lists
    at most MAX_* items. Duplicate categories and services (ignoring case) are merged.
    """
    record: dict[str, Any] = {
        "external_id": clean_text(
            raw.get("external_id"), ("external_id",), errors,
            max_length=MAX_EXTERNAL_ID, single_line=True, strip=True,
        ) or None,
        "title": clean_text(
            raw.get("title"), ("title",), errors,
            max_length=MAX_TITLE, single_line=True, strip=True, required=True,
        ),
        "summary": clean_text(raw.get("summary"), ("summary",), errors, max_length=MAX_SUMMARY),
        "body": clean_text(
            raw.get("body"), ("body",), errors, max_length=settings.ONCE_MAX_REPORT_CHARS
        ),
        "severity": clean_choice(
            raw.get("severity"), ("severity",), errors,
            allowed=Severity.values, default=Severity.SEV3,
        ),
        "status": clean_choice(
            raw.get("status"), ("status",), errors,
            allowed=IncidentStatus.values, default=IncidentStatus.RESOLVED,
        ),
        "started_at": clean_moment(raw.get("started_at"), ("started_at",), errors, required=True),
        "detected_at": clean_moment(raw.get("detected_at"), ("detected_at",), errors),
        "resolved_at": clean_moment(raw.get("resolved_at"), ("resolved_at",), errors),
        "source_url": clean_url(raw.get("source_url"), ("source_url",), errors),
    }  # fmt: skip
    _check_order(record, errors)

    categories: list[str] = []
    items = clean_list(
        raw.get("categories"), ("categories",), errors, item=str, max_items=MAX_CATEGORIES
    )
    for n, value in enumerate(items):
        category = clean_category_path(value, ("categories", n), errors)
        if category and category not in categories:
            categories.append(category)
    record["categories"] = categories

    services: dict[str, str] = {}
    items = clean_list(raw.get("services"), ("services",), errors, item=str, max_items=MAX_SERVICES)
    for n, value in enumerate(items):
        name = clean_service_name(value, ("services", n), errors)
        if name:
            services.setdefault(name.lower(), name)
    record["services"] = list(services.values())

    record["causes"] = []
    items = clean_list(raw.get("causes"), ("causes",), errors, item=dict, max_items=MAX_CAUSES)
    for n, cause in enumerate(items):
        record["causes"].append(
            {
                "kind": clean_choice(
                    cause.get("kind"), ("causes", n, "kind"), errors,
                    allowed=CauseKind.values, default=CauseKind.ROOT_CAUSE,
                ),
                "description": clean_text(
                    cause.get("description"), ("causes", n, "description"), errors,
                    max_length=MAX_CAUSE, strip=True, required=True,
                ),
                "category": clean_category_path(
                    cause.get("category"), ("causes", n, "category"), errors
                ),
            }
        )  # fmt: skip

    record["timeline"] = []
    items = clean_list(
        raw.get("timeline"), ("timeline",), errors, item=dict, max_items=MAX_TIMELINE
    )
    previous = record["started_at"]  # what the first entry's offset counts from
    for n, entry in enumerate(items):
        at = clean_timeline_at(entry.get("at"), ("timeline", n, "at"), errors, previous=previous,
                               started_at=record["started_at"])  # fmt: skip
        previous = at
        record["timeline"].append(
            {
                "at": at,
                "text": clean_text(
                    entry.get("text"), ("timeline", n, "text"), errors, max_length=MAX_TIMELINE_TEXT
                ),
            }
        )
    record["timeline"].sort(key=lambda e: (e["at"] is None, e["at"]))
    record["visibility"], record["access_groups"] = clean_access(
        raw, errors, by=by, incident=incident
    )
    if "duplicate_of" in raw:  # left out: the stored value stays (imports, the edit form)
        record["duplicate_of"] = clean_duplicate_of(
            raw["duplicate_of"], ("duplicate_of",), errors, by=by, incident=incident
        )
    return record


# "+10m", "+1h30m", "-5m", "+2d", "+90s": a sign, then amounts of days, hours, minutes and
# seconds in that order. ASCII digits only: "+١٠m" is not quietly ten minutes.
_OFFSET = re.compile(
    r"([+-])\s*(?:([0-9]+)\s*d)?\s*(?:([0-9]+)\s*h)?\s*(?:([0-9]+)\s*m(?:in)?)?"
    r"\s*(?:([0-9]+)\s*s)?",
    re.IGNORECASE,
)
NOT_AN_OFFSET = "is not an offset: write +10m, +1h30m, -5m or +2d (days, hours, minutes, seconds)."
# "14:05" or "14:05:30": a time of day, on the incident's day.
_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


_NEXT_DAY = datetime.timedelta(days=1)


def clean_timeline_at(
    value: Any,
    path: Path,
    errors: Errors,
    *,
    previous: datetime.datetime | None,
    started_at: datetime.datetime | None,
) -> datetime.datetime | None:
    """A timeline entry's time, required, as an aware UTC datetime to the second.

    Besides what `clean_moment` takes (an ISO 8601 date-time or date), a string may be:

    - a time of day, "14:05" or "14:05:30": on the day (UTC) the incident started, or on
      the next day when it is earlier than the start and the next day's is within 12 hours
      after the start ("00:10" for a start at 23:50 is 20 minutes after it; issue 15);
    - an offset, "+10m", "+1h30m", "-5m", "+2d", "+90s" (days, hours, minutes, seconds, in
      that order, each optional): from the entry before it in the list as given (after its
      own offset is applied), or from the incident's start for the first entry. Other text
      starting with + or - is refused with what an offset looks like (NOT_AN_OFFSET).

    These are in the validator, not the form, so the page, the API and the importers take
    the same times (PRODUCT.md, "One set of rules for every way in"; issue 15). A time of day
    or an offset with nothing to count from (no start, or an entry before it that has no
    valid time) is refused with the reason; the result must be between 1970 and 2100 too.
    """
    if not isinstance(value, str):
        return clean_moment(value, path, errors, required=True)
    text = value.strip()
    offset = _OFFSET.fullmatch(text)
    if offset and any(offset.groups()[1:]):
        if previous is None:
            errors.add(
                path,
                f"is an offset ({text}) with nothing to count from: give the incident's start "
                "time, or a full time for the entry above.",
            )
            return None
        sign, days, hours, minutes, seconds = offset.groups()
        try:
            delta = datetime.timedelta(
                days=int(days or 0), hours=int(hours or 0),
                minutes=int(minutes or 0), seconds=int(seconds or 0),
            )  # fmt: skip
            moment = previous + delta if sign == "+" else previous - delta
        except (OverflowError, ValueError):  # ValueError: more digits than int() reads
            errors.add(path, f"is an offset that goes too far: times must be {RANGE_WORDS}.")
            return None
        return clean_moment(moment, path, errors, required=True)
    if text.startswith(("+", "-")):
        errors.add(path, NOT_AN_OFFSET)
        return None
    of_day = _TIME_OF_DAY.fullmatch(text)
    if of_day:
        if started_at is None:
            errors.add(
                path,
                f"is a time of day ({text}) with no day: give the incident's start time, or a "
                "full date and time.",
            )
            return None
        hour, minute, second = (int(part or 0) for part in of_day.groups())
        if hour > 23 or minute > 59 or second > 59:
            errors.add(path, f"is not a time of day: {text}.")
            return None
        day = started_at.astimezone(datetime.UTC).date()
        moment = datetime.datetime.combine(
            day, datetime.time(hour, minute, second), tzinfo=datetime.UTC
        )
        if moment < started_at and moment + _NEXT_DAY - started_at <= _NEXT_DAY / 2:
            moment += _NEXT_DAY  # past midnight: "00:10" after a start at 23:50
        return clean_moment(moment, path, errors, required=True)
    return clean_moment(value, path, errors, required=True)


def clean_duplicate_of(
    value: Any, path: Path, errors: Errors, *, by: Any = None, incident: Incident | None = None
) -> int | None:
    """The id of the original an incident repeats, or None (not a duplicate).

    `value` names the original by its id, its reference ("INC-42") or its `external_id` (a
    string matching an external_id exactly is taken as one first: that is how an export names
    an original that has one, so the link survives a move between databases); None or ""
    is "not a duplicate". The original must be an incident `by` may see (one hidden from
    them is refused like one that doesn't exist, naming nothing of it), not the incident
    itself, and never a chain: naming a duplicate names its original instead, and naming one
    of this incident's own duplicates (a cycle) is refused. A value left as stored is kept
    without these checks, unless the original is hidden from `by` (see below).

    The rule for an original hidden from `by` (PRODUCT.md, "Who may see and change what"):
    they read `duplicate_of` as null (incidents.models.shown_original) on every way out — the
    API, the page, an export, a Markdown download — so a null (or "") from them keeps the
    stored link rather than un-marking it: a GET then PUT of the same body changes nothing.
    Naming an original they see marks it a duplicate of that one instead (their choice, made
    knowingly: the page tells them it is a duplicate of an incident they can't see); naming
    one they can't see is refused as above. Only someone who sees the original un-marks it
    (incidents.actions.mark_duplicate says so to the others).
    PRODUCT.md, "Writing, duplicates and importing Markdown".
    """
    stored = incident.duplicate_of_id if incident is not None and incident.pk else None
    if value is None or value == "":
        if stored is not None and Incident.objects.hidden_from(by).filter(pk=stored).exists():
            return stored  # they were shown null: their null keeps what they can't see
        return None
    pk = _original_named(value, path, errors, by=by)
    if pk is None:
        return None
    hidden = Incident.objects.hidden_from(by)
    if pk == stored:
        if hidden.filter(pk=pk).exists():  # a guess at the link they were not shown: no clue
            errors.add(path, f"names no incident you can see (INC-{pk}).")
            return None
        return pk
    if incident is not None and incident.pk == pk:
        errors.add(path, "An incident can't be a duplicate of itself.")
        return None
    visible = Incident.objects.visible_to(by)
    found = visible.filter(pk=pk).values_list("duplicate_of_id", flat=True)
    if not found.exists():
        errors.add(path, f"names no incident you can see (INC-{pk}).")
        return None
    root = found.first() or pk  # INC-pk is itself a duplicate: point to its original
    if incident is not None and incident.pk == root:
        errors.add(
            path,
            f"INC-{pk} is already a duplicate of this incident: marking this one a duplicate "
            "of it would make a cycle.",
        )
        return None
    if root != pk and not visible.filter(pk=root).exists():
        errors.add(path, f"INC-{pk} is a duplicate of an incident you can't see.")
        return None
    return root


def _original_named(value: Any, path: Path, errors: Errors, *, by: Any) -> int | None:
    """The id `value` names (see clean_duplicate_of), not yet checked; None with the reason."""
    if isinstance(value, str):
        text = value.strip()
        by_external_id = list(
            Incident.objects.visible_to(by).filter(external_id=text).values_list("pk", flat=True)
        )
        if text and by_external_id:
            return by_external_id[0]
        if text.upper().startswith("INC-"):
            text = text[4:].strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            errors.add(
                path,
                f"names no incident you can see ({value.strip()[:100]}): give its id, its "
                "reference (INC-42) or its external_id.",
            )
            return None
        return int(text)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**18:
        return value
    errors.add(path, "must be an incident id (a number), a reference (INC-42), an external_id "
               "or null.")  # fmt: skip
    return None


def clean_access(
    raw: Mapping[str, Any], errors: Errors, *, by: Any = None, incident: Incident | None = None
) -> tuple[str, list[str]]:
    """Who sees the incident: `(visibility, access group names)`.

    `visibility` is `everyone` (default) or `restricted`; `access_groups` names existing
    groups (exactly as spelt; duplicates merged, at most MAX_ACCESS_GROUPS). A restricted
    incident is seen by its author, members of its groups and superusers (PRODUCT.md, "Who
    may see and change what"), so a person may not restrict it away from themselves: the
    result must still be visible to `by` (the system, `None`, may set anything). Unknown
    groups are refused by name: "access_groups[1] names a group that doesn't exist:
    “Secuirty”."
    """
    visibility = clean_choice(
        raw.get("visibility"), ("visibility",), errors,
        allowed=Visibility.values, default=Visibility.EVERYONE,
    )  # fmt: skip
    names: list[str] = []
    items = clean_list(
        raw.get("access_groups"), ("access_groups",), errors, item=str,
        max_items=MAX_ACCESS_GROUPS,
    )  # fmt: skip
    for n, value in enumerate(items):
        name = clean_text(
            value, ("access_groups", n), errors, max_length=150, single_line=True, strip=True
        )
        if name and name not in names:
            names.append(name)
    unknown = False
    if names:
        known = set(Group.objects.filter(name__in=names).values_list("name", flat=True))
        for n, name in enumerate(names):
            if name not in known:
                errors.add(
                    ("access_groups", n), f"names a group that doesn't exist: “{name[:100]}”."
                )
                unknown = True
    if visibility == Visibility.RESTRICTED and not unknown and not _still_sees(by, incident, names):
        errors.add(
            ("access_groups",),
            "You would no longer see this incident: restrict it to a group you are in.",
        )
    return visibility, sorted(names)


def _still_sees(by: Any, incident: Incident | None, groups: list[str]) -> bool:
    """Would `by` see the incident restricted to `groups`? (Incident.is_visible_to's rule.)"""
    if by is None or getattr(by, "is_superuser", False):
        return True
    if not getattr(by, "is_authenticated", False):
        return False
    author_id = incident.author_id if incident is not None and incident.pk else by.pk
    if author_id == by.pk:
        return True
    return bool(by.groups.filter(name__in=groups).exists())


def _check_order(record: dict[str, Any], errors: Errors) -> None:
    started, detected, resolved = (
        record["started_at"], record["detected_at"], record["resolved_at"]
    )  # fmt: skip
    if started and detected and detected < started:
        errors.add(("detected_at",), "An incident can't be detected before it started.")
    if started and resolved and resolved < started:
        errors.add(("resolved_at",), "An incident can't be resolved before it started.")
    elif detected and resolved and resolved < detected:
        errors.add(("resolved_at",), "An incident can't be resolved before it was detected.")


def clean_category(name: Any, description: Any, errors: Errors) -> tuple[str, str]:
    """A category's own fields: a one-line name without ">" and a Markdown description."""
    name = clean_name(name, ("name",), errors)
    if PATH_SEPARATOR.strip() in name:
        errors.add(("name",), "must not contain “>”: it separates levels in a path.")
    if not name and not errors:
        errors.add(("name",), "is required.")
    description = clean_text(description, ("description",), errors, max_length=20_000)
    return name, description


MAX_DESIGN_NOTES = 50_000  # characters of a service's design notes


def clean_design_notes(value: Any, errors: Errors) -> str:
    """A service's design notes: Markdown, at most MAX_DESIGN_NOTES characters (PRODUCT.md,
    "Service"), line ends made "\\n" like every text."""
    return clean_text(value, ("design_notes",), errors, max_length=MAX_DESIGN_NOTES)
