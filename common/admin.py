from __future__ import annotations

from typing import cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import truncatechars

from common import notifications
from common.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The delivery log, read-only: what went out, what is waiting, what failed and why.

    Rows are never added, changed or deleted here; "retry now" is the one thing staff do.
    """

    list_display = [
        "created_at", "state", "channel", "recipient", "subject", "attempts", "error",
        "next_attempt_at", "sent_at",
    ]  # fmt: skip
    list_filter = ["state", "channel"]
    search_fields = ["key", "recipient", "subject"]
    date_hierarchy = "created_at"
    actions = ["retry"]
    fields = [
        "key", "channel", "recipient", "subject", "body", "payload", "state", "attempts",
        "last_error", "next_attempt_at", "created_at", "sent_at",
    ]  # fmt: skip
    readonly_fields = cast(list[str], fields)  # field names only (no fieldset groups)

    @admin.display(description="last error")
    def error(self, notification: Notification) -> str:
        return truncatechars(notification.last_error, 120)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("common.change_notification")

    @admin.action(description="Retry now", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = notifications.retry_now(queryset)
        skipped = queryset.count() - count
        self.message_user(
            request,
            f"{count} notification{'s' * (count != 1)} will be tried again now"
            + (f"; {skipped} sent or being sent were left alone." if skipped else "."),
            messages.SUCCESS,
        )
