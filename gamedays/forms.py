"""The game-day pages' forms: the plan (a game day with its scenarios), a scenario's outcome,
and closing. Fields only parse what the browser sends; every rule is the one validator's
(`gamedays.records.clean_game_day`), so the pages refuse what the API refuses, in its words."""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.http import QueryDict

from common.forms import DateTimeLocalInput, VersionField, id_of, people, unix_newlines
from common.people import people_named, refused
from common.validation import Errors, render_path, sentence
from gamedays.models import Environment, GameDay, Outcome
from gamedays.records import MAX_PARTICIPANTS, MAX_SCENARIOS
from incidents.models import FailureCategory, sees_every_incident
from remediations.models import Remediation

# The scenario fields typed on the plan; outcome, observations and when it ran are recorded
# while it runs (`OutcomeForm`) and kept from the stored scenario.
PLANNED_FIELDS = (
    "title", "category", "injection", "hypothesis", "abort_conditions", "rollback_plan",
)  # fmt: skip


class ListWidget(forms.MultipleHiddenInput):
    """Every value the browser sent under one name: the pages write these inputs by hand (a
    participant per input, a checkbox per fix)."""


class ParseOnly(forms.Form):
    """Fields that only parse: no length or NUL checks of their own, so the one validator
    words every refusal (as reports.forms.ParseOnly does for incidents)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            if isinstance(field, forms.CharField):
                field.validators = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        return {name: unix_newlines(value) for name, value in cleaned.items()}


class TextList(forms.Field):
    """Strings as sent, blanks dropped."""

    widget = ListWidget

    def to_python(self, value: Any) -> list[str]:
        return [unix_newlines(str(v)) for v in value or [] if str(v).strip()]


class IdList(forms.Field):
    """Ids as sent: digits become numbers; anything else is kept for the validator to refuse."""

    widget = ListWidget

    def to_python(self, value: Any) -> list[Any]:
        sent = [v for v in value or [] if str(v).strip()]
        return [pk if (pk := id_of(v)) is not None else v for v in sent]


class GameDayForm(ParseOnly):
    version = VersionField()
    title = forms.CharField(widget=forms.TextInput(attrs={"required": True}))
    scheduled_at = forms.DateTimeField(
        label="When (UTC)", widget=DateTimeLocalInput(attrs={"required": True})
    )
    environment = forms.ChoiceField(choices=Environment.choices, initial=Environment.STAGING)
    facilitator = forms.CharField(
        widget=forms.TextInput(attrs={"list": "people", "autocomplete": "off"})
    )
    participants = TextList()
    plan = forms.CharField(
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "class": "markdown-source"}),
        help_text="Markdown: the goal, who does what, how you talk to each other, when you stop.",
    )
    notes = forms.CharField(
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "markdown-source"}),
        help_text="Markdown: what you learned.",
    )

    # The people the stored game day names, taken even if they have left (PersonField.keeps).
    keeps: frozenset[str] = frozenset()

    def clean(self) -> dict[str, Any]:
        """Every person is named as on the other forms (common.forms.PersonField): an active
        user's name, case aside, or one the game day already names (`keeps`); an unknown one
        is refused in the same words, kept as typed."""
        cleaned = super().clean()
        facilitator = (cleaned.get("facilitator") or "").strip()
        participants = [n.strip() for n in cleaned.get("participants") or []]
        known = people_named([facilitator, *participants], active_only=True)
        known.update({n: n for n in [facilitator, *participants] if n.lower() in self.keeps})
        if facilitator and facilitator not in known:
            self.add_error("facilitator", refused(facilitator))
        for name in dict.fromkeys(participants):
            if name and name not in known:
                self.add_error("participants", refused(name))
        return cleaned


def _lines(rows: int = 2) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class ScenarioForm(ParseOnly):
    id = forms.IntegerField(widget=forms.HiddenInput)
    title = forms.CharField(help_text="Optional: what it is called on the day.")
    category = forms.CharField(label="Failure mode")
    services_text = forms.CharField(
        label="Services", help_text="Separated by commas: etcd, EBS. New names are added."
    )
    injection = forms.CharField(label="What is injected", strip=False, widget=_lines(2))
    hypothesis = forms.CharField(
        label="Steady-state hypothesis", strip=False, widget=_lines(2),
        help_text="What must keep working while the failure is injected.",
    )  # fmt: skip
    abort_conditions = forms.CharField(strip=False, widget=_lines(2))
    rollback_plan = forms.CharField(strip=False, widget=_lines(2))
    verifies = IdList(label="Fixes it verifies")


# absolute_max a little above the limit: the validator, not the formset, words the refusal.
ScenarioFormSet = forms.formset_factory(
    ScenarioForm, extra=0, can_delete=True, max_num=MAX_SCENARIOS, absolute_max=MAX_SCENARIOS + 50
)


def canonical_path(typed: str | None) -> str | None:
    """A typed failure mode as the tree spells it ("control plane > ETCD" → "Control plane >
    etcd"), so the fixes it offers and the fixes the write path accepts are the same."""
    if not typed:
        return typed
    spaced = " > ".join(part.strip() for part in typed.split(">") if part.strip())
    found = FailureCategory.objects.filter(path__iexact=spaced).values_list("path", flat=True)
    return next(iter(found), spaced)


class GameDayEditor:
    """The plan form: a game day with its scenarios, as one record.

    `record(base)` turns what was typed into a record for the one validator; `show(errors)`
    puts its messages beside the fields they are about (`scenarios[2].verifies[1]` beside the
    third scenario's fixes); `bound_to(record)` makes the forms again from a record.
    """

    def __init__(
        self,
        game_day: GameDay,
        data: QueryDict | None = None,
        *,
        initial: dict[str, Any] | None = None,
        scenarios: list[dict[str, Any]] | None = None,
        hidden: set[int] | None = None,
        user: Any = None,
    ) -> None:
        self.game_day = game_day
        self.user = user  # who edits: the fixes offered are those they may see
        # Scenarios hidden from the editor (linked to a restricted incident): never shown.
        self.hidden = hidden or set()
        if data is None and game_day.pk:
            initial, scenarios = _initial(game_day, self.hidden)
        self.form = GameDayForm(data, initial=initial or {})
        if data is not None and game_day.pk:
            named = [game_day.facilitator, *game_day.participants.all()]
            self.form.keeps = frozenset(u.get_username().lower() for u in named if u)
        # A plan without scenarios shows one row to fill in.
        self.scenarios = ScenarioFormSet(data, initial=scenarios or [{}], prefix="scenarios")

    def is_valid(self) -> bool:
        return self.form.is_valid() and self.scenarios.is_valid()

    def rows(self) -> list[forms.Form]:
        """The scenario rows that say something: neither deleted nor left blank."""
        return [
            f for f in self.scenarios.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
            and any(f.cleaned_data.get(k) for k in (*PLANNED_FIELDS, "services_text", "id"))
        ]  # fmt: skip

    def record(self, base: dict[str, Any]) -> dict[str, Any]:
        """What was typed, over `base` (the stored record, for what the page doesn't show)."""
        data = self.form.cleaned_data
        raw = dict(base)
        raw.setdefault("status", "planned")
        for name in ("title", "scheduled_at", "environment", "facilitator", "plan"):
            raw[name] = data.get(name)
        if "notes" in self.form.data or not base:
            raw["notes"] = data.get("notes") or ""
        raw["participants"] = data.get("participants") or []
        stored = {s["id"]: s for s in base.get("scenarios", [])}
        raw["scenarios"] = []
        for f in self.rows():
            typed = f.cleaned_data
            item: dict[str, Any] = dict(stored.get(typed.get("id"), {}))
            item["id"] = typed.get("id")
            for name in PLANNED_FIELDS:
                item[name] = typed.get(name)
            item["category"] = canonical_path(typed.get("category"))
            item["services"] = [
                n.strip() for n in (typed.get("services_text") or "").split(",") if n.strip()
            ]
            item["verifies"] = typed.get("verifies") or []
            raw["scenarios"].append(item)
        return raw

    def show(self, errors: Errors) -> None:
        """Put each of the validator's messages beside the field it is about."""
        fields = {"services": "services_text"}
        rows = self.rows()
        for path, text in errors.items:
            message = sentence(text)
            head = path[0] if path else None
            at_row = len(path) >= 2 and isinstance(path[1], int) and path[1] < len(rows)
            if head == "scenarios" and at_row:
                row = rows[int(path[1])]
                name = fields.get(str(path[2]), str(path[2])) if len(path) > 2 else None
                if name in row.fields and name != "id":
                    row.add_error(name, message)  # verifies[1] too: beside the fixes
                else:
                    row.add_error(None, message)
                continue
            if head in self.form.fields:
                self.form.add_error(str(head), message)
            else:
                self.form.add_error(None, f"{render_path(path)}: {message}")

    @property
    def error_count(self) -> int:
        return len(self.form.errors) + sum(len(f.errors) for f in self.scenarios.forms)

    @classmethod
    def bound_to(
        cls, game_day: GameDay, data: QueryDict, *, version: int, added: list[dict[str, Any]],
        gone: set[int], hidden: set[int] | None = None, user: Any = None,
    ) -> GameDayEditor:  # fmt: skip
        """What the editor sent, based on `version` now (the conflict page): scenarios others
        `added` meanwhile are appended so saving keeps them; rows of scenarios others removed
        (`gone`) become new ones, keeping their text."""
        data = data.copy()
        data["version"] = str(version)
        total = int(data.get("scenarios-TOTAL_FORMS") or 0)
        for n in range(total):
            if id_of(data.get(f"scenarios-{n}-id")) in gone:
                data[f"scenarios-{n}-id"] = ""
        for n, item in enumerate(added, start=total):
            for key, value in _row(item).items():
                if isinstance(value, list):
                    data.setlist(f"scenarios-{n}-{key}", value)
                else:
                    data[f"scenarios-{n}-{key}"] = value
        data["scenarios-TOTAL_FORMS"] = str(total + len(added))
        return cls(game_day, data, hidden=hidden, user=user)

    def context(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "scenarios": self.scenarios,
            "people": people(),  # every owner input's suggestions (common/_people.html)
            "category_paths": list(
                FailureCategory.objects.visible_to(self.user).values_list("path", flat=True)
            ),
            "participants": self._participants(),
            "max_participants": MAX_PARTICIPANTS,
            "rows": [
                (f, offered_fixes(f, self.user), self._stored(f)) for f in self.scenarios.forms
            ],
        }

    def _stored(self, form: forms.Form) -> Any:
        """The stored scenario a row edits, for its result (kept, not typed here)."""
        if not self.game_day.pk:
            return None
        if not hasattr(self, "_scenarios"):
            self._scenarios = {
                s.pk: s for s in self.game_day.scenarios.all() if s.pk not in self.hidden
            }
        pk = id_of(_value(form, "id"))
        return self._scenarios.get(pk) if pk is not None else None

    def _participants(self) -> list[str]:
        if isinstance(self.form.data, QueryDict):
            return list(self.form.data.getlist("participants"))
        return list(self.form.initial.get("participants") or [])


def _row(item: dict[str, Any]) -> dict[str, Any]:
    """A scenario record as its plan row sends it."""
    return {
        "id": str(item["id"] or ""),
        **{name: item.get(name) or "" for name in PLANNED_FIELDS},
        "services_text": ", ".join(item.get("services") or []),
        "verifies": [str(pk) for pk in item.get("verifies") or []],
    }


def _initial(game_day: GameDay, hidden: set[int]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from gamedays.actions import game_day_record_of, without_scenarios

    record = without_scenarios(game_day_record_of(game_day), hidden)
    initial = {name: record[name] for name in (
        "title", "scheduled_at", "environment", "facilitator", "participants", "plan", "notes",
    )}  # fmt: skip
    initial["version"] = game_day.version
    scenarios = [
        {
            "id": s["id"],
            **{name: s[name] for name in PLANNED_FIELDS},
            "services_text": ", ".join(s["services"]),
            "verifies": s["verifies"],
        }
        for s in record["scenarios"]
    ]
    return initial, scenarios


def _value(form: forms.Form, name: str) -> Any:
    return form[name].value()


def checked_ids(form: forms.Form) -> list[int]:
    values = _value(form, "verifies") or []
    return [pk for pk in map(id_of, values) if pk is not None]


def offered_fixes(form: forms.Form, user: Any) -> dict[str, Any]:
    """What a scenario row offers to verify (see `fixes_for`)."""
    return fixes_for(_value(form, "category") or "", checked_ids(form), user)


def fixes_for(typed_path: str, checked: list[int], user: Any) -> dict[str, Any]:
    """The done fixes a scenario on `typed_path` can verify, unverified first
    (`gamedays.actions.covering_fixes`), with those checked; fixes still checked that don't
    cover it (the mode changed), to uncheck; and, as a planning aid, fixes awaiting
    verification below the mode, which a narrower scenario would verify. Only fixes `user`
    may see are named."""
    from gamedays.actions import covering_fixes

    visible = Remediation.objects.visible_to(user)

    path = canonical_path(typed_path.strip()) or ""
    offered: list[Remediation] = []
    below: list[Remediation] = []
    if path:
        category = FailureCategory.objects.filter(path=path).first() or FailureCategory(path=path)
        offered = covering_fixes(category)
        if not sees_every_incident(user):
            shown = set(visible.filter(pk__in=[r.pk for r in offered]).values_list("pk", flat=True))
            offered = [r for r in offered if r.pk in shown]
        below = list(
            visible.filter(
                category__path__istartswith=f"{path} > ", status="done", effectiveness="unverified"
            ).select_related("category").order_by("done_at", "pk")[:5]
        )  # fmt: skip
    ids = {r.pk for r in offered}
    stray = [r for r in visible.filter(pk__in=set(checked) - ids).select_related("category")]
    return {
        "path": path,
        "offered": [(r, r.pk in checked) for r in offered],
        "stray": stray,
        "below": below,
        "awaiting": sum(1 for r in offered if r.effectiveness == "unverified"),
    }


class OutcomeForm(ParseOnly):
    """How a scenario went, recorded as it happens: the outcome is the button pressed."""

    outcome = forms.ChoiceField(
        choices=[(v, label) for v, label in Outcome.choices if v != Outcome.PENDING]
    )
    observations = forms.CharField(strip=False, widget=forms.Textarea(attrs={"rows": 3}))
    ran_at = forms.DateTimeField(
        label="Ran at (UTC)", widget=DateTimeLocalInput(),
        help_text="Empty: when you press the button.",
    )  # fmt: skip
    seen = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].required = True
        self.fields["outcome"].error_messages["required"] = (
            "Choose how it went: press Held, Failed or Aborted."
        )


def fingerprint(outcome: str, observations: str) -> str:
    """What a writer last saw of a scenario's result, in a hidden field: a change meanwhile
    (by someone else) makes it differ."""
    text = f"{outcome}\0{unix_newlines(observations)}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class CloseForm(ParseOnly):
    version = VersionField()
    notes = forms.CharField(
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "class": "markdown-source"}),
        help_text="Markdown: what you learned, what to do next.",
    )
