"""Postmortems as Markdown files: read one into an interchange record, write an incident as one.

PRODUCT.md, "Writing, duplicates and importing Markdown". A file is YAML front matter (the
interchange fields: title, started_at, severity, status, services, categories, …) and a
Markdown report. The sections of common postmortem templates are mapped to structured
fields, matched by heading (any level, case-insensitive, synonyms in `SECTIONS`):

- Summary → `summary`;
- Timeline → `timeline`: list items or table rows that start with a time (`14:05`,
  `2019-03-02 14:05 UTC`, `2:05 PM`); a time without a date is on the incident's day (in
  the front matter's `timezone`, UTC by default), moving to the next day when the times go
  back across midnight (from 18:00 or later to before 06:00); more than 500 entries are
  refused (the file is not imported);
- Root cause(s), Trigger, Contributing factors, Causes → `causes` (one per list item, or the
  whole section as one); an item may start with its kind (`Trigger: …`) and end with a line
  `Failure mode: A > B`;
- Action items, Corrective actions, Remediations, Follow-ups, … → `remediations`: a table
  (columns for owner, due date, tracker link, status, kind where they exist) or a list
  (`- [x] done item`).

What a mapped section holds that isn't one of these (prose beside a timeline) stays in the
report under its heading, as does every other section. When a section appears twice, the
last one is mapped (a file written by `write_postmortem` puts the structured sections last,
so a report that itself has a "## Summary" heading keeps it).

`read_postmortem` returns the raw record for `reports.interchange.parse_record` (the one
validator) and warnings; it raises InvalidRecord when the file can't be read as a
postmortem. `write_postmortem` is the inverse: reading what it writes gives the same record.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

import frontmatter
import yaml

from common.jsonlines import InvalidRecord
from incidents.records import MAX_CAUSE, MAX_SUMMARY, MAX_TIMELINE
from reports import markdown_blocks as blocks
from reports.markdown_actions import read_action_items, tell_alike_apart
from reports.markdown_blocks import HEADING, normalise_heading, synonyms

# Normalised heading → the field its section fills.
SECTIONS = synonyms(
    summary="summary|incident summary|executive summary|overview|tl;dr|tldr|abstract",
    timeline="timeline|incident timeline|timeline of events|chronology|sequence of events|"
    "detailed timeline",
    root_cause="root cause|root causes|root cause analysis|blameless root cause|causes|cause",
    trigger="trigger|triggers|triggering event",
    contributing="contributing factors|contributing factor|contributing causes|contributors",
    remediations="action items|action item|corrective actions|corrective action|remediation|"
    "remediations|remediation items|follow-ups|follow ups|followups|follow-up actions|"
    "follow-up items|next steps|action plan|preventive actions|preventative actions",
)
_CAUSE_FIELDS = {"root_cause", "trigger", "contributing"}

# Front matter key (lower case) → interchange field.
_KEYS: dict[str, str] = {
    "title": "title", "external_id": "external_id", "id": "external_id",
    "severity": "severity", "sev": "severity", "status": "status", "summary": "summary",
    "started_at": "started_at", "started": "started_at", "start": "started_at",
    "start_time": "started_at", "date": "started_at", "incident_date": "started_at",
    "detected_at": "detected_at", "detected": "detected_at",
    "resolved_at": "resolved_at", "resolved": "resolved_at", "ended_at": "resolved_at",
    "end": "resolved_at", "ended": "resolved_at", "end_time": "resolved_at",
    "services": "services", "service": "services", "systems": "services",
    "components": "services",
    "categories": "categories", "category": "categories", "failure_modes": "categories",
    "failure_mode": "categories", "visibility": "visibility",
    "access_groups": "access_groups", "groups": "access_groups",
    "source_url": "source_url", "url": "source_url", "link": "source_url",
    "timezone": "timezone", "reference": "reference",
    "duplicate_of": "duplicate_of", "duplicate": "duplicate_of",
}  # fmt: skip
_LISTS = {"services", "categories", "access_groups"}
_MOMENTS = {"started_at", "detected_at", "resolved_at"}
_STATUSES = {
    "resolved": "resolved", "closed": "resolved", "mitigated": "resolved", "fixed": "resolved",
    "done": "resolved", "draft": "resolved", "in review": "resolved",
    "investigating": "investigating", "ongoing": "investigating", "open": "investigating",
    "active": "investigating",
    "reviewed": "reviewed", "published": "reviewed", "final": "reviewed",
    "complete": "reviewed", "completed": "reviewed",
}  # fmt: skip
_CAUSE_KINDS = {"trigger": "trigger", "root cause": "root_cause", "contributing": "contributing",
                "contributing factor": "contributing"}  # fmt: skip

_WHEN = re.compile(
    r"""^[*_`]{0,2}
    (?:(?P<date>\d{4}-\d{2}-\d{2})[ T]*)?
    (?P<time>\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?)?
    (?:\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2})\b)?
    [*_`]{0,2}
    (?:\s*[-–—:|]|\s|$)\s*
    (?P<text>.*)$""",
    re.X | re.S,
)
_DATE = re.compile(r"(\d{4})[-_](\d{2})[-_](\d{2})")
CATEGORY_LINE = re.compile(r"^[_*]?(?:Failure mode|Category):[ \t]*(.+?)[_*]?$", re.I)
_KIND_PREFIX = re.compile(
    r"^(?:\*\*|__)?(trigger|root cause|contributing(?: factor)?)"
    r"(?::(?:\*\*|__)|(?:\*\*|__)?:)[ \t]*",
    re.I,
)
NONE_MARK = "_None._"


@dataclass
class _Section:
    target: str  # the field it fills
    start: int  # the heading's line
    end: int  # the first line after the section
    leftover: list[str] = field(default_factory=list)


class _Reader:
    def __init__(self, text: str, name: str, key: str) -> None:
        self.name = name
        self.key = key
        self.warnings: list[str] = []
        try:
            post = frontmatter.loads(text.replace("\r\n", "\n").removeprefix("\ufeff"))
        except yaml.YAMLError as error:
            raise InvalidRecord(
                f"the front matter is not valid YAML: {_first_line(error)}"
            ) from None
        except (ValueError, TypeError, AttributeError) as error:
            raise InvalidRecord(f"the front matter can't be read: {error}") from None
        if not isinstance(post.metadata, dict):
            raise InvalidRecord("the front matter must be a mapping of keys to values")
        self.meta = post.metadata
        self.zone: datetime.tzinfo = datetime.UTC
        self.day = datetime.date(1970, 1, 1)
        self._shift = 0
        self._previous: datetime.datetime | None = None
        self.lines = post.content.split("\n")

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for key, value in self.meta.items():
            target = _KEYS.get(str(key).strip().lower().replace(" ", "_").replace("-", "_"))
            if target is None:
                self.warnings.append(f"front matter key {str(key)!r} is not used")
                continue
            if target in _LISTS and isinstance(value, str):
                value = [part.strip() for part in value.split(",") if part.strip()]
            record[target] = value
        self.reference = _reference(record.pop("reference", None), self.warnings)
        self.zone = self._zone(record.pop("timezone", None))
        for name in _MOMENTS & record.keys():
            record[name] = self._moment(record[name])
        if isinstance(record.get("severity"), (str, int)):
            record["severity"] = _severity(record["severity"])
        if isinstance(record.get("status"), str):
            status = record["status"].strip().lower()
            record["status"] = _STATUSES.get(status, record["status"])
        for name in ("title", "external_id"):
            if isinstance(record.get(name), (int, float)) and not isinstance(record[name], bool):
                record[name] = str(record[name])
        self._take_title(record)
        if not record.get("external_id"):
            record["external_id"] = self.key
        if not record.get("started_at"):
            found = _DATE.search(str(record.get("title") or "")) or _DATE.search(self.name)
            if not found:
                raise InvalidRecord(
                    "no start time: give started_at in the front matter, or a date "
                    "(YYYY-MM-DD) in the title or the file name"
                )
            record["started_at"] = "-".join(found.groups())
        self.day = self._day(record["started_at"])
        self._sections(record)
        return record

    def _zone(self, name: Any) -> datetime.tzinfo:
        if not name:
            return datetime.UTC
        try:
            return zoneinfo.ZoneInfo(str(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise InvalidRecord(f"timezone {str(name)!r} is not a known time zone") from None

    def _moment(self, value: Any) -> Any:
        """A front-matter time; one without an offset is in the file's time zone."""
        if isinstance(value, str):
            try:
                parsed = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                return value  # the validator says what is wrong with it
            if len(value.strip()) <= 10:
                return value  # a date: midnight UTC, as the interchange format has it
            value = parsed
        if isinstance(value, datetime.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=self.zone)
        return value

    def _day(self, started: Any) -> datetime.date:
        """The day the timeline's bare times fall on. A start time that is no time, or whose
        day in the file's zone is past year 9999 (9999-12-31T23:59:59-14:00), gives 1970-01-01:
        the validator then refuses the start time itself, and the file fails with that reason."""
        try:
            if isinstance(started, datetime.datetime):
                return (
                    (started if started.tzinfo else started.replace(tzinfo=self.zone))
                    .astimezone(self.zone)
                    .date()
                )
            if isinstance(started, datetime.date):
                return started
            moment = datetime.datetime.fromisoformat(str(started).strip().replace("Z", "+00:00"))
            if moment.tzinfo:
                moment = moment.astimezone(self.zone)
            return moment.date()
        except (ValueError, OverflowError):
            return datetime.date(1970, 1, 1)

    def _take_title(self, record: dict[str, Any]) -> None:
        """The title from the front matter, else the first `# heading`, else the file name."""
        first = next((n for n, line in enumerate(self.lines) if line.strip()), None)
        heading = HEADING.match(self.lines[first]) if first is not None else None
        if heading and len(heading.group(1)) == 1:
            title = record.get("title")
            if not title:
                record["title"] = heading.group(2)
                del self.lines[first]  # type: ignore[arg-type]
            elif isinstance(title, str) and self.lines[first].rstrip() == f"# {title}":  # type: ignore[index]
                del self.lines[first]  # type: ignore[arg-type]
        if not record.get("title"):
            stem = re.sub(r"\.(md|markdown)$", "", self.name.rsplit("/", 1)[-1], flags=re.I)
            record["title"] = re.sub(r"[-_]+", " ", stem).strip() or stem

    def _sections(self, record: dict[str, Any]) -> None:
        headings = blocks.headings(self.lines)
        chosen: dict[str, int] = {}  # field → index in headings; the last one wins
        for index, (_, _, text) in enumerate(headings):
            target = SECTIONS.get(normalise_heading(text))
            if target and not (target == "summary" and record.get("summary")):
                chosen[target] = index
        mapped = set(chosen.values())
        sections: list[_Section] = []
        for target, index in chosen.items():
            start, level, _ = headings[index]
            end = len(self.lines)
            for later in range(index + 1, len(headings)):
                if later in mapped or headings[later][1] <= level:
                    end = headings[later][0]
                    break
            sections.append(_Section(target, start, end))
        sections.sort(key=lambda s: s.start)
        causes: list[dict[str, Any]] = []
        for section in sections:
            content = self.lines[section.start + 1 : section.end]
            if [line.strip() for line in content if line.strip()] == [NONE_MARK]:
                content = []
            if section.target == "summary":
                text = "\n".join(content).strip("\n")
                if len(text) > MAX_SUMMARY:
                    self.warnings.append(
                        "the Summary section is too long for a summary: kept in the report"
                    )
                    section.leftover = content
                else:
                    record["summary"] = text
            elif section.target == "timeline":
                entries, section.leftover = self._timeline(content)
                record["timeline"] = entries
            elif section.target in _CAUSE_FIELDS:
                found, section.leftover = self._causes(content, section.target)
                causes.extend(found)
            else:
                found, section.leftover = read_action_items(content, self.warnings)
                record["remediations"] = found
        if sections:
            record["causes"] = causes
        body: list[str] = []
        position = 0
        for section in sections:
            body.extend(self.lines[position : section.start])
            leftover = "\n".join(section.leftover).strip("\n")
            if leftover.strip():
                body.extend([self.lines[section.start], "", leftover, ""])
            position = section.end
        body.extend(self.lines[position:])
        record["body"] = "\n".join(body).strip("\n")

    def _timeline(self, content: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        entries: list[dict[str, Any]] = []
        self._shift, self._previous = 0, None
        tables, rest = blocks.tables(content)
        leftover: list[str] = []
        for header, rows, source in tables:
            found = self._timeline_table(header, rows)
            if found is None:
                leftover.extend(source)
            else:
                entries.extend(found)
        items, other = blocks.items(rest)
        leftover.extend(other)
        for item in items:
            entry = self._entry(item[0], "\n".join(item[1:]))
            if entry is None:
                leftover.append("- " + "\n  ".join(item))
            else:
                entries.append(entry)
        if len(entries) > MAX_TIMELINE:
            # Refused whole, as the interchange importer refuses an over-long list: cutting
            # it would lose what the writer wrote (issue 15).
            raise InvalidRecord(
                f"the timeline has {len(entries)} entries; at most {MAX_TIMELINE} can be "
                "imported (nothing of this file was stored)"
            )
        return entries, leftover

    def _timeline_table(
        self, header: list[str], rows: list[list[str]]
    ) -> list[dict[str, Any]] | None:
        names = [normalise_heading(cell) for cell in header]
        when = next((n for n, h in enumerate(names) if re.search(r"time|when|date", h)), 0)
        what = next(
            (n for n, h in enumerate(names)
             if n != when and re.search(r"event|description|what|action|text|detail|note", h)),
            1 if when == 0 else 0,
        )  # fmt: skip
        entries = []
        for row in rows:
            if len(row) <= max(when, what):
                return None
            extra = [c for n, c in enumerate(row) if n not in (when, what) and c]
            text = " · ".join([row[what], *extra])
            entry = self._entry(f"{row[when]} {text}", "")
            if entry is None:
                return None
            entries.append(entry)
        return entries

    def _entry(self, first: str, more: str) -> dict[str, Any] | None:
        """A timeline entry from a line that starts with a time, or None (the line is not one:
        an impossible clock time, offset (+99:00) or a day past year 9999 keeps it as text)."""
        try:
            return self._timed(first, more)
        except (ValueError, OverflowError):
            return None

    def _timed(self, first: str, more: str) -> dict[str, Any] | None:
        match = _WHEN.match(first)
        if not match or not (match.group("date") or match.group("time")):
            return None
        text = (match.group("text") + ("\n" + more if more else "")).strip()
        if not text:
            return None
        hour = minute = second = 0
        if match.group("time"):
            clock = re.match(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", match.group("time"))
            assert clock is not None
            hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
            ampm = (match.group("ampm") or "").lower().replace(".", "")
            if ampm == "pm" and hour < 12:
                hour += 12
            elif ampm == "am" and hour == 12:
                hour = 0
            if hour > 23 or minute > 59 or second > 59:
                return None
        zone = self.zone
        if match.group("zone"):
            zone_text = match.group("zone").upper()
            if zone_text in ("Z", "UTC", "GMT"):
                zone = datetime.UTC
            else:
                sign = -1 if zone_text[0] == "-" else 1
                digits = zone_text[1:].replace(":", "")
                zone = datetime.timezone(
                    sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
                )
        if match.group("date"):
            try:
                day = datetime.date.fromisoformat(match.group("date"))
            except ValueError:
                return None
            moment = datetime.datetime.combine(day, datetime.time(hour, minute, second), zone)
        else:
            day = self.day + datetime.timedelta(days=self._shift)
            moment = datetime.datetime.combine(day, datetime.time(hour, minute, second), zone)
            if self._previous and _past_midnight(self._previous, moment):
                # Times went back across midnight: on the next day.
                self._shift += 1
                moment += datetime.timedelta(days=1)
        self._previous = moment
        return {"at": moment.isoformat(), "text": text}

    def _causes(self, content: list[str], kind: str) -> tuple[list[dict[str, Any]], list[str]]:
        items, other = blocks.items(content)
        if items and not any(line.strip() for line in other):
            found = [self._cause(item, kind) for item in items]
            return [c for c in found if c["description"]], []
        text = "\n".join(content).strip()
        if not text:
            return [], []
        if len(text) > MAX_CAUSE:
            self.warnings.append("a cause section is too long for one cause: kept in the report")
            return [], content
        return [{"kind": kind, "description": text, "category": None}], []

    def _cause(self, item: list[str], kind: str) -> dict[str, Any]:
        lines = list(item)
        prefix = _KIND_PREFIX.match(lines[0])
        if prefix:
            kind = _CAUSE_KINDS[prefix.group(1).lower()]
            lines[0] = lines[0][prefix.end() :]
        category = None
        if len(lines) > 1:
            last = CATEGORY_LINE.match(lines[-1].strip())
            if last:
                category = last.group(1).strip()
                category = None if category == "-" else category  # written by the export
                lines = lines[:-1]
        return {"kind": kind, "description": "\n".join(lines).strip(), "category": category}


def _past_midnight(previous: datetime.datetime, moment: datetime.datetime) -> bool:
    """Whether a time of day after `previous` in a timeline is on the next day: only when the
    clock went back from the evening (18:00 or later) to the early morning (before 06:00).
    A time a little earlier than the line above (a newest-first list, a line out of order)
    stays on its day (issue 15)."""
    return moment < previous and previous.astimezone(moment.tzinfo).hour >= 18 and moment.hour < 6


def _reference(value: Any, warnings: list[str]) -> int | None:
    """The incident id of a front matter's `reference: INC-42` (a download's), or None."""
    if value is None or value == "":
        return None
    match = re.fullmatch(r"(?:INC-)?(\d{1,18})", str(value).strip(), re.I)
    if match is None or isinstance(value, bool):
        warnings.append(f"reference {str(value)!r} is not INC-<number>: not used")
        return None
    return int(match.group(1))


def _first_line(error: Exception) -> str:
    return " ".join(str(error).split())[:200]


def _severity(value: str | int) -> Any:
    text = str(value).strip().upper().replace(" ", "").replace("-", "")
    match = re.fullmatch(r"(?:SEV)?([1-4])", text)
    return f"SEV{match.group(1)}" if match else value


def read_postmortem(text: str, *, name: str, key: str) -> tuple[dict[str, Any], list[str]]:
    """A Markdown postmortem as a raw interchange record (for `parse_record`) and warnings.

    `name` is the file's name (a date in it can give the start time, its stem the title);
    `key` is the `external_id` used when the front matter gives none (the importer passes
    the file's path). InvalidRecord when the file has no start time or unreadable front
    matter. The sections mapped are listed in the module docstring.
    """
    record, warnings, _ = read_postmortem_file(text, name=name, key=key)
    if isinstance(record.get("remediations"), list):
        record["remediations"] = tell_alike_apart(record["remediations"], [], warnings)
    return record, warnings


def read_postmortem_file(
    text: str, *, name: str, key: str
) -> tuple[dict[str, Any], list[str], int | None]:
    """`read_postmortem`, and the incident id its front matter's `reference` names (a file
    downloaded from `/incidents/<id>.md` of an incident without an external_id), or None.
    Action items of one title are left as read: pass them to `tell_alike_apart` with the
    stored incident's remediations."""
    reader = _Reader(text, name, key)
    record = reader.record()
    return record, reader.warnings, reader.reference
