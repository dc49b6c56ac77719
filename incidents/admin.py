from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from incidents.actions import save_category
from incidents.models import Cause, FailureCategory, Incident, Service, TimelineEntry


@admin.register(FailureCategory)
class FailureCategoryAdmin(admin.ModelAdmin):
    list_display = ["path", "slug"]
    search_fields = ["path", "description"]
    readonly_fields = ["path", "slug"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        save_category(obj)  # keeps the paths of sub-categories right


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


class CauseInline(admin.TabularInline):
    model = Cause
    extra = 0
    autocomplete_fields = ["category"]


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    extra = 0


@admin.register(Incident)
class IncidentAdmin(SimpleHistoryAdmin):
    list_display = ["reference", "title", "severity", "status", "started_at"]
    list_filter = ["severity", "status"]
    search_fields = ["title", "summary", "external_id"]
    autocomplete_fields = ["categories", "services", "author"]
    readonly_fields = ["version", "created_at", "updated_at"]
    inlines = [CauseInline, TimelineInline]
