"""One rule for everything, so products from a fresh install's first sync have a sell price.
Staff edit it, or add more specific rules, in admin."""

from decimal import Decimal

from django.db import migrations


def add_default_rule(apps, schema_editor):
    PricingRule = apps.get_model("inventory", "PricingRule")
    if not PricingRule.objects.exists():
        PricingRule.objects.create(name="Standard markup", markup_percent=Decimal("8.00"),
                                   rounding="cent")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0004_sync_runs_pricing_rules_price_history")]
    operations = [migrations.RunPython(add_default_rule, migrations.RunPython.noop)]
