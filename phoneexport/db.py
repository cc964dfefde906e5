"""Database statements the ORM has no single call for."""

from django.db import connection, models


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
    quote = connection.ops.quote_name
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    keys = [model._meta.get_field(name) for name in unique_fields]
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = (f"INSERT INTO {quote(model._meta.db_table)} "
           f"({', '.join(quote(field.column) for field in fields)}) "
           f"VALUES {', '.join([row] * len(instances))} "
           f"ON CONFLICT ({', '.join(quote(key.column) for key in keys)}) DO NOTHING "
           f"RETURNING {quote(model._meta.pk.column)}, "
           f"{', '.join(quote(key.column) for key in keys)}")
    params = [field.get_db_prep_save(field.pre_save(instance, add=True), connection)
              for instance in instances for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
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
    meta = type(instances[0])._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    # pre_save: an auto_now field named in `fields` takes the time, as in Model.save.
    rows = [[field.get_db_prep_save(field.pre_save(instance, add=False), connection)
             for field in columns] for instance in instances]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s",
                               [(*row, instance.pk) for row, instance in zip(rows, instances)])
            return
        # Typed placeholders: VALUES would otherwise take a column of NULLs for text.
        row = ", ".join(f"%s::{field.db_type(connection)}" for field in [meta.pk, *columns])
        names = ", ".join(quote(field.column) for field in [meta.pk, *columns])
        assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}"
                                for field in columns)
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([f'({row})'] * len(rows))})"
            f" AS v ({names}) WHERE {table}.{pk} = v.{pk}",
            [value for instance, row_values in zip(instances, rows)
             for value in (instance.pk, *row_values)])
