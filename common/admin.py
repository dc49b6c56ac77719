from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import truncatechars

from common import notifications
from common.models import Notification
from common.roles import can_manage, can_write


class RoleAdmin(admin.ModelAdmin):
    """Admin permissions that follow the roles (common/roles.py) on top of Django's model
    permissions: staff who are in `Viewers` only look, adding and changing need a writer,
    deleting needs staff who write (`can_manage`). What a ModelAdmin forbids itself (a
    read-only log) stays forbidden: each check is `role and super()`."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_write(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return can_write(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return can_manage(request.user) and super().has_delete_permission(request, obj)


@admin.register(Notification)
class NotificationAdmin(RoleAdmin):
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

    # What a message says (and the webhook's JSON): personal, since each recipient's digest
    # and reminders hold the restricted incidents they may see (PRODUCT.md, "Who may see and
    # change what"). Other staff see when, where and how it went, not what it said.
    PERSONAL = ("subject", "body", "payload")

    @staticmethod
    def may_read(request: HttpRequest, notification: Notification | None) -> bool:
        """Superusers read every message; other staff only those sent to their own address."""
        user: Any = request.user
        if user.is_superuser:
            return True
        email = (getattr(user, "email", "") or "").strip().lower()
        return bool(notification is not None and email and notification.recipient.lower() == email)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        if self.may_read(request, obj):
            return list(self.fields)
        return [name for name in self.fields if name not in self.PERSONAL] + ["withheld"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return self.get_fields(request, obj)

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        if request.user.is_superuser:
            return list(self.list_display)
        return [name for name in self.list_display if name not in self.PERSONAL]

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        """Searching a subject would tell whether a word is in someone's message."""
        if request.user.is_superuser:
            return list(self.search_fields)
        return [name for name in self.search_fields if name not in self.PERSONAL]

    @admin.display(description="message")
    def withheld(self, notification: Notification) -> str:
        return "Withheld: a message is read by its recipient (and superusers) only."

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
        return can_write(request.user) and request.user.has_perm("common.change_notification")

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


# --- Users and groups: staff business (PRODUCT.md, "Who may see and change what") -------------


class RoleUserAdmin(UserAdmin):
    """Django's user admin, for staff who are not viewers and hold the auth permissions
    (superusers hold them all). Only a superuser makes or edits superusers or grants
    individual permissions: staff can't raise themselves above staff."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_manage(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_manage(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return can_manage(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return can_manage(request.user) and super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_superuser", "user_permissions"]
        return readonly


class RoleGroupAdmin(GroupAdmin):
    """Groups (`Viewers` and the access groups of restricted incidents): staff who are not
    viewers, with the auth permissions; only a superuser grants a group model permissions."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_manage(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_manage(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_manage(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_manage(request.user) and super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly.append("permissions")
        return readonly


User = get_user_model()
for model, model_admin in ((User, RoleUserAdmin), (Group, RoleGroupAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
