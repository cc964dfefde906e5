from django.db import migrations


def add_wesellcellular(apps, schema_editor):
    Supplier = apps.get_model("suppliers", "Supplier")
    Supplier.objects.get_or_create(slug="wesellcellular", defaults={"name": "WeSellCellular"})


class Migration(migrations.Migration):
    dependencies = [("suppliers", "0001_initial")]
    operations = [migrations.RunPython(add_wesellcellular, migrations.RunPython.noop)]
