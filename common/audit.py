"""The audit log's one way in (PRODUCT.md, "/audit/ (superusers) lists sign-ins, views of
restricted incidents, exports, deletions, and changes of roles or visibility").

`record(action, by=…, target=…, detail=…)` writes one event. Who and from where need no
threading of `request` through every signature: `common.middleware.AuditContextMiddleware` puts
the current request in a context variable for the length of the request, and `record` takes the
client's address from it (`common.clientip`, so the proxy setting is respected). Outside a
request (a management command, a Celery task) there is no address, and `by=None` is the system.

Events are written in the caller's transaction: a deletion or change that rolls back leaves no
event claiming it happened.

Where events come from:
- sign-ins, failures and sign-outs: Django's auth signals (receivers below), whatever the
  backend (local password or single sign-on);
- group membership and roles (is_staff, is_superuser, is_active, permissions) of users and
  groups: signals on the user model and its many-to-many tables, so the admin, a shell and
  `createsuperuser` are all caught (Django's own forms write these, not our actions);
- views of restricted incidents: `viewed(incident, request)` in their views, and of their
  remediations (`viewed(incident, request, part=remediation)`);
- visibility changes: `incidents.actions.save_incident`, and the bulk import of new incidents
  (`audit_new_incident_visibility`);
- deletions: the admin (`common.admin.AuditedDeletes`) and the API;
- exports: the export commands (`exported`).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.http import HttpRequest

from common.clientip import client_address
from common.models import AuditAction, AuditEvent

Action = AuditAction

_current_request: ContextVar[HttpRequest | None] = ContextVar("once_audit_request", default=None)

# incidents.models.Visibility.RESTRICTED; common can't import incidents (dependencies run one way).
RESTRICTED = "restricted"


@contextmanager
def request_context(request: HttpRequest) -> Iterator[None]:
    """While inside, `record` knows the request: its client's address and its user."""
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


def current_user() -> Any:
    """The signed-in user of the request being served, or None (no request, or anonymous)."""
    request = _current_request.get()
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and user.is_authenticated else None


@dataclass(frozen=True)
class Target:
    """What an event is about, as it was at the time: ("incident", "42", "INC-42 etcd lost…")."""

    type: str
    id: str
    label: str


def describe(obj: models.Model) -> Target:
    """The target of `obj`, taken before it is deleted (a deleted row's pk is gone)."""
    return Target(
        type=str(obj._meta.verbose_name), id=str(obj.pk or ""), label=_truncate(str(obj), 200)
    )


def _truncate(text: str, length: int) -> str:
    text = " ".join(text.split())  # one line
    return text if len(text) <= length else text[: length - 1] + "…"


def record(
    action: AuditAction | str,
    *,
    by: Any,
    target: models.Model | Target | None = None,
    detail: dict[str, Any] | None = None,
    address: str | None = None,
    username: str | None = None,
) -> AuditEvent:
    """Write one audit event and return it.

    `by`: the user who acted, or None for the system (or an anonymous visitor). `target`: a
    model instance or a `Target`. `detail`: JSON-serialisable specifics. `address`: the
    client's address; by default the current request's (none outside a request). `username`:
    the name to keep instead of `by`'s, for a failed sign-in's attempted name.
    """
    if by is not None and not getattr(by, "is_authenticated", False):
        by = None  # AnonymousUser
    if target is not None and not isinstance(target, Target):
        target = describe(target)
    if address is None:
        request = _current_request.get()
        address = client_address(request) if request is not None else ""
    if username is None:
        username = by.get_username() if by is not None else ""
    return AuditEvent.objects.create(
        action=action,
        user=by,
        username=username[:150],
        target_type=target.type if target else "",
        target_id=target.id if target else "",
        target_label=target.label if target else "",
        address=address or None,
        detail=detail or {},
    )


def viewed(incident: Any, request: Any, *, part: models.Model | None = None) -> None:
    """Record that `request.user` saw `incident`, if it is restricted (others aren't logged).

    `request` is Django's or DRF's (whose `user` is the token's user). `part` is what was
    opened when it is not the incident itself but shares its visibility (a remediation of
    it, PRODUCT.md "Its remediations … share its visibility"): the event's target is then
    the part, and its detail names the incident: `{"path", "incident": {"id", "label"}}`.
    `incident` may be None (a remediation of no incident): nothing is restricted then.
    """
    if getattr(incident, "visibility", None) != RESTRICTED:
        return
    detail: dict[str, Any] = {"path": request.path}
    if part is not None:
        about = describe(incident)
        detail["incident"] = {"id": about.id, "label": about.label}
    record(Action.RESTRICTED_VIEW, by=request.user, target=part or incident, detail=detail)


def deleted(targets: Iterable[Target], *, by: Any, via: str) -> None:
    """Record the deletion of each target (described before the delete: see `describe`)."""
    for target in targets:
        record(Action.DELETION, by=by, target=target, detail={"via": via})


def exported(what: str, *, count: int, command: str, options: dict[str, Any]) -> None:
    """Record an export by a management command: what, how many, where to, and by which
    account of the operating system (a command has no signed-in user)."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's anonymous user)
        os_user = ""
    record(
        Action.EXPORT,
        by=None,
        target=Target(type=what, id="", label=f"{count} {what}"),
        detail={
            "command": command,
            "count": count,
            "output": options.get("output") or options.get("file") or "standard output",
            "os_user": os_user,
        },
    )
