"""Remediations are written through the same action and validator as every other way in;
recurrence links and flags are derived or decided elsewhere, so the admin only shows them."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from common.admin import RoleAdmin
from common.concurrency import StaleVersion
from common.forms import BaseVersionField
from common.validation import Errors
from incidents.admin import VisibleHistoryAdmin
from incidents.models import Incident
from remediations.actions import remediation_record_of, save_remediation
from remediations.forms import RemediationFields
from remediations.models import (
    ReconciliationRun,
    RecurrenceFlag,
    RecurrenceLink,
    Remediation,
    RemediationQuerySet,
)
from remediations.records import clean_remediation


class RemediationAdminForm(BaseVersionField, RemediationFields):
    class Meta:
        model = Remediation
        fields = [
            "title", "description", "kind", "status", "owner", "due_date", "opened_at",
            "done_at", "category", "tracker_url", "incident",
        ]  # fmt: skip

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        raw = {k: v for k, v in self.record().items() if k not in ("incident", "base_version")}
        base = remediation_record_of(self.instance) if self.instance.pk else {}
        errors = Errors()
        self.cleaned_record = clean_remediation({**base, **raw}, errors)
        self.show(errors)
        return cleaned


@admin.register(Remediation)
class RemediationAdmin(RoleAdmin, VisibleHistoryAdmin):
    form = RemediationAdminForm
    list_display = ["title", "kind", "status", "owner", "due_date", "category"]
    list_filter = ["status", "kind"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["category", "incident", "owner"]
    readonly_fields = ["created_at", "updated_at", "effectiveness", "effectiveness_evidence"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Remediation]:
        """Staff who are not superusers see only what they see on the pages: remediations of
        restricted incidents hidden from them are absent here too."""
        return cast(RemediationQuerySet, super().get_queryset(request)).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "incident":
            kwargs["queryset"] = Incident.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: Remediation, form: RemediationAdminForm, change: bool
    ) -> None:
        remediation = Remediation.objects.get(pk=obj.pk) if change else Remediation()
        remediation.incident = form.cleaned_data.get("incident")
        try:
            save_remediation(
                remediation, form.cleaned_record, by=request.user,
                expected_version=form.cleaned_data.get("base_version") if change else None,
            )  # fmt: skip
        except StaleVersion:
            messages.error(
                request, "Someone saved a newer version meanwhile: nothing was changed. Reload."
            )
        obj.pk = remediation.pk


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never written here: derived by the recurrence engine or decided on its pages."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # flags are never deleted (PRODUCT.md); links are the engine's


@admin.register(RecurrenceLink)
class RecurrenceLinkAdmin(ReadOnlyAdmin):
    list_display = ["incident", "remediation", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RecurrenceLink]:
        """Links naming an incident or remediation hidden from the user are absent."""
        user = request.user
        return (
            super()
            .get_queryset(request)
            .filter(incident__in=Incident.objects.visible_to(user).values("pk"))
            .filter(remediation__in=Remediation.objects.visible_to(user).values("pk"))
        )


@admin.register(RecurrenceFlag)
class RecurrenceFlagAdmin(ReadOnlyAdmin):
    list_display = ["incident", "category", "state", "outcome", "raised_at"]
    list_filter = ["state", "outcome"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RecurrenceFlag]:
        """A flag shares its incident's visibility, here as on the pages."""
        return super().get_queryset(request).visible_to(request.user)  # type: ignore[attr-defined]


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "finished_at", "full", "incidents", "remediations"]
