import csv
import io
from decimal import Decimal

import pytest

from orders import services as order_services
from orders.services import LineRequest
from suppliers.models import Supplier
from tests.factories import DEMO_SHIP_TO, ProductFactory, UserFactory

STAFF_EMAIL = "staff@phoneexport.test"


def luhn_imei(body: str) -> str:
    """A 15-digit IMEI: the 14 digits given and their Luhn check digit."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return body + str((10 - total % 10) % 10)


def imeis(count: int, start: int = 35000000000000) -> list[str]:
    return [luhn_imei(str(start + number)) for number in range(count)]


def imei_csv(rows: list[tuple[str, str]]) -> bytes:
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(["SKU", "IMEI"])
    writer.writerows(rows)
    return output.getvalue().encode()


@pytest.fixture(autouse=True)
def _manual_settings(settings):
    settings.STAFF_EMAIL = STAFF_EMAIL
    settings.SITE_URL = "https://phoneexport.test"


@pytest.fixture
def manual_supplier(db):
    supplier = Supplier.objects.get(slug="wesellcellular")
    supplier.route = Supplier.Route.MANUAL
    supplier.order_desk_email = "orders@wsc.test"
    supplier.save()
    return supplier


@pytest.fixture
def buyer(db):
    return UserFactory(email="buyer@acme.test")


@pytest.fixture
def products(db):
    return [ProductFactory(offer__quantity=20),
            ProductFactory(offer__quantity=20, sell_price=Decimal("199.99"))]


def place(buyer, products, quantities=(2, 1)):
    return order_services.place_order(
        company=buyer.company, user=buyer, ship_to=DEMO_SHIP_TO, po_reference="PO-9",
        lines=[LineRequest(sku=product.sku, quantity=quantity)
               for product, quantity in zip(products, quantities)])
