"""The one place a write announces what changed, for whatever must follow it after the commit.

Write paths (the actions) call `incidents_changed`, `remediation_changed`, `category_moved` or
`service_changed`. Apps that keep derived state — the recurrence engine (remediations), the
search index (search) — subscribe in their `AppConfig.ready()` with `subscribe`. Subscribers
run once the transaction commits (at once outside one), each on its own: one that fails is
logged and never undoes the save or stops the others. So `incidents` needs to import neither
`remediations` nor `search` (CONVENTIONS.md, "Dependencies run one way").

`enqueue` is the after-commit way to send a Celery task: if the broker is away, the save still
succeeds and the periodic reconciliation applies the change later (PRODUCT.md, "Never lose an
event").
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

INCIDENTS = "incidents"  # handler(incident_ids: list[int])
REMEDIATION = "remediation"  # handler(remediation_id: int)
# handler(remediation_ids: list[int]): remediations written together with their incidents (an
# import batch), whose incidents the same transaction announces with `incidents_changed`: a
# subscriber that derives state from incidents (search) has nothing more to do for them.
REMEDIATIONS_WITH_INCIDENTS = "remediations_with_incidents"
CATEGORY = "category"  # handler(category_id: int): renamed or moved
SERVICE = "service"  # handler(service_id: int): renamed
GAME_DAY = "game_day"  # handler(game_day_id: int): saved with its scenarios

_subscribers: dict[str, list[Callable[..., None]]] = defaultdict(list)


def subscribe(topic: str, handler: Callable[..., None]) -> None:
    """Call `handler` after each commit that changed something of `topic` (idempotent)."""
    if handler not in _subscribers[topic]:
        _subscribers[topic].append(handler)


def _announce(topic: str, *args: Any) -> None:
    for handler in list(_subscribers[topic]):

        def run(handler: Callable[..., None] = handler) -> None:
            try:
                handler(*args)
            except Exception:  # derived state is repaired later; it must never fail a save
                logger.exception("After-commit %s handler %r failed.", topic, handler)

        transaction.on_commit(run)


def incidents_changed(incident_ids: Iterable[int]) -> None:
    ids = sorted(set(incident_ids))
    if ids:
        _announce(INCIDENTS, ids)


def remediation_changed(remediation_id: int) -> None:
    _announce(REMEDIATION, remediation_id)


def remediations_with_incidents(remediation_ids: Iterable[int]) -> None:
    """Announce many remediations at once, all saved with incidents announced alongside."""
    ids = sorted(set(remediation_ids))
    if ids:
        _announce(REMEDIATIONS_WITH_INCIDENTS, ids)


def category_moved(category_id: int) -> None:
    _announce(CATEGORY, category_id)


def service_changed(service_id: int) -> None:
    _announce(SERVICE, service_id)


def game_day_changed(game_day_id: int) -> None:
    _announce(GAME_DAY, game_day_id)


def enqueue(task: Any, *args: Any) -> None:
    """Send `task(*args)` once the current transaction commits (at once outside one)."""

    def send() -> None:
        try:
            task.delay(*args)
        except Exception:  # the broker's errors are many (kombu, redis, OS); none may fail a save
            logger.warning(
                "Could not queue %s%r: the broker is unavailable. The next reconciliation "
                "will apply it.",
                task.name,
                args,
                exc_info=True,
            )

    transaction.on_commit(send)
