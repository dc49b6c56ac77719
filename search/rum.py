"""The RUM index (PostgreSQL extension), when the server has it: create, drop, detect.

RUM keeps each word's positions in the index, so phrases are checked and candidates are
ordered by relevance (`vector <=> query`) from the index alone; GIN has to read every
matching document for both. Once works without it, slower for phrases and very common words,
and says so once per process (docs/operations.md, "Search index").
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

INDEX = "search_document_vector_rum"
GIN_INDEX = "search_document_vector"  # search/migrations/0002_full_text_index.py
_present: dict[str, bool] = {}  # database name → RUM index usable, checked once per process


def create_rum_index(db: BaseDatabaseWrapper) -> bool:
    """Create the extension and the RUM index in place of the GIN index; False if unavailable.

    Creating the extension needs a superuser (RUM is not a trusted extension); when that
    fails, or the server lacks the package, the GIN index stays and nothing else changes.
    """
    with db.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'rum'")
        if cursor.fetchone() is None:
            logger.warning(
                "PostgreSQL has no RUM extension (postgresql-15-rum): search keeps its GIN index."
            )
            return False
        try:
            with transaction.atomic(using=db.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS rum")
        except DatabaseError as error:
            logger.warning("Could not create the RUM extension (%s): search keeps GIN.", error)
            return False
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON search_document "
            "USING rum (vector rum_tsvector_ops)"
        )
        cursor.execute(f"DROP INDEX IF EXISTS {GIN_INDEX}")
    _present.clear()
    return True


def drop_rum_index(db: BaseDatabaseWrapper) -> None:
    """Put the GIN index back in place of the RUM index (the extension itself stays)."""
    with db.cursor() as cursor:
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {GIN_INDEX} ON search_document USING gin (vector)"
        )
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    _present.clear()


def in_use(db: BaseDatabaseWrapper | None = None) -> bool:
    """Whether searches on `db` (default: the default database; a search passes the one it
    reads, the read replica when there is one) use the RUM index: it exists there and
    ONCE_SEARCH_RUM is on.

    Checked once per process and database; when the index is missing, logs one warning.
    """
    db = db or connection
    if not settings.ONCE_SEARCH_RUM:
        return False
    name = str(db.settings_dict["NAME"])
    if name not in _present:
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
                "WHERE c.relname = %s AND i.indisvalid",
                [INDEX],
            )
            _present[name] = cursor.fetchone() is not None
        if not _present[name]:
            logger.warning(
                "Search runs without the RUM index: phrases and very common words are slower. "
                "Install postgresql-15-rum and run `manage.py rebuild_search_index --rum` "
                "(docs/operations.md)."
            )
    return _present[name]


def forget() -> None:
    """Check again on the next search (after the index was created or dropped)."""
    _present.clear()
