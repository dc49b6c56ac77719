"""Inserting many new rows fast, for imports: PostgreSQL's COPY, bulk_create elsewhere.

`create_with_history` also writes each row's first history record (django-simple-history),
as saving would, so bulk imports never go missing from the edit history. Neither calls
`save()` or sends model signals: callers check their rows first (`full_clean`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils import timezone
from simple_history.utils import bulk_create_with_history


def relax_commit_durability() -> None:
    """Let this transaction's commit return before its WAL reaches the disk (PostgreSQL).

    For idempotent bulk imports only: a server crash can lose the last moment of batches,
    never corrupt anything, and running the import again restores them. Saves a disk flush
    per batch.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert plain rows (values for `fields`, by attribute name) without building objects."""
    if not rows:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            model(**dict(zip(fields, row, strict=True))) for row in rows
        )
        return
    # Names of concrete fields, which have a column: get_field's type also admits reverse
    # relations, and Field.column admits None (before the field joins a model).
    columns = [cast(str, cast(models.Field, model._meta.get_field(name)).column) for name in fields]
    with connection.cursor() as cursor:
        _copy(cursor, model._meta.db_table, columns, rows)


def insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert new rows and set their primary keys."""
    if not objs:
        return
    # The connection object itself: the `connection` proxy costs a lookup per value.
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return
    pk = model._meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        # Reserve the ids first, so that children can point at their parents in the same COPY.
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, pk.column, len(objs)],
        )
        for obj, (value,) in zip(objs, cursor.fetchall(), strict=True):
            setattr(obj, pk.attname, value)
        fields = model._meta.concrete_fields
        rows = (
            [field.get_db_prep_save(field.pre_save(obj, add=True), connection) for field in fields]
            for obj in objs
        )
        _copy(cursor, model._meta.db_table, [cast(str, f.column) for f in fields], rows)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def create_with_history(
    model: type[models.Model], objs: Sequence[models.Model], *, user: Any = None
) -> None:
    """Insert new rows of a model with simple-history, each with its "created" history record."""
    if not objs:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        created = bulk_create_with_history(objs, model, default_user=user)
        _keep_json_extras(model, objs, created)
        return
    insert(model, objs)
    history = model.history.model  # type: ignore[attr-defined]  # simple-history adds it to the class
    now = timezone.now()
    specials = {
        "history_date": now,
        "history_change_reason": None,
        "history_type": "+",
        "history_user_id": user.pk if user is not None else None,
    }
    fields = [f for f in history._meta.concrete_fields if not f.primary_key]
    names = [f.attname for f in fields]
    # JSON columns travel as their text; a value the object doesn't have is NULL.
    as_json = {f.attname for f in fields if isinstance(f, models.JSONField)}
    rows = (
        [
            specials[name]
            if name in specials
            else _json(getattr(obj, name, None))
            if name in as_json
            else getattr(obj, name)
            for name in names
        ]
        for obj in objs
    )
    with connection.cursor() as cursor:
        _copy(cursor, history._meta.db_table, [f.column for f in fields], rows)


def _keep_json_extras(
    model: type[models.Model], objs: Sequence[models.Model], created: Sequence[models.Model]
) -> None:
    """Copy what the history model adds (its JSON fields, e.g. an incident's `parts`) from the
    objects to their new history records: simple-history's bulk create copies only the
    model's own fields, so without this an import on SQLite kept no parts and history could
    not show the next version's deleted timeline entries (issue 15, item 4)."""
    history = model.history.model  # type: ignore[attr-defined]  # simple-history adds it to the class
    own = {f.attname for f in model._meta.concrete_fields}
    extras = [
        f.attname
        for f in history._meta.concrete_fields
        if isinstance(f, models.JSONField) and f.attname not in own
    ]
    for obj, row in zip(objs, created, strict=True):
        values = {name: getattr(obj, name) for name in extras if hasattr(obj, name)}
        if values:
            history.objects.filter(id=row.pk, history_type="+").update(**values)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _copy(cursor: Any, table: str, columns: list[str], rows: Any) -> None:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
