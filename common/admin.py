from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import truncatechars

from common import audit, notifications
from common.models import Notification


class AuditedDeletes(admin.ModelAdmin):
    """A ModelAdmin whose deletions, one by one or with the "delete selected" action, are
    written to the audit log in the same transaction (PRODUCT.md: /audit/ lists deletions).

    The audit log itself (common.models.AuditEvent) has no admin: /audit/ shows it, and nothing
    may change it.
    """

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        target = audit.describe(obj)
        with transaction.atomic():
            super().delete_model(request, obj)
            audit.deleted([target], by=request.user, via="admin")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        targets = [audit.describe(obj) for obj in queryset]
        with transaction.atomic():
            super().delete_queryset(request, queryset)
            audit.deleted(targets, by=request.user, via="admin")


# Django's own user and group pages, with their deletions audited (changes of roles and group
# memberships are recorded by common/audit_receivers.py, whichever way they are made).
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(AuditedDeletes, UserAdmin):
    pass


@admin.register(Group)
class AuditedGroupAdmin(AuditedDeletes, GroupAdmin):
    pass


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
