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
