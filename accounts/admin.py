"""API tokens in the admin: who has which, in force or not, and a way to revoke them.

No key can be read here, because none is stored; the hash isn't shown either (it opens
nothing, but a list of them is nobody's business). Tokens are made by their owner on
/account/tokens/ or with `create_api_token`, never here, and never deleted: a revoked token
stays listed with when it was revoked.

Revoking a colleague's token and unlinking a single sign-on identity are managing people: they
need staff who write (`common.roles.can_manage`), so staff in `Viewers` only look (PRODUCT.md,
"Who may see and change what").
"""

from __future__ import annotations

from typing import cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import ApiToken, SingleSignOnIdentity
from common.admin import RoleAdmin
from common.roles import can_manage


@admin.register(ApiToken)
class ApiTokenAdmin(RoleAdmin):
    list_display = [
        "name", "user", "state", "created_at", "expires_at", "last_used_at", "revoked_at",
    ]  # fmt: skip
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user__username"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    actions = ["revoke"]
    fields = ["user", "name", "created_at", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = cast(list[str], fields)

    @admin.display(description="state")
    def state(self, token: ApiToken) -> str:
        return token.state

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a key is shown to the one who makes it: its owner, not staff

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return can_manage(request.user) and request.user.has_perm("accounts.change_apitoken")

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = ApiToken.objects.filter(pk__in=queryset.values("pk")).revoke(by=request.user)
        self.message_user(
            request,
            f"{count} token{'s' * (count != 1)} revoked; they answer 401 from now on.",
            messages.SUCCESS,
        )


@admin.register(SingleSignOnIdentity)
class SingleSignOnIdentityAdmin(RoleAdmin):
    """Who signs in as whom through the OpenID provider: the binding of a provider's subject to
    a Once account, made at the first single sign-on. Read-only: only a sign-in makes one.
    Deleting it unlinks the account (audited like every admin deletion); the person's next
    single sign-on binds again, by the rules of `accounts.oidc`."""

    list_display = ["user", "issuer", "subject", "created_at", "last_login_at"]
    list_filter = ["issuer"]
    search_fields = ["user__username", "user__email", "subject"]
    list_select_related = ["user"]
    fields = ["user", "issuer", "subject", "created_at", "last_login_at"]
    readonly_fields = cast(list[str], fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
