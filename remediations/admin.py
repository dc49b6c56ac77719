from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from remediations.models import RecurrenceFlag, RecurrenceLink, Remediation


@admin.register(Remediation)
class RemediationAdmin(SimpleHistoryAdmin):
    list_display = ["title", "kind", "status", "owner", "due_date", "category"]
    list_filter = ["status", "kind"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["category", "incident", "owner"]
    readonly_fields = ["version", "created_at", "updated_at"]


@admin.register(RecurrenceLink)
class RecurrenceLinkAdmin(admin.ModelAdmin):
    list_display = ["incident", "remediation", "created_at"]
    raw_id_fields = ["incident", "remediation"]


@admin.register(RecurrenceFlag)
class RecurrenceFlagAdmin(admin.ModelAdmin):
    list_display = ["incident", "remediation", "category", "state", "raised_at"]
    list_filter = ["state"]
    raw_id_fields = ["incident", "remediation", "category", "resolved_by"]
