"""Full-text backends: one interface (base.py), one implementation per database vendor."""

from __future__ import annotations

from django.db import connection

from search.backends.base import SearchBackend


def backend() -> SearchBackend:
    """The backend for the database in use: PostgreSQL in production, SQLite embedded."""
    if connection.vendor == "postgresql":
        from search.backends.postgresql import PostgreSQLBackend

        return PostgreSQLBackend()
    from search.backends.sqlite import SQLiteBackend

    return SQLiteBackend()
