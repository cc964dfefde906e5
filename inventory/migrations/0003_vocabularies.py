"""Our grade scale, carriers and warehouses, mapped from the codes WeSellCellular uses today,
so that a fresh install sells the supplier's feed at once. Staff edit all of it in admin."""

from django.db import migrations

GRADES = [  # (our code, name, description, WeSellCellular code), best first
    ("A+", "A+ Pristine", "No visible wear.", "A+"),
    ("A", "A Excellent", "Minimal signs of use.", "A"),
    ("B+", "B+ Very good", "Light scratches.", "B+"),
    ("B", "B Good", "Visible scratches, no cracks.", "B"),
    ("C", "C Fair", "Heavy wear, fully working.", "C"),
    ("D", "D Poor", "Cracks or dents, fully working.", "D"),
]
CARRIERS = [  # (our code, name, unlocked, WeSellCellular code)
    ("unlocked", "Unlocked", True, "Unlocked"),
    ("att", "AT&T", False, "AT&T"),
    ("verizon", "Verizon", False, "Verizon"),
    ("tmobile", "T-Mobile", False, "T-Mobile"),
]
WAREHOUSES = [  # (our code, name, description, WeSellCellular code)
    ("wsc", "WeSellCellular warehouse", "The supplier's own stock.", "wsc-direct"),
    ("partner", "Partner warehouse", "Third-party stock shipped by a partner of the supplier; "
     "slower, basic warranty only.", "supplier-direct"),
]


def add_vocabularies(apps, schema_editor):
    Supplier = apps.get_model("suppliers", "Supplier")
    supplier = Supplier.objects.get(slug="wesellcellular")
    Grade, GradeMapping = apps.get_model("inventory", "Grade"), apps.get_model("inventory", "GradeMapping")
    Carrier, CarrierMapping = apps.get_model("inventory", "Carrier"), apps.get_model("inventory", "CarrierMapping")
    Warehouse = apps.get_model("inventory", "Warehouse")
    WarehouseMapping = apps.get_model("inventory", "WarehouseMapping")
    for rank, (code, name, description, supplier_code) in enumerate(GRADES, start=1):
        grade, _ = Grade.objects.get_or_create(
            code=code, defaults={"name": name, "rank": rank, "description": description})
        GradeMapping.objects.get_or_create(supplier=supplier, supplier_code=supplier_code,
                                           defaults={"target": grade})
    for code, name, is_unlocked, supplier_code in CARRIERS:
        carrier, _ = Carrier.objects.get_or_create(
            code=code, defaults={"name": name, "is_unlocked": is_unlocked})
        CarrierMapping.objects.get_or_create(supplier=supplier, supplier_code=supplier_code,
                                             defaults={"target": carrier})
    for code, name, description, supplier_code in WAREHOUSES:
        warehouse, _ = Warehouse.objects.get_or_create(
            code=code, defaults={"name": name, "description": description})
        WarehouseMapping.objects.get_or_create(supplier=supplier, supplier_code=supplier_code,
                                               defaults={"target": warehouse})


class Migration(migrations.Migration):
    dependencies = [("inventory", "0002_initial"), ("suppliers", "0002_wesellcellular")]
    operations = [migrations.RunPython(add_vocabularies, migrations.RunPython.noop)]
