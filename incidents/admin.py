"""The admin writes through the same actions and validator as every other way in (issue 10).

Incidents and their own fields are edited here with a version check; causes and the timeline
are shown read-only (edit them on the incident's page or through the API, which keep them in
one version with the rest).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from simple_history.admin import SimpleHistoryAdmin

from common import changes
from common.admin import RoleAdmin
from common.concurrency import StaleVersion
from common.forms import BaseVersionField, id_of
from common.roles import can_manage
from common.validation import Errors, clean_text, sentence
from incidents.actions import (
    delete_category,
    delete_service,
    merge_services,
    record_of,
    save_category,
    save_incident,
    save_service,
    service_name_taken,
)
from incidents.forms import CategoryForm
from incidents.models import (
    Cause,
    FailureCategory,
    Incident,
    IncidentQuerySet,
    Service,
    TimelineEntry,
)
from incidents.records import clean_design_notes, clean_incident, clean_service_name

RECORD_FIELDS = [
    "title", "summary", "body", "severity", "status", "started_at", "detected_at",
    "resolved_at", "external_id", "source_url", "visibility",
]  # fmt: skip


class RulesOfTheValidator(forms.ModelForm):
    """Fields that only parse; `clean()` hands the record to the one validator."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                field.max_length = None
                field.validators = []
                field.strip = False  # the validator decides what is trimmed, for every way in
            if not isinstance(field, forms.ModelMultipleChoiceField):
                field.required = False

    def _post_clean(self) -> None:
        pass  # the model's checks are the validator's job (clean)


class IncidentAdminForm(BaseVersionField, RulesOfTheValidator):
    # Who saves: set by IncidentAdmin.get_form, for the validator's visibility rule.
    user: Any = None

    class Meta:
        model = Incident
        fields = [*RECORD_FIELDS, "categories", "services", "access_groups"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        base = record_of(self.instance) if self.instance.pk else {}
        raw = {
            **base,
            **{name: cleaned.get(name) for name in RECORD_FIELDS},
            "categories": [c.path for c in cleaned.get("categories") or []],
            "services": [s.name for s in cleaned.get("services") or []],
            "access_groups": [g.name for g in cleaned.get("access_groups") or []],
        }
        errors = Errors()
        self.record = clean_incident(
            raw, errors, by=self.user, incident=self.instance if self.instance.pk else None
        )
        for path, message in errors.items:
            name = path[0] if path else None
            self.add_error(name if name in self.fields else None, sentence(message))
        return cleaned


class CategoryAdminForm(CategoryForm):
    """The category page's form (the shared name rules, no duplicate paths, no cycles)."""

    version = None  # type: ignore[assignment]  # the admin saves the category as it stands


def partial_form(form: type[forms.ModelForm], **fixed: Any) -> type[forms.ModelForm]:
    """`form` always built with the keyword arguments `fixed` (the admin builds its forms
    without them)."""

    class Fixed(form):  # type: ignore[valid-type,misc]  # a class made at run time
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **fixed, **kwargs)

    Fixed.__name__ = form.__name__
    return Fixed


STALE_SERVICE = (
    "{who} saved a newer version of this service (version {version}) meanwhile: nothing was "
    "changed. Your text is kept below; the saved one is on the service's page and in its "
    "history. Copy what you need, reload, and save again."
)


class ServiceAdminForm(BaseVersionField, forms.ModelForm):
    """A service's name, description and design notes, by the rules of the page and the API:
    the name in its one spelling, a clash told without naming services hidden from the
    editor, and the version the page showed (`base_version`), so that a save over someone
    else's (an admin or the page) is refused with the text typed kept, never lost silently."""

    class Meta:
        model = Service
        fields = ["name", "description", "design_notes"]

    def __init__(self, *args: Any, viewer: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.viewer = viewer  # who edits: set by ServiceAdmin.get_form

    def _post_clean(self) -> None:
        errors = Errors()
        stored = None
        if self.instance.pk:
            # Locked to the end of the admin's save (changeform_view is one transaction): no
            # one saves between this check and the save.
            stored = Service.objects.select_for_update().filter(pk=self.instance.pk).first()
        raw_name = self.cleaned_data.get("name")
        if stored is not None and raw_name is not None and raw_name.strip() == stored.name:
            name = stored.name  # unchanged, as stored
        else:
            name = clean_service_name(raw_name, ("name",), errors)
            if not name and not errors:
                errors.add(("name",), "is required.")
        clean_text(
            self.cleaned_data.get("description"), ("description",), errors, max_length=10_000
        )
        clean_design_notes(self.cleaned_data.get("design_notes"), errors)
        if stored is not None and name != stored.name:
            clash = service_name_taken(name, by_other_than=stored, viewer=self.viewer)
        elif stored is None and name:
            clash = service_name_taken(name, by_other_than=Service(), viewer=self.viewer)
        else:
            clash = None
        if clash:
            errors.add(("name",), clash)
        version = self.cleaned_data.get("base_version")
        if stored is not None and version is None:
            self.add_error(None, "The form lost its version: reload the page and try again.")
        elif stored is not None and version != stored.version:
            last = stored.history.order_by("-history_id").select_related("history_user").first()
            who = getattr(last.history_user, "username", None) if last else None
            self.add_error(
                None,
                STALE_SERVICE.format(who=who or "Someone", version=stored.version),
            )
        for path, message in errors.items:
            self.add_error(str(path[0]), sentence(message))
        if not errors:
            self.cleaned_data["name"] = name
            super()._post_clean()  # type: ignore[misc]  # private to Django, not in its stubs


@admin.register(FailureCategory)
class FailureCategoryAdmin(RoleAdmin):
    form = CategoryAdminForm
    list_display = ["path", "slug"]
    search_fields = ["path", "description"]
    readonly_fields = ["path", "slug"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[FailureCategory]:
        """Only the categories the user sees on the pages (the list, the autocomplete of
        incidents and remediations, a change page: 404 otherwise)."""
        return FailureCategory.objects.visible_to(request.user)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return partial_form(form, viewer=request.user)

    def save_model(
        self, request: HttpRequest, obj: FailureCategory, form: forms.ModelForm, change: bool
    ) -> None:
        save_category(obj, by=request.user)  # keeps the paths of sub-categories right

    def delete_model(self, request: HttpRequest, obj: FailureCategory) -> None:
        delete_category(obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[FailureCategory]) -> None:
        for category in queryset:
            delete_category(category, by=request.user)


@admin.register(Service)
class ServiceAdmin(RoleAdmin):
    form = ServiceAdminForm
    list_display = ["name"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        """Only the services the user sees on the pages (as for categories)."""
        return Service.objects.visible_to(request.user)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return partial_form(form, viewer=request.user)

    def save_model(
        self, request: HttpRequest, obj: Service, form: forms.ModelForm, change: bool
    ) -> None:
        """Through `save_service`, the one write path, with the version the form showed (its
        clean checked it, the row locked: StaleVersion here is the belt to those braces)."""
        name = obj.name
        if obj.pk:  # the form changed obj in place: rename from the stored row
            obj.name = Service.objects.values_list("name", flat=True).get(pk=obj.pk)
        try:
            save_service(
                obj, by=request.user, name=name, description=obj.description,
                design_notes=obj.design_notes,
                expected_version=form.cleaned_data.get("base_version") if change else None,
            )  # fmt: skip
        except StaleVersion:
            messages.error(
                request, "Someone saved a newer version meanwhile: nothing was changed. Reload."
            )

    def delete_model(self, request: HttpRequest, obj: Service) -> None:
        delete_service(obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        for service in queryset:
            delete_service(service, by=request.user)

    actions = ["merge"]

    def has_merge_permission(self, request: HttpRequest) -> bool:
        """Merging is for staff, as on the service's merge page (actions.merge_services); in
        the admin, as a deletion of the merged services, it needs their delete permission too.
        """
        return can_manage(request.user) and request.user.has_perm("incidents.delete_service")

    @admin.action(description="Merge the selected services into one", permissions=["merge"])
    def merge(self, request: HttpRequest, queryset: QuerySet[Service]) -> HttpResponse | None:
        """Merge services that are the same system: a page asks which one to keep, then each
        other one is merged into it by actions.merge_services — the merge page's action, with
        its validation, history and audit — all or none (PRODUCT.md, "Merging services")."""
        chosen = list(queryset.order_by("pk"))
        if len(chosen) < 2:
            self.message_user(
                request, "Select at least two services to merge, the one to keep among them.",
                messages.ERROR,
            )  # fmt: skip
            return None
        error = ""
        if request.POST.get("post") == "yes":
            keep = id_of(request.POST.get("into"))
            target = next((service for service in chosen if service.pk == keep), None)
            if target is None:
                error = "Choose the service to keep: one of those selected."
            else:
                merged = [service.name for service in chosen if service.pk != target.pk]
                try:
                    with transaction.atomic():
                        for source in chosen:
                            if source.pk != target.pk:
                                merge_services(source, target, by=request.user)
                except ValueError as refused:
                    error = str(refused)
                else:
                    self.message_user(
                        request,
                        f"Merged into {target.name}: {', '.join(merged)} "
                        f"{'is now another name' if len(merged) == 1 else 'are now other names'}"
                        " of it.",
                        messages.SUCCESS,
                    )
                    return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Merge services",
            "opts": self.model._meta,
            "services": chosen,
            "error": error,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        request.current_app = self.admin_site.name
        status = 400 if error else 200
        return TemplateResponse(
            request, "admin/incidents/service/merge_confirmation.html", context, status=status
        )


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CauseInline(ReadOnlyInline):
    model = Cause


class TimelineInline(ReadOnlyInline):
    model = TimelineEntry


class VisibleHistoryAdmin(SimpleHistoryAdmin):
    """A history in the admin only of a row `get_queryset` shows the user: simple-history
    falls back to the stored versions of a row it doesn't find, which would show a restricted
    incident (or its remediation) to staff it is hidden from. Superusers see every history,
    deleted rows' included."""

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        self._require_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        self._require_visible(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _require_visible(self, request: HttpRequest, object_id: str) -> None:
        if getattr(request.user, "is_superuser", False):
            return
        pk = id_of(unquote(object_id))
        if pk is None or not self.get_queryset(request).filter(pk=pk).exists():
            raise Http404("No such row.")


@admin.register(Incident)
class IncidentAdmin(RoleAdmin, VisibleHistoryAdmin):
    form = IncidentAdminForm
    list_display = ["reference", "title", "severity", "status", "started_at"]
    list_filter = ["severity", "status", "visibility"]
    search_fields = ["title", "summary", "external_id"]
    autocomplete_fields = ["categories", "services"]
    filter_horizontal = ["access_groups"]
    readonly_fields = ["author", "created_at", "updated_at"]
    inlines = [CauseInline, TimelineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        """The admin is for staff; staff who are not superusers see here only the incidents
        they see on the pages (a restricted one they are not granted is absent: 404)."""
        return cast(IncidentQuerySet, super().get_queryset(request)).visible_to(request.user)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user  # type: ignore[attr-defined]  # the form's clean reads it
        return form

    def save_model(
        self, request: HttpRequest, obj: Incident, form: IncidentAdminForm, change: bool
    ) -> None:
        incident = Incident.objects.get(pk=obj.pk) if change else Incident()
        record = {**form.record}
        if change:
            stored = record_of(incident)
            record.update({key: stored[key] for key in ("causes", "timeline")})
        try:
            save_incident(
                incident, record, by=request.user,
                expected_version=form.cleaned_data.get("base_version") if change else None,
            )  # fmt: skip
        except StaleVersion:
            messages.error(
                request, "Someone saved a newer version meanwhile: nothing was changed. Reload."
            )
        obj.pk = incident.pk

    def delete_model(self, request: HttpRequest, obj: Incident) -> None:
        """Deleting an original un-marks its duplicates (the key is set null): they are
        incidents again, so search and the recurrence engine hear of them (a duplicate of a
        public original has no search document: search.index.searched)."""
        with transaction.atomic():
            freed = list(obj.duplicates.values_list("pk", flat=True))
            super().delete_model(request, obj)
            changes.incidents_changed(freed)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        """As delete_model, for the admin's "delete selected" action."""
        with transaction.atomic():
            doomed = list(queryset.values_list("pk", flat=True))
            freed = list(
                Incident.objects.filter(duplicate_of__in=doomed)
                .exclude(pk__in=doomed)
                .values_list("pk", flat=True)
            )
            super().delete_queryset(request, queryset)
            changes.incidents_changed(freed)

    def save_related(
        self, request: HttpRequest, form: IncidentAdminForm, formsets: Any, change: bool
    ) -> None:
        # save_model wrote the categories and services with the incident, in one version;
        # the inlines are read-only, so they saved nothing (the change message reads these).
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
