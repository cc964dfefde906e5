"""A client switches the portal to Spanish and places an order that waits for approval."""

from decimal import Decimal

import pytest
from django.utils import translation

from customers.models import User
from orders.models import Order
from orders.states import OrderStatus
from suppliers.models import SupplierOrder
from tests.conftest import screenshot
from tests.factories import ClientCompanyFactory, ProductFactory, ShippingAddressFactory
from tests.portal.conftest import queued_tasks  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
PASSWORD = "a-long-password"


@pytest.fixture
def buyer(reference_data):
    company = ClientCompanyFactory(name="Móviles Andinos", credit_limit=Decimal("500.00"))
    ShippingAddressFactory(company=company, label="Bogotá", is_default=True)
    return User.objects.create_user(email="compras@andinos.example", password=PASSWORD,
                                    company=company, role=User.Role.BUYER, language="en")


def spanish(text) -> str:
    with translation.override("es"):
        return str(text)


def test_a_client_in_spanish_places_an_order_that_waits_for_approval(
        live_server, browser_page, buyer, queued_tasks):
    product = ProductFactory(sku="APL-IP13-128-BLK-A", sell_price=Decimal("450.00"))
    page = browser_page

    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=username]").fill(buyer.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.locator("form.language").wait_for()
    page.locator("#language-select").select_option("es")
    page.locator("form.language button[type=submit]").click()
    page.wait_for_function("document.documentElement.lang === 'es'")
    buyer.refresh_from_db()
    assert buyer.language == "es"  # kept on the user, for every later visit and email
    screenshot(page, "spanish-1-home")

    page.goto(f"{live_server.url}/catalogue/")
    assert page.locator("html").get_attribute("lang") == "es"
    row = page.locator("table.catalogue tbody tr", has_text=product.sku)
    row.locator("input[name=quantity]").fill("2")
    row.locator("form.quick-add button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/catalogue/**")
    screenshot(page, "spanish-2-catalogue")

    page.goto(f"{live_server.url}/cart/checkout/")
    page.locator("input[name=po_reference]").fill("OC-2026-311")
    screenshot(page, "spanish-3-checkout")
    page.locator("form[data-submit-once] button[type=submit]").click()
    page.locator("h1").wait_for()

    order = Order.objects.get()
    assert order.status == OrderStatus.AWAITING_APPROVAL  # 900 is over 80 % of 500
    assert page.locator("strong.status").inner_text() == spanish(OrderStatus.AWAITING_APPROVAL.label)
    assert page.locator("html").get_attribute("lang") == "es"
    screenshot(page, "spanish-4-awaiting-approval")
    assert SupplierOrder.objects.get(order=order).forwarding_state == \
        SupplierOrder.ForwardingState.AWAITING_APPROVAL
    assert not [name for name, _args in queued_tasks
                if name == "suppliers.tasks.forward_due_supplier_orders"]
    # The client's email about it is in Spanish too.
    assert order.notifications.get(recipient_email=buyer.email).language == "es"
