"""Demo data for development and trials: idempotent, so `make run` can call it every time."""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from customers.models import ClientCompany, PricingTier, ShippingAddress, User
from customers.services import api_token_for

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


@dataclass(frozen=True)
class DemoSummary:
    staff_email: str | None
    client_emails: list[str]
    # Each client user's API token, by email.
    api_tokens: dict[str, str]


def seed_demo() -> DemoSummary:
    """Create or refresh the demo companies and users; safe to run any number of times.

    The catalogue is not seeded: it comes from the supplier (the sandbox under `make run`)
    through the inventory sync, which starts as soon as Celery beat does.
    """
    with transaction.atomic():
        staff_email = _seed_staff() if settings.DEBUG else None
        client_emails = _seed_companies()
        api_tokens = {user.email: api_token_for(user=user)
                      for user in User.objects.filter(email__in=client_emails)}
    return DemoSummary(staff_email=staff_email, client_emails=client_emails,
                       api_tokens=api_tokens)


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
