"""Where search reads go: a PostgreSQL read replica when DATABASE_REPLICA_URL names one.

Search is the heaviest read Once serves, and the easiest to move: its queries only read. Inside
`search_reads()` (search.service.search wraps each search in it: /search/, /api/search/ and the
similar-incident suggestions) the ranking, count, typo-fix and snippet queries — every read of
this app's tables, SearchDocument and SearchWord, raw SQL included — go to the alias
`replica`. Everything else stays on the primary (`default`): who may see what, the incidents
shown, their categories and remediations, and every write, the index's own included
(search/index.py writes and reads back on the primary, outside `search_reads()`).

So a replica that lags shows a just-saved incident in search a moment later, never a hidden
one: the visibility rule is read on the primary, and a result the primary no longer has is
dropped. Without DATABASE_REPLICA_URL there is no `replica` alias and nothing changes.
docs/operations.md, "A read replica for search".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

REPLICA = "replica"

_searching: ContextVar[bool] = ContextVar("once_search_reads", default=False)


@contextmanager
def search_reads(*, replica: bool = True) -> Iterator[None]:
    """Within this block, search's reads go to the replica (if configured and `replica`)."""
    token = _searching.set(replica)
    try:
        yield
    finally:
        _searching.reset(token)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def search_alias() -> str:
    """The database alias search reads use right now: `replica` or `default`."""
    return REPLICA if _searching.get() and replica_configured() else DEFAULT_DB_ALIAS


def search_connection() -> BaseDatabaseWrapper:
    """The connection for search's raw SQL (search/backends/): the one `search_alias` names."""
    return connections[search_alias()]


class SearchReplicaRouter:
    """Django's database router (settings.DATABASE_ROUTERS): search reads to the replica.

    Writes always go to the primary; a replica is read-only. `migrate` runs on the primary
    only (its default), and replication brings the schema to the replica.
    """

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if model._meta.app_label == "search" and _searching.get() and replica_configured():
            return REPLICA
        return None  # Django's default: the primary

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        return True  # the replica holds the primary's rows: the same objects on both
