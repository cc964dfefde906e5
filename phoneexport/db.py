"""Database statements the ORM has no single call for."""

from functools import cache

from django.db import connection, models


def insert_unless_conflict(instance: models.Model, *, unique_fields: tuple[str, ...]) -> bool:
    """INSERT the new `instance` unless a row with the same `unique_fields` exists.

    One statement (INSERT ... ON CONFLICT DO NOTHING RETURNING), on PostgreSQL and SQLite
    alike: no exception, savepoint or second query for a repeat. Sets the primary key and
    returns True when inserted; returns False, leaving `instance` unsaved, on a conflict.
    """
    model = type(instance)
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    params = [field.get_db_prep_save(field.pre_save(instance, add=True), connection)
              for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, connection.vendor, unique_fields), params)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return True


def insert_new(instances: list[models.Model], *, unique_field: str) -> list[models.Model]:
    """INSERT the new `instances`, skipping those whose `unique_field` value is stored.

    One statement, as `insert_unless_conflict`; a concurrent insert of the same value is
    skipped too, with no error to recover from. Returns the inserted instances, primary
    keys set.
    """
    if not instances:
        return []
    model = type(instances[0])
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    key_field = model._meta.get_field(unique_field)
    quote = connection.ops.quote_name
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = (f"INSERT INTO {quote(model._meta.db_table)} "
           f"({', '.join(quote(field.column) for field in fields)}) "
           f"VALUES {', '.join([row] * len(instances))} "
           f"ON CONFLICT ({quote(key_field.column)}) DO NOTHING "
           f"RETURNING {quote(model._meta.pk.column)}, {quote(key_field.column)}")
    params = [field.get_db_prep_save(field.pre_save(instance, add=True), connection)
              for instance in instances for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        new_ids = dict((key, pk) for pk, key in cursor.fetchall())
    inserted = []
    for instance in instances:
        if getattr(instance, key_field.attname) in new_ids:
            instance.pk = new_ids[getattr(instance, key_field.attname)]
            instance._state.adding = False
            instance._state.db = connection.alias
            inserted.append(instance)
    return inserted


@cache
def _insert_sql(model: type[models.Model], vendor: str, unique_fields: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    conflict = ", ".join(quote(model._meta.get_field(name).column) for name in unique_fields)
    return (f"INSERT INTO {quote(model._meta.db_table)} "
            f"({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) "
            f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {quote(model._meta.pk.column)}")
