from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from reviews.models import ReviewDecision, ReviewMeeting


class DecisionInline(admin.TabularInline):
    """The minutes: written by the decisions on the review page (reviews.actions), never here."""

    model = ReviewDecision
    fields = ("at", "by", "kind", "subject", "detail", "outcome")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReviewMeeting)
class ReviewMeetingAdmin(admin.ModelAdmin):
    """Shown here, written on the review page (reviews.actions.save_meeting: one version)."""

    list_display = ["__str__", "week_start", "version"]
    filter_horizontal = ["attendees"]
    raw_id_fields = ["reviewed_incidents"]
    inlines = [DecisionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
