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


@cache
def _insert_sql(model: type[models.Model], vendor: str, unique_fields: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    conflict = ", ".join(quote(model._meta.get_field(name).column) for name in unique_fields)
    return (f"INSERT INTO {quote(model._meta.db_table)} "
            f"({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) "
            f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {quote(model._meta.pk.column)}")
