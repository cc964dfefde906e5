"""Demo data for development and trials: idempotent, so `make run` can call it every time."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction

from customers.models import ClientCompany, PricingTier, ShippingAddress, User
from inventory.models import Carrier, Grade, Product, SupplierOffer, Warehouse
from suppliers.models import Supplier

DEMO_PASSWORD = "phoneexport-demo"
STAFF_EMAIL = "admin@phoneexport.example"

TIERS = [("bronze", "Bronze", 1), ("silver", "Silver", 2), ("gold", "Gold", 3)]
COMPANIES = [
    # (account number, name, tier, language, address)
    ("C-1001", "Acme Mobile LLC", "gold", "en",
     ("Acme Mobile LLC", "Jane Roe", "+1 305 555 0100", "1 Main St", "Miami", "FL", "33101", "US")),
    ("C-1002", "Bravo Wireless Inc.", "silver", "en",
     ("Bravo Wireless Inc.", "John Poe", "+1 212 555 0199", "200 Broadway", "New York", "NY",
      "10007", "US")),
    ("C-1003", "Celulares del Sur S.A.", "bronze", "es",
     ("Celulares del Sur S.A.", "Ana Gómez", "+1 786 555 0142", "8200 NW 25th St", "Doral", "FL",
      "33122", "US")),
]
ROLES = [User.Role.ACCOUNT_ADMIN, User.Role.BUYER, User.Role.VIEWER]

# (manufacturer, model, code, storages, colours, base cost of the smallest storage)
MODELS = [
    ("Apple", "iPhone 13", "APL-IP13", [128, 256], [("Black", "BLK"), ("Blue", "BLU")], "412.50"),
    ("Apple", "iPhone 14 Pro", "APL-IP14P", [128, 256], [("Space Black", "SBK")], "655.00"),
    ("Samsung", "Galaxy S23", "SAM-S23", [128, 256], [("Phantom Black", "PBK")], "385.00"),
    ("Google", "Pixel 8", "GGL-PX8", [128], [("Obsidian", "OBS"), ("Hazel", "HZL")], "330.00"),
]
GRADE_DISCOUNTS = {"A+": Decimal("1.00"), "A": Decimal("0.93"), "B": Decimal("0.82")}
DEMO_MARKUP = Decimal("1.08")


@dataclass(frozen=True)
class DemoSummary:
    staff_email: str | None
    client_emails: list[str]
    products: int


def seed_demo() -> DemoSummary:
    """Create or refresh the demo companies, users and catalogue; safe to run any number of times."""
    with transaction.atomic():
        staff_email = _seed_staff() if settings.DEBUG else None
        client_emails = _seed_companies()
        products = _seed_catalogue()
    return DemoSummary(staff_email=staff_email, client_emails=client_emails, products=products)


def _seed_staff() -> str:
    # Development only: a known password on a superuser must never reach production.
    if not User.objects.filter(email=STAFF_EMAIL).exists():
        User.objects.create_superuser(email=STAFF_EMAIL, password=DEMO_PASSWORD,
                                      first_name="Demo", last_name="Staff")
    return STAFF_EMAIL


def _seed_companies() -> list[str]:
    tiers = {code: PricingTier.objects.update_or_create(code=code,
                                                        defaults={"name": name, "rank": rank})[0]
             for code, name, rank in TIERS}
    emails = []
    for account_number, name, tier_code, language, address in COMPANIES:
        company, _ = ClientCompany.objects.update_or_create(
            account_number=account_number, defaults={"name": name, "pricing_tier": tiers[tier_code]})
        company_name, contact, phone, line1, city, region, postal_code, country = address
        ShippingAddress.objects.update_or_create(
            company=company, label="Main warehouse",
            defaults={"company_name": company_name, "contact_name": contact, "phone": phone,
                      "line1": line1, "city": city, "region": region,
                      "postal_code": postal_code, "country": country, "is_default": True})
        slug = account_number.lower().replace("-", "")
        for role in ROLES:
            email = f"{role.replace('_', '-')}@{slug}.example"
            if not User.objects.filter(email=email).exists():
                User.objects.create_user(email=email, password=DEMO_PASSWORD, company=company,
                                         role=role, language=language)
            emails.append(email)
    return emails


def _seed_catalogue() -> int:
    supplier = Supplier.objects.get(slug="wesellcellular")
    unlocked = Carrier.objects.get(code="unlocked")
    warehouse = Warehouse.objects.get(code="wsc")
    grades = {grade.code: grade for grade in Grade.objects.filter(code__in=GRADE_DISCOUNTS)}
    count = 0
    for manufacturer, model_name, code, storages, colours, base_cost in MODELS:
        for storage_index, storage_gb in enumerate(storages):
            for colour, colour_code in colours:
                for grade_code, discount in GRADE_DISCOUNTS.items():
                    sku = f"{code}-{storage_gb}-{colour_code}-{grade_code}-UNL"
                    cost = (Decimal(base_cost) * (1 + Decimal("0.15") * storage_index)
                            * discount).quantize(Decimal("0.01"), ROUND_HALF_UP)
                    product, _ = Product.objects.update_or_create(sku=sku, defaults={
                        "manufacturer": manufacturer, "model_name": model_name,
                        "storage_gb": storage_gb, "colour": colour, "grade": grades[grade_code],
                        "carrier": unlocked, "warehouse": warehouse,
                        "sell_price": (cost * DEMO_MARKUP).quantize(Decimal("0.01"), ROUND_HALF_UP)})
                    SupplierOffer.objects.update_or_create(
                        supplier=supplier, supplier_sku=sku,
                        defaults={"product": product, "manufacturer": manufacturer,
                                  "model_name": model_name, "storage_gb": storage_gb,
                                  "colour": colour, "grade_code": grade_code,
                                  "carrier_code": "Unlocked", "warehouse_code": "wsc-direct",
                                  "quantity": 25 + 10 * count % 90, "cost_price": cost})
                    count += 1
    return count
