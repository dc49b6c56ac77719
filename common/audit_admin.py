"""Deletions in the admin, written to the audit log (PRODUCT.md: "/audit/ lists … deletions").

Every ModelAdmin gets `AuditedDeletes` in front of its own class, once all admin modules are
loaded (`audit_every_admin`, from CommonConfig.ready). So no admin, whichever app registers it
and however it is later changed (Django's user and group admins included), deletes without a
record, and no app has to remember a mixin. The audit log itself (common.models.AuditEvent) has
no admin: /audit/ shows it, and nothing may change it.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from common import audit


class AuditedDeletes(admin.ModelAdmin):
    """Deletions, one by one or with "delete selected", are recorded in the same transaction."""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        target = audit.describe(obj)  # before: a deleted row has no pk
        with transaction.atomic():
            super().delete_model(request, obj)
            audit.deleted([target], by=request.user, via="admin")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        targets = [audit.describe(obj) for obj in queryset]
        with transaction.atomic():
            super().delete_queryset(request, queryset)
            audit.deleted(targets, by=request.user, via="admin")


def audit_every_admin(site: admin.AdminSite = admin.site) -> None:
    """Register each model's admin again with `AuditedDeletes` first in its bases."""
    for model in apps.get_models():
        if not site.is_registered(model):
            continue
        current = type(site.get_model_admin(model))
        if issubclass(current, AuditedDeletes):
            continue
        audited = type(
            current.__name__, (AuditedDeletes, current), {"__module__": current.__module__}
        )
        site.unregister(model)
        site.register(model, audited)
