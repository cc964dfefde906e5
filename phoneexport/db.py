"""Database statements the ORM has no single call for."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, models

_pending_inserts: ContextVar[list[models.Model] | None] = ContextVar("pending_inserts",
                                                                    default=None)


@contextmanager
def batched_inserts() -> Iterator[None]:
    """Within the block, `insert_later` collects new rows, and the block's end writes them:
    one statement per model instead of one per row.

    For a batch applied in one transaction (enter the block inside it), when nothing reads
    those rows back before the batch ends. An exception discards them with the transaction;
    a savepoint rolled back inside the block would not, so the batch must not go on after one.
    """
    pending: list[models.Model] = []
    token = _pending_inserts.set(pending)
    try:
        yield
    finally:
        _pending_inserts.reset(token)
    by_model: dict[type[models.Model], list[models.Model]] = {}
    for instance in pending:
        by_model.setdefault(type(instance), []).append(instance)
    for model, instances in by_model.items():
        model.objects.bulk_create(instances)


def insert_later(instance: models.Model) -> None:
    """Insert a new instance now, or at the end of the enclosing `batched_inserts()`."""
    pending = _pending_inserts.get()
    if pending is None:
        instance.save(force_insert=True)
    else:
        pending.append(instance)


def insert_new(instances: list[models.Model], *,
               unique_fields: tuple[str, ...]) -> list[models.Model]:
    """INSERT the new `instances`, skipping those whose `unique_fields` values are stored.

    One statement (INSERT ... ON CONFLICT DO NOTHING RETURNING), on PostgreSQL and SQLite
    alike: a repeat, or a concurrent insert of the same values, is skipped with no error,
    savepoint or second query. Returns the inserted instances, primary keys set.
    """
    if not instances:
        return []
    model = type(instances[0])
    fields, keys, head, row, tail = _insert_statement(model, tuple(unique_fields))
    params = [field.get_db_prep_save(field.pre_save(instance, add=True), connection)
              for instance in instances for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(f"{head}{', '.join([row] * len(instances))}{tail}", params)
        new_ids = {tuple(values): pk for pk, *values in cursor.fetchall()}
    inserted = []
    for instance in instances:
        pk = new_ids.get(tuple(getattr(instance, key.attname) for key in keys))
        if pk is not None:
            instance.pk = pk
            instance._state.adding = False
            instance._state.db = connection.alias
            inserted.append(instance)
    return inserted


# The statements' text depends only on the model and the columns: built once per process
# (building it for every call cost as much as the rest of a hot path's write).
@functools.cache
def _insert_statement(model: type[models.Model], unique_fields: tuple[str, ...]):
    quote = connection.ops.quote_name
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    keys = [model._meta.get_field(name) for name in unique_fields]
    head = (f"INSERT INTO {quote(model._meta.db_table)} "
            f"({', '.join(quote(field.column) for field in fields)}) VALUES ")
    row = f"({', '.join(['%s'] * len(fields))})"
    tail = (f" ON CONFLICT ({', '.join(quote(key.column) for key in keys)}) DO NOTHING "
            f"RETURNING {quote(model._meta.pk.column)}, "
            f"{', '.join(quote(key.column) for key in keys)}")
    return fields, keys, head, row, tail


def insert_unless_conflict(instance: models.Model, *, unique_fields: tuple[str, ...]) -> bool:
    """`insert_new` for one instance: True when inserted, False when its values are stored."""
    return bool(insert_new([instance], unique_fields=unique_fields))


def update_instances(instances: list[models.Model], *, fields: list[str]) -> None:
    """Save `fields` of each of `instances` (one model) in one statement.

    For hot paths: what `save(update_fields=...)` and `bulk_update` do (no signals are
    sent; none are used), without building a CASE expression per field and row in
    Python (most of its cost for a few dozen rows): on PostgreSQL one
    `UPDATE ... FROM (VALUES ...)`, on SQLite one statement executed per row.
    """
    if not instances:
        return
    columns, head, row, tail = _update_statement(type(instances[0]), tuple(fields))
    # pre_save: an auto_now field named in `fields` takes the time, as in Model.save.
    rows = [[field.get_db_prep_save(field.pre_save(instance, add=False), connection)
             for field in columns] for instance in instances]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(head, [(*row_values, instance.pk)
                                      for row_values, instance in zip(rows, instances)])
            return
        cursor.execute(f"{head}{', '.join([row] * len(rows))}{tail}",
                       [value for instance, row_values in zip(instances, rows)
                        for value in (instance.pk, *row_values)])


@functools.cache
def _update_statement(model: type[models.Model], fields: tuple[str, ...]):
    """The columns, and the statement around its rows of values (SQLite: the whole
    statement for one row, executed per row)."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    if connection.vendor != "postgresql":
        assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
        return columns, f"UPDATE {table} SET {assignments} WHERE {pk} = %s", "", ""
    # Typed placeholders: VALUES would otherwise take a column of NULLs for text.
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}"
                          for field in [meta.pk, *columns]) + ")"
    names = ", ".join(quote(field.column) for field in [meta.pk, *columns])
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}"
                            for field in columns)
    return (columns, f"UPDATE {table} SET {assignments} FROM (VALUES ", row,
            f") AS v ({names}) WHERE {table}.{pk} = v.{pk}")
