"""Bulk writes for the inventory: COPY on PostgreSQL, executemany elsewhere.

Each statement names its columns and writes nothing else, so a checkout that raises
`reserved_quantity` at the same moment loses nothing. Callers hold a transaction, and lock
offers with `lock_rows` before updating them: in primary-key order, the order checkouts lock
them in, so a sync and a checkout wait for each other instead of deadlocking.
"""

import csv
import io
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from django.db import connection, models
from django.db.models import F, Lookup, Q

# SQLite refuses statements with more than 999 parameters in older builds.
_SQLITE_IN_CHUNK = 900
_IN_CHUNK = 10_000


def chunks(values: Sequence[Any], size: int | None = None) -> Iterator[Sequence[Any]]:
    """Slices of `values` small enough for one `IN (...)` on this database."""
    size = size or (_SQLITE_IN_CHUNK if connection.vendor == "sqlite" else _IN_CHUNK)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def among(field: str, values: Sequence[Any]) -> Q:
    """`field` is one of `values` (a chunk from `chunks`): one array parameter on PostgreSQL,
    where a long `IN (...)` list is slow to send and plan."""
    if connection.vendor == "postgresql":
        return Q(_EqualsAny(F(field), list(values)))
    return Q(**{f"{field}__in": values})


class _EqualsAny(Lookup):
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, self.rhs]


def lock_rows(model: type[models.Model], pks: Sequence[int]) -> None:
    """Lock rows in ascending primary-key order, as checkouts do, before updating them."""
    if not connection.features.has_select_for_update:
        return  # SQLite: the write transaction already holds the whole database
    for chunk in chunks(sorted(pks)):
        list(model._default_manager.select_for_update().filter(among("pk", chunk))
             .order_by("pk").values_list("pk", flat=True))


def insert_rows(model: type[models.Model], fields: Sequence[str],
                rows: Sequence[tuple]) -> None:
    """Insert `rows` (values in the order of `fields`) into the model's table."""
    if not rows:
        return
    table, columns = _table(model), _columns(model, fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy(cursor, model, table, fields, rows)
            return
        placeholders = ", ".join(["%s"] * len(fields))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
                           _adapted(model, fields, rows))


def insert_rows_with_ids(model: type[models.Model], fields: Sequence[str],
                         rows: Sequence[tuple], *, key: str) -> dict[Any, int]:
    """Insert `rows` as `insert_rows` does; the new primary keys by the value of `key`, a
    unique field among `fields`.

    On PostgreSQL the keys are drawn from the table's sequence first and written with the
    rows, so nothing is read back; elsewhere the rows are read back by `key`.
    """
    if not rows:
        return {}
    position = fields.index(key)
    if connection.vendor != "postgresql":
        insert_rows(model, fields, rows)
        ids: dict[Any, int] = {}
        for chunk in chunks([row[position] for row in rows]):
            ids.update(model._default_manager.filter(among(key, chunk)).order_by()
                       .values_list(key, "pk"))
        return ids
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)",
                       [model._meta.db_table, model._meta.pk.column])
        (sequence,) = cursor.fetchone()
        # The sequence named once: looked up for each row, it costs more than the values.
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                       [sequence, len(rows)])
        new_ids = [new_id for (new_id,) in cursor.fetchall()]
        _copy(cursor, model, _table(model), (model._meta.pk.name, *fields),
              [(new_id, *row) for new_id, row in zip(new_ids, rows)])
    return {row[position]: new_id for row, new_id in zip(rows, new_ids)}


def update_rows(model: type[models.Model], fields: Sequence[str],
                rows: Sequence[tuple]) -> None:
    """Set `fields` on the rows given as (primary key, *values in the order of `fields`)."""
    if not rows:
        return
    table, columns = _table(model), _columns(model, fields)
    pk = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _update_from_stage(cursor, model, table, pk, fields, columns, rows)
            return
        assignments = ", ".join(f"{column} = %s" for column in columns)
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s",
                           [(*values, key) for key, *values in
                            _adapted(model, (model._meta.pk.name, *fields), rows)])


def _update_from_stage(cursor, model, table: str, pk: str, fields: Sequence[str],
                       columns: list[str], rows: Sequence[tuple]) -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("update_rows needs a transaction on PostgreSQL (its stage table "
                           "lives until commit).")
    stage = connection.ops.quote_name(f"inventory_stage_{uuid.uuid4().hex[:12]}")
    cursor.execute(f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
                   f"SELECT {pk}, {', '.join(columns)} FROM {table} WITH NO DATA")
    _copy(cursor, model, stage, (model._meta.pk.name, *fields), rows)
    # Without statistics the planner guesses the stage large and scans the whole table.
    cursor.execute(f"ANALYZE {stage}")
    assignments = ", ".join(f"{column} = stage.{column}" for column in columns)
    cursor.execute(f"UPDATE {table} target SET {assignments} FROM {stage} stage "
                   f"WHERE target.{pk} = stage.{pk}")
    cursor.execute(f"DROP TABLE {stage}")


def _copy(cursor, model, table: str, fields: Sequence[str], rows: Iterable[tuple]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(_with_dates_as_text(model, fields, rows))
    buffer.seek(0)
    columns = _columns(model, fields)
    # In CSV an empty unquoted field reads as NULL; text columns that take no NULL read it
    # as the empty string instead.
    text_columns = [column for field, column in zip(fields, columns)
                    if _is_text(model._meta.get_field(field))]
    options = "FORMAT csv"
    if text_columns:
        options += f", FORCE_NOT_NULL ({', '.join(text_columns)})"
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH ({options})",
                       buffer)


def _with_dates_as_text(model, fields: Sequence[str], rows: Iterable[tuple]) -> Iterable:
    """Rows with their datetimes as text, each distinct one formatted once: formatting a
    datetime costs more than the rest of a row, and a batch shares its timestamps."""
    positions = [index for index, field in enumerate(fields)
                 if isinstance(model._meta.get_field(field), models.DateTimeField)]
    if not positions:
        return rows
    texts: dict[Any, str] = {}

    def formatted(row: tuple) -> list:
        row = list(row)
        for index in positions:
            value = row[index]
            if value is not None:
                text = texts.get(value)
                if text is None:
                    text = texts[value] = value.isoformat()
                row[index] = text
        return row

    return map(formatted, rows)


def _is_text(field: models.Field) -> bool:
    return isinstance(field, (models.CharField, models.TextField)) and not field.null


def _adapted(model, fields: Sequence[str], rows: Iterable[tuple]) -> list[tuple]:
    """Rows with dates in the form Django stores them in on this database."""
    adapters: list[Callable[[Any], Any] | None] = [
        connection.ops.adapt_datetimefield_value
        if isinstance(model._meta.get_field(field), models.DateTimeField) else None
        for field in fields]
    if not any(adapters):
        return list(rows)
    return [tuple(value if adapt is None else adapt(value)
                  for adapt, value in zip(adapters, row)) for row in rows]


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns(model, fields: Sequence[str]) -> list[str]:
    return [connection.ops.quote_name(model._meta.get_field(field).column) for field in fields]


def analyze(columns: dict[type[models.Model], Sequence[str]]) -> None:
    """Refresh PostgreSQL's statistics of these columns after a bulk load (SQLite plans
    without them). The row counts are refreshed with them, and matter most; sampling only the
    columns lookups filter on costs a third of a whole-table ANALYZE, and autovacuum's own
    ANALYZE catches up with the rest."""
    if connection.vendor != "postgresql":
        return
    targets = ", ".join(f"{_table(model)} ({', '.join(_columns(model, fields))})"
                        for model, fields in columns.items())
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {targets}")
