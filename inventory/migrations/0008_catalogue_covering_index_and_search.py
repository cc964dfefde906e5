from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations, models


class SearchText(models.Func):
    # inventory.models.SearchText as of this migration.
    template = "UPPER(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = models.TextField()


# inventory.models.PRODUCT_SEARCH_TEXT: the search's SQL must match this expression.
SEARCH_INDEX = GinIndex(
    OpClass(SearchText("sku", "manufacturer", "model_name", "colour"), name="gin_trgm_ops"),
    name="product_search")


def add_search_index(apps, schema_editor):
    # A trigram index exists on PostgreSQL only; on SQLite the search reads the table, which
    # is fine at the sizes SQLite serves (development and tests).
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.add_index(apps.get_model("inventory", "Product"), SEARCH_INDEX)


def remove_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("inventory", "Product"), SEARCH_INDEX)


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0007_catalogue_order_index'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='product',
            name='product_price',
        ),
        migrations.RemoveIndex(
            model_name='product',
            name='product_catalogue',
        ),
        migrations.AddIndex(
            model_name='product',
            index=models.Index(fields=['manufacturer', 'model_name', 'storage_gb', 'colour', 'sku'], include=('is_active', 'sell_price', 'grade', 'carrier', 'warehouse', 'id'), name='product_catalogue'),
        ),
        migrations.AddIndex(
            model_name='product',
            index=models.Index(fields=['sell_price', 'id'], name='product_price'),
        ),
        migrations.RunPython(add_search_index, remove_search_index),
    ]
