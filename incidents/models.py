from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, Exists, F, Func, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Concat, Lower
from django.db.models.lookups import Exact
from django.urls import reverse
from simple_history.models import HistoricalRecords

from common import dates
from common.concurrency import VersionedModel
from common.middleware import request_memo

# Category paths are names joined by this separator: "Control plane > etcd".
PATH_SEPARATOR = " > "


class FailureCategoryQuerySet(models.QuerySet["FailureCategory"]):
    def subtree(self, category: FailureCategory) -> FailureCategoryQuerySet:
        """The category and every category below it."""
        return self.filter(
            Q(path=category.path) | Q(path__startswith=category.path + PATH_SEPARATOR)
        )

    def visible_to(self, user: Any) -> FailureCategoryQuerySet:
        """The categories `user` may see (PRODUCT.md, "Who may see and change what").

        A category's name may be a word of a restricted report: a category is hidden from
        `user` when it, or a category above it, is a branch that only things hidden from them
        use — incidents classified in it or below it (directly or through a cause), and their
        remediations, scenarios and flags — and nothing visible to them uses. A category
        nothing uses at all (made empty on purpose) stays visible, unless a branch above it is
        hidden. The system (None) and superusers see every category. Costs two small
        queries on the few categories restricted incidents use, made now (none for the
        system and superusers); the result is a plain filter on `path`.
        """
        branches = _hidden_branches(user)
        return self.exclude(_in_branches(branches)) if branches else self

    def hidden_from(self, user: Any) -> FailureCategoryQuerySet:
        """The complement of `visible_to`: the categories whose names `user` must not meet."""
        branches = _hidden_branches(user)
        return self.filter(_in_branches(branches)) if branches else self.none()

    def with_incident_counts(self, user: Any) -> FailureCategoryQuerySet:
        """Each category annotated with `incident_count`: the incidents `user` may see that are
        classified in it or below it, directly or through a cause, each counted once.

        The one definition of "a failure mode's incidents" (issue 16, item 1): the same set as
        `Incident.objects.originals(user).in_category`, which the category page lists, so the
        tree, the sorted standings and the page agree (duplicates are not counted). One
        correlated subquery per row, no N+1.
        Only the categories `user` may see (`visible_to`) are listed.
        """

        # Paths are compared as "is this path, or starts with it and the separator".
        def inside(field: str) -> Q:
            outer = OuterRef(OuterRef("path"))
            return Q(**{field: outer}) | Q(
                **{f"{field}__startswith": Concat(outer, Value(PATH_SEPARATOR))}
            )

        direct = Incident.categories.through.objects.filter(inside("failurecategory__path"))
        through_causes = Cause.objects.filter(inside("category__path"))
        counted = (
            Incident.objects.visible_to(user)
            .originals(user)  # a duplicate of an original they see is counted as it
            .filter(
                Q(pk__in=direct.values("incident_id"))
                | Q(pk__in=through_causes.values("incident_id"))
            )
            .order_by()
            .annotate(one=Value(1))
            .values("one")
            .annotate(n=Func(F("pk"), function="COUNT"))
            .values("n")
        )
        return self.visible_to(user).annotate(incident_count=Coalesce(Subquery(counted), 0))

    def ancestors_of(self, category: FailureCategory) -> FailureCategoryQuerySet:
        """The category and every category above it (the ones whose remediations cover it)."""
        parts = category.path.split(PATH_SEPARATOR)
        paths = [PATH_SEPARATOR.join(parts[: i + 1]) for i in range(len(parts))]
        return self.filter(path__in=paths)


def _in_branches(paths: list[str]) -> Q:
    """The categories at or below any of `paths`."""
    found = Q(path__in=paths)
    for path in paths:
        found |= Q(path__startswith=path + PATH_SEPARATOR)
    return found


def _hidden_branches(user: Any) -> list[str]:
    """Paths of the topmost categories hidden from `user` (see `visible_to`): those whose
    branch something hidden from `user` uses and nothing visible to them does. Two small
    queries: the paths restricted incidents use, then those of them and of their ancestors
    that nothing visible uses (none for the system and superusers; one when no restricted
    incident uses a category)."""
    if sees_every_incident(user) or hides_nothing_known(user):
        return []
    memo = request_memo()  # a read-only request asks this once per user
    key = ("hidden_branches", getattr(user, "pk", None))
    if memo is not None and key in memo:
        return list(memo[key])
    found = _work_out_hidden_branches(user)
    if memo is not None:
        memo[key] = tuple(found)
    return found


def _work_out_hidden_branches(user: Any) -> list[str]:
    """`_hidden_branches`, worked out from the database (two queries)."""
    # An incident's parts (its remediations, flags and scenarios) share its visibility
    # (PRODUCT.md); their apps build on incidents, so they are looked up in the app registry,
    # never imported: dependencies run one way (tests/test_dependencies.py).
    Scenario = apps.get_model("gamedays", "Scenario")  # noqa: N806  (a model class)
    RecurrenceFlag = apps.get_model("remediations", "RecurrenceFlag")  # noqa: N806
    Remediation = apps.get_model("remediations", "Remediation")  # noqa: N806

    hidden = Incident.objects.hidden_from(user).values("pk")
    through = Incident.categories.through.objects
    hidden_remediations = Remediation.objects.filter(
        Q(incident__in=hidden) | Q(scenario__incidents__in=hidden)
    )
    used = (
        Q(pk__in=through.filter(incident__in=hidden).values("failurecategory_id"))
        | Q(pk__in=Cause.objects.filter(incident__in=hidden).values("category_id"))
        | Q(pk__in=hidden_remediations.values("category_id"))
        | Q(pk__in=Scenario.objects.hidden_from(user).values("category_id"))
        | Q(pk__in=RecurrenceFlag.objects.filter(incident__in=hidden).values("category_id"))
    )

    def inside(field: str) -> Q:
        """`field` (a path) is the outer category's path or below it."""
        return Q(**{field: OuterRef("path")}) | Q(
            **{f"{field}__startswith": Concat(OuterRef("path"), Value(PATH_SEPARATOR))}
        )

    # A candidate is at or above a category something hidden uses (a few per such use): the
    # second query then looks at these few rows only, whatever the size of the tree...
    used_paths = FailureCategory.objects.filter(used).values_list("path", flat=True)
    candidates = {
        PATH_SEPARATOR.join(parts[: i + 1])
        for parts in (path.split(PATH_SEPARATOR) for path in used_paths)
        for i in range(len(parts))
    }
    if not candidates:
        return []
    # ... and is hidden when nothing visible uses it or what is below it.
    seen = (
        Exists(through.filter(inside("failurecategory__path")).exclude(incident__in=hidden))
        | Exists(Cause.objects.filter(inside("category__path")).exclude(incident__in=hidden))
        | Exists(Remediation.objects.visible_to(user).filter(inside("category__path")))
        | Exists(Scenario.objects.visible_to(user).filter(inside("category__path")))
        | Exists(RecurrenceFlag.objects.visible_to(user).filter(inside("category__path")))
    )
    branches = sorted(
        FailureCategory.objects.filter(path__in=candidates)
        .exclude(seen)
        .values_list("path", flat=True)
    )
    # Only the topmost: what is below a hidden branch is hidden with it.
    return [
        path
        for path in branches
        if not any(path.startswith(top + PATH_SEPARATOR) for top in branches)
    ]


class FailureCategory(VersionedModel):
    """A failure mode: one node of the tree, e.g. "Containers don't start > IAM permissions"."""

    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Derived from the names of the category and its ancestors; kept by incidents.actions.
    # Stored so that "this category and everything below it" is one indexed prefix match.
    path = models.CharField(max_length=500, editable=False)
    # Stable after creation, so links to a category survive renames and moves.
    slug = models.SlugField(max_length=120, editable=False)
    description = models.TextField(blank=True, help_text="Markdown.")
    # Tells the periodic reconciliation which categories moved since its last run.
    updated_at = models.DateTimeField(auto_now=True)

    objects = FailureCategoryQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name_plural = "failure categories"
        constraints = [
            models.UniqueConstraint(fields=["path"], name="unique_category_path"),
            models.UniqueConstraint(fields=["slug"], name="unique_category_slug"),
            models.CheckConstraint(
                condition=~Q(name__contains=PATH_SEPARATOR.strip()),
                name="category_name_has_no_path_separator",
                violation_error_message="A category name cannot contain “>”.",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="category_name_not_empty"),
            models.CheckConstraint(
                condition=~Q(parent=F("id")), name="category_not_its_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.path

    def get_absolute_url(self) -> str:
        return reverse("category_detail", args=[self.slug])

    @property
    def depth(self) -> int:
        return self.path.count(PATH_SEPARATOR)

    def descendants(self) -> FailureCategoryQuerySet:
        """The category and every category below it."""
        return FailureCategory.objects.subtree(self)

    def clean(self) -> None:
        if PATH_SEPARATOR.strip() in self.name:
            raise ValidationError({"name": "A category name cannot contain “>”."})
        if self.parent_id and self.pk and self.descendants().filter(pk=self.parent_id).exists():
            raise ValidationError(
                {"parent": "A category can't be moved below itself or one of its sub-categories."}
            )


def same_name(name: str, field: str = "name") -> Exact:
    """`field` is `name` ignoring case as the unique constraints of service names and aliases
    read case: LOWER of both sides. Django's `iexact` compares UPPER, which tells "İstio" from
    "istio" (or the Kelvin sign "K" from "k") though LOWER makes them one name, so a lookup
    by `iexact` misses the name the constraint then refuses. A filter, usable in Q."""
    return Exact(Lower(field), Lower(Value(name)))


class ServiceQuerySet(models.QuerySet["Service"]):
    def visible_to(self, user: Any) -> ServiceQuerySet:
        """The services `user` may see (PRODUCT.md, "Who may see and change what"): a service
        only things hidden from `user` name (incidents, game-day scenarios) is hidden, as its
        name may be a word of a restricted report; one nothing names stays visible. The
        system (None) and superusers see every service. A filter, no extra query."""
        if sees_every_incident(user) or hides_nothing_known(user):
            return self
        return self.exclude(_service_hidden(user))

    def hidden_from(self, user: Any) -> ServiceQuerySet:
        """The complement of `visible_to`."""
        if sees_every_incident(user) or hides_nothing_known(user):
            return self.none()
        return self.filter(_service_hidden(user))


def _service_hidden(user: Any) -> Q:
    """A service something hidden from `user` names and nothing visible to them does."""
    # Game days build on incidents: their model comes from the app registry (see above).
    Scenario = apps.get_model("gamedays", "Scenario")  # noqa: N806  (a model class)

    hidden = Incident.objects.hidden_from(user).values("pk")
    named = Incident.services.through.objects.filter(service=OuterRef("pk"))
    in_scenarios = Scenario.services.through.objects.filter(service=OuterRef("pk"))
    hidden_scenarios = Scenario.objects.hidden_from(user).values("pk")
    # "A link to an incident not hidden" as NOT EXISTS, not NOT IN: PostgreSQL then stops at
    # each service's first such link, where NOT IN hashed every link of every service (100,000
    # at 100,000 incidents: most of /services/'s time).
    shown = ~Exists(Incident.objects.hidden_from(user).filter(pk=OuterRef("incident_id")))
    return (
        Q(Exists(named.filter(incident__in=hidden)))
        | Q(Exists(in_scenarios.filter(scenario__in=hidden_scenarios)))
    ) & ~Q(
        Exists(named.filter(shown)) | Exists(in_scenarios.exclude(scenario__in=hidden_scenarios))
    )


class Service(VersionedModel):
    """An affected system or component: etcd, Envoy, EBS, the Kubernetes API server."""

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    # What it is, what it depends on, its limits, links to runbooks (PRODUCT.md, "Service").
    design_notes = models.TextField(blank=True, help_text="Markdown.")

    history = HistoricalRecords()

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = [Lower("name")]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="unique_service_name_ci"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("service_detail", args=[self.pk])


class ServiceAlias(models.Model):
    """A name merged into a service: the old name (and the old page) still lead to it."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=100)
    # The id the merged service had, so its old page redirects; NULL for a plain alias.
    former_id = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = [Lower("name")]
        verbose_name_plural = "service aliases"
        constraints = [
            models.UniqueConstraint(Lower("name"), name="unique_service_alias_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.service_id}"


class Severity(models.TextChoices):
    SEV1 = "SEV1", "SEV1 — critical"
    SEV2 = "SEV2", "SEV2 — major"
    SEV3 = "SEV3", "SEV3 — minor"
    SEV4 = "SEV4", "SEV4 — low"


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    RESOLVED = "resolved", "Resolved"
    REVIEWED = "reviewed", "Reviewed"


class Visibility(models.TextChoices):
    EVERYONE = "everyone", "Everyone"
    RESTRICTED = "restricted", "Restricted to its access groups"


class IncidentQuerySet(models.QuerySet["Incident"]):
    def visible_to(self, user: Any) -> IncidentQuerySet:
        """The incidents `user` may see (PRODUCT.md, "Who may see and change what").

        An incident is visible when it is for everyone, or `user` is its author, a member of
        one of its access groups, or a superuser. `None` is the system (imports, tasks): it
        sees everything. Every read of incidents, and of what belongs to them, goes through
        this method or `hidden_from`.
        """
        if user is None or getattr(user, "is_superuser", False):
            return self
        if not getattr(user, "is_authenticated", False):
            return self.filter(visibility=Visibility.EVERYONE)
        return self.filter(
            Q(visibility=Visibility.EVERYONE) | Q(author_id=user.pk) | Q(pk__in=_group_grants(user))
        )

    def hidden_from(self, user: Any) -> IncidentQuerySet:
        """The restricted incidents `user` may not see: the complement of `visible_to`.

        Small (restricted incidents are few), so a filter on a related record reads
        `.exclude(incident__in=Incident.objects.hidden_from(user).values("pk"))` — Django keeps
        the rows whose incident is NULL.
        """
        restricted = self.filter(visibility=Visibility.RESTRICTED)
        if user is None or getattr(user, "is_superuser", False):
            return restricted.none()
        if not getattr(user, "is_authenticated", False):
            return restricted
        return restricted.exclude(author_id=user.pk).exclude(pk__in=_group_grants(user))

    def in_category(self, category: FailureCategory) -> IncidentQuerySet:
        """Incidents classified in the category or below it, directly or through a cause."""
        subtree = FailureCategory.objects.subtree(category)
        direct = Incident.categories.through.objects.filter(failurecategory__in=subtree)
        through_causes = Cause.objects.filter(category__in=subtree)
        return self.filter(
            Q(id__in=direct.values("incident_id")) | Q(id__in=through_causes.values("incident_id"))
        )

    def originals(self, user: Any) -> IncidentQuerySet:
        """Leaves out the incidents marked as a duplicate of an original `user` may see: lists,
        search, counts and the review agenda show the original only (PRODUCT.md, "Writing,
        duplicates and importing Markdown").

        A duplicate of an original hidden from `user` stays: for them it is an incident like
        any other (listed, counted, found, its page shown without a redirect), since the
        original it "moved to" does not exist for them (PRODUCT.md, "Who may see and change
        what"). `user` None is the system, which sees every original. A plain filter (the
        hidden originals are a subquery), no extra query.
        """
        if sees_every_incident(user):
            return self.filter(duplicate_of__isnull=True)
        hidden = Incident.objects.hidden_from(user).values("pk")
        return self.filter(Q(duplicate_of__isnull=True) | Q(duplicate_of__in=hidden))

    def merged_for(self, user: Any) -> IncidentQuerySet:
        """The complement of `originals(user)`: the duplicates whose original `user` may see
        (those that leave their lists and search)."""
        duplicates = self.filter(duplicate_of__isnull=False)
        if sees_every_incident(user):
            return duplicates
        return duplicates.exclude(duplicate_of__in=Incident.objects.hidden_from(user).values("pk"))

    def with_shown_original(self, user: Any) -> IncidentQuerySet:
        """Annotated with `shown_original`: `duplicate_of_id` when `user` may see that
        original, else None (read it through `shown_original`). One subquery, no N+1."""
        if sees_every_incident(user):
            return self.annotate(shown_original=F("duplicate_of_id"))
        hidden = Incident.objects.hidden_from(user).filter(pk=OuterRef("duplicate_of_id"))
        return self.annotate(
            shown_original=Case(
                When(Exists(hidden), then=Value(None)),
                default=F("duplicate_of_id"),
                output_field=models.IntegerField(),
            )
        )

    def for_list(self) -> IncidentQuerySet:
        """What list pages show, in a fixed number of queries."""
        return self.select_related("author").prefetch_related("categories", "services")


def shown_original(incident: Incident, user: Any) -> int | None:
    """The id of the original `incident` is a duplicate of, as `user` may know it: None when it
    is not a duplicate, or when that original is hidden from `user` (a restricted incident
    exists only for those who may see it: PRODUCT.md, "Who may see and change what"; its id
    is not told). Reads the `shown_original` annotation (`with_shown_original`) when the
    incident was loaded with it, else asks the database once.
    """
    if incident.duplicate_of_id is None:
        return None
    if "shown_original" in incident.__dict__:  # loaded with `with_shown_original`
        annotated: int | None = incident.__dict__["shown_original"]
        return annotated
    if sees_every_incident(user):
        return incident.duplicate_of_id
    hidden = Incident.objects.hidden_from(user).filter(pk=incident.duplicate_of_id).exists()
    return None if hidden else incident.duplicate_of_id


def sees_every_incident(user: Any) -> bool:
    """The system (None) and superusers see every incident: a read for them needs no filter."""
    return user is None or bool(getattr(user, "is_superuser", False))


def hidden_incident_ids(user: Any) -> list[int]:
    """The ids of the incidents `user` may not see, ascending: one small query (restricted
    incidents are few), none for the system and superusers.

    Kept in the read-only request's memo (`common.middleware.request_memo`), where
    `hides_nothing_known` reads it: a search asks this first, and when nothing is hidden from
    `user`, the rules for failure modes and services need no query building at all.
    """
    if sees_every_incident(user):
        return []
    memo = request_memo()
    key = ("hidden_incidents", getattr(user, "pk", None))
    if memo is not None and key in memo:
        return list(memo[key])
    ids = sorted(Incident.objects.hidden_from(user).values_list("pk", flat=True))
    remember_hidden_incidents(user, ids)
    return ids


def remember_hidden_incidents(user: Any, ids: list[int]) -> None:
    """Keep `ids`, every incident hidden from `user` worked out by a caller's own query, as
    `hidden_incident_ids`' answer for the rest of the read-only request (none kept outside one)."""
    memo = request_memo()
    if memo is not None and not sees_every_incident(user):
        memo[("hidden_incidents", getattr(user, "pk", None))] = tuple(sorted(ids))


def hides_nothing_known(user: Any) -> bool:
    """Whether this read-only request already found that no incident is hidden from `user`
    (`hidden_incident_ids`). Everything else that may be hidden — failure modes, services,
    remediations, scenarios, flags — is hidden because of a hidden incident (PRODUCT.md, "Who
    may see and change what"), so then nothing is. False when not known: no query is made."""
    memo = request_memo()
    return memo is not None and memo.get(("hidden_incidents", getattr(user, "pk", None))) == ()


def _group_grants(user: Any) -> models.QuerySet[Any]:
    """Ids of the incidents one of `user`'s groups is given access to (a subquery)."""
    return Incident.access_groups.through.objects.filter(group__user=user.pk).values("incident_id")


class PartsSnapshot(models.Model):
    """What an incident's history record adds: its parts at that version (actions.parts_of)."""

    # Categories, services, causes and timeline as JSON; NULL for versions saved before parts
    # were kept, whose parts are unknown.
    parts = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class Incident(VersionedModel):
    """Something that went wrong, with its report, classification, causes and timeline."""

    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, help_text="One or two sentences: what happened.")
    body = models.TextField(blank=True, help_text="The report, in Markdown.")
    severity = models.CharField(max_length=4, choices=Severity.choices, default=Severity.SEV3)
    status = models.CharField(
        max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING
    )
    started_at = models.DateTimeField()
    detected_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    categories = models.ManyToManyField(FailureCategory, blank=True, related_name="incidents")
    services = models.ManyToManyField(Service, blank=True, related_name="incidents")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="incidents_authored",
    )  # fmt: skip
    # The incident's identifier in the system it was imported from; import is idempotent on it.
    # NULL, not "", for "none": the unique constraint must allow many incidents without one.
    external_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    source_url = models.URLField(max_length=500, blank=True)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.EVERYONE
    )
    # Who besides the author (and superusers) sees a restricted incident; unused otherwise.
    access_groups = models.ManyToManyField(
        "auth.Group", blank=True, related_name="restricted_incidents"
    )
    # The original this incident repeats ("Mark as duplicate of…"); always a root: an original
    # is never itself a duplicate (incidents.records.clean_duplicate_of). Part of the version.
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"], bases=[PartsSnapshot])
    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["-started_at", "-id"], name="incident_started_idx"),
            # The weekly review: resolved incidents still waiting for their review, oldest first.
            models.Index(fields=["status", "started_at"], name="incident_status_started_idx"),
            # hidden_from(user), read by every search: restricted incidents are few, and found
            # here without reading the table (a scan of 100,000 incidents costs more than the
            # search itself).
            models.Index(
                fields=["id"],
                condition=Q(visibility=Visibility.RESTRICTED),
                name="incident_restricted_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["external_id"], name="unique_incident_external_id"),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="incident_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=IncidentStatus.values), name="incident_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(visibility__in=Visibility.values), name="incident_visibility_valid"
            ),
            models.CheckConstraint(
                condition=~Q(duplicate_of=F("id")), name="incident_not_duplicate_of_itself"
            ),
            models.CheckConstraint(
                condition=Q(detected_at__isnull=True) | Q(detected_at__gte=F("started_at")),
                name="incident_detected_not_before_started",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("started_at")),
                name="incident_resolved_not_before_started",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True)
                | Q(detected_at__isnull=True)
                | Q(resolved_at__gte=F("detected_at")),
                name="incident_resolved_not_before_detected",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        """The permanent, human reference: INC-42."""
        return f"INC-{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("incident_detail", args=[self.pk])

    def is_visible_to(self, user: Any) -> bool:
        """The one-incident form of `IncidentQuerySet.visible_to` (one query at most)."""
        if self.visibility == Visibility.EVERYONE or user is None:
            return True
        if getattr(user, "is_superuser", False):
            return True
        if not getattr(user, "is_authenticated", False):
            return False
        if self.author_id == user.pk:
            return True
        return self.access_groups.filter(user=user.pk).exists()

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.started_at and self.detected_at and self.detected_at < self.started_at:
            errors["detected_at"] = "An incident can't be detected before it started."
        if self.started_at and self.resolved_at and self.resolved_at < self.started_at:
            errors["resolved_at"] = "An incident can't be resolved before it started."
        elif self.detected_at and self.resolved_at and self.resolved_at < self.detected_at:
            errors["resolved_at"] = "An incident can't be resolved before it was detected."
        if errors:
            raise ValidationError(errors)


class CauseKind(models.TextChoices):
    TRIGGER = "trigger", "Trigger"
    ROOT_CAUSE = "root_cause", "Root cause"
    CONTRIBUTING = "contributing", "Contributing factor"


class Cause(models.Model):
    """Why an incident happened: its trigger, root causes and contributing factors."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="causes")
    kind = models.CharField(max_length=16, choices=CauseKind.choices, default=CauseKind.ROOT_CAUSE)
    description = models.TextField()
    category = models.ForeignKey(
        FailureCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="causes"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=CauseKind.values), name="cause_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.description[:60]}"


class TimelineEntry(models.Model):
    """One moment of an incident: when, and what happened."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField()
    text = models.TextField()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{dates.moment(self.at)} {self.text[:60]}"


class IncidentImage(models.Model):
    """A picture in an incident's report: validated, re-encoded, stored through Django's storage.

    Served by `/incidents/images/<key>.<extension>` only to people who may see its incident
    (incidents/images.py). Until the new incident it was uploaded for is saved, it has no
    incident and only its uploader sees it.
    """

    # Random and unguessable, but not what protects the image: the view checks visibility.
    key = models.CharField(max_length=32, editable=False)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="images"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    file = models.FileField(max_length=200, editable=False)
    # The uploaded file's name, which becomes the picture's alternative text.
    name = models.CharField(max_length=200, blank=True)
    extension = models.CharField(max_length=4, editable=False)  # png, jpg, gif, webp
    content_type = models.CharField(max_length=20, editable=False)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField(help_text="Bytes stored, after re-encoding.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="unique_incident_image_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key}.{self.extension}"

    def get_absolute_url(self) -> str:
        return reverse("incident_image", args=[self.key, self.extension])
