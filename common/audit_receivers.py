"""Audit events from Django's own signals: sign-ins, and changes of roles and groups.

These events happen in Django's code, not ours: its login and logout views, single sign-on's
`auth.login`, the admin's user and group forms, `createsuperuser`, a shell. Its signals are the
one place all of those pass, so that is where they are recorded (connected in
`common.apps.CommonConfig.ready`). Everything else is recorded by the action that does it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import models
from django.db.models.signals import m2m_changed, post_save, pre_save

from common.audit import Action, current_user, record
from common.clientip import client_address

# The flags of a user that say what they may do (common.roles; superusers see every incident).
ROLE_FIELDS = ("is_active", "is_staff", "is_superuser")


def _address(request: Any) -> str:
    return client_address(request) if request is not None else ""


def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    backend = session.get(BACKEND_SESSION_KEY, "") if session is not None else ""
    record(
        Action.SIGN_IN, by=user, target=user, address=_address(request),
        detail={"backend": backend or getattr(user, "backend", "")},
    )  # fmt: skip


def sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    # Only the name that was tried: `credentials` holds the password (starred out by Django,
    # but nothing of it belongs in a log). Single sign-on failures carry no name.
    tried = credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or ""
    detail: dict[str, Any] = {}
    if getattr(request, "axes_locked_out", False):
        detail["locked_out"] = True
    record(
        Action.SIGN_IN_FAILED, by=None, username=str(tried), address=_address(request),
        detail=detail,
    )  # fmt: skip


def signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None and user.is_authenticated:
        record(Action.SIGN_OUT, by=user, target=user, address=_address(request))


def _stash(instance: models.Model, key: str, value: Any = None, *, pop: bool = False) -> Any:
    if pop:
        return instance.__dict__.pop(f"_audit_{key}", None)
    instance.__dict__[f"_audit_{key}"] = value
    return value


def remember_roles(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Before a user is saved, keep the stored role flags to compare with (one query)."""
    update_fields = kwargs.get("update_fields")
    if raw or instance._state.adding:
        return
    if update_fields is not None and not set(update_fields) & set(ROLE_FIELDS):
        return  # e.g. the last_login update of every sign-in
    stored = sender._default_manager.filter(pk=instance.pk).values(*ROLE_FIELDS).first()
    _stash(instance, "roles", stored)


def record_roles(sender: Any, instance: Any, created: bool, raw: bool = False, **kw: Any) -> None:
    """After a user is saved: one event naming each role flag that changed, [before, after]
    ({"is_staff": [false, true]}).

    A new account is recorded only when it starts as staff or superuser (createsuperuser).
    """
    if raw:
        return
    before = _stash(instance, "roles", pop=True)
    if created:
        before = {"is_active": True, "is_staff": False, "is_superuser": False}
    if before is None:
        return
    changes = {
        name: [before[name], getattr(instance, name)]
        for name in ROLE_FIELDS
        if before[name] != getattr(instance, name)
    }
    if changes:
        detail: dict[str, Any] = dict(changes)
        if created:
            detail["created"] = True
        record(Action.ROLE_CHANGE, by=current_user(), target=instance, detail=detail)


def _label(item: models.Model) -> str:
    if isinstance(item, Permission):
        return f"{item.content_type.app_label}.{item.codename}"
    return str(item)


class MembershipAudit:
    """Records additions to and removals from one many-to-many relation, from either side.

    `subject` holds the relation (a user's groups: the user); `items` are what is added or
    removed (the groups). `user.groups.add(g)` and `g.user_set.add(user)` both record one event
    per subject, naming the items: {"added": ["Viewers"], "of": "groups"}.
    """

    def __init__(
        self, through: type[models.Model], subject: str, item: str, action: Action, of: str
    ) -> None:
        self.through, self.subject, self.item, self.action, self.of = (
            through, subject, item, action, of,
        )  # fmt: skip
        self.key = f"m2m_{through._meta.db_table}"

    def __call__(
        self,
        sender: Any,
        instance: Any,
        action: str,
        reverse: bool,
        model: type[models.Model],
        pk_set: set[Any] | None,
        **kwargs: Any,
    ) -> None:
        mine, theirs = (self.item, self.subject) if reverse else (self.subject, self.item)
        rows = self.through._default_manager.filter(**{f"{mine}_id": instance.pk})
        if action == "pre_clear":  # the signal after a clear names nothing: remember it here
            _stash(instance, self.key, set(rows.values_list(f"{theirs}_id", flat=True)))
            return
        if action == "pre_remove":  # pk_set may name rows that aren't there
            present = rows.filter(**{f"{theirs}_id__in": pk_set or ()})
            _stash(instance, self.key, set(present.values_list(f"{theirs}_id", flat=True)))
            return
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        pks = pk_set if action == "post_add" else _stash(instance, self.key, pop=True)
        if not pks:
            return
        verb = "added" if action == "post_add" else "removed"
        others = model._default_manager.filter(pk__in=pks).order_by("pk")
        if model is Permission:
            others = others.select_related("content_type")
        by = current_user()
        if reverse:  # group.user_set.add(user, …): an event for each user
            for subject in others:
                detail = {verb: [_label(instance)], "of": self.of}
                record(self.action, by=by, target=subject, detail=detail)
        else:  # user.groups.add(group, …): one event naming them all
            detail = {verb: sorted(_label(other) for other in others), "of": self.of}
            record(self.action, by=by, target=instance, detail=detail)


def connect() -> None:
    """Connect the receivers (from CommonConfig.ready: once, when the apps are loaded)."""
    user_model = get_user_model()
    user_logged_in.connect(signed_in, dispatch_uid="audit_signed_in")
    user_login_failed.connect(sign_in_failed, dispatch_uid="audit_sign_in_failed")
    user_logged_out.connect(signed_out, dispatch_uid="audit_signed_out")
    pre_save.connect(remember_roles, sender=user_model, dispatch_uid="audit_remember_roles")
    post_save.connect(record_roles, sender=user_model, dispatch_uid="audit_record_roles")
    relations = [
        MembershipAudit(user_model.groups.through, "user", "group", Action.GROUP_CHANGE, "groups"),
        MembershipAudit(
            user_model.user_permissions.through,
            "user",
            "permission",
            Action.ROLE_CHANGE,
            "permissions",
        ),  # fmt: skip
        MembershipAudit(
            Group.permissions.through, "group", "permission", Action.ROLE_CHANGE, "permissions"
        ),
    ]
    for relation in relations:
        # weak=False: nothing else holds these instances.
        m2m_changed.connect(
            relation, sender=relation.through, weak=False, dispatch_uid=relation.key
        )
