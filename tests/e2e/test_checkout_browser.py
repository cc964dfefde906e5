"""A buyer in a real browser: sign in, filter the catalogue, add to cart, check out."""

import pytest

from customers.models import User
from orders.models import Order
from suppliers.models import SupplierOrder
from tests.conftest import screenshot
from tests.factories import ClientCompanyFactory, ProductFactory, ShippingAddressFactory
from tests.portal.conftest import queued_tasks  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
PASSWORD = "a-long-password"


@pytest.fixture
def buyer(reference_data):
    company = ClientCompanyFactory(name="Acme Mobile")
    ShippingAddressFactory(company=company, label="Miami warehouse", is_default=True)
    return User.objects.create_user(email="buyer@acme.example", password=PASSWORD,
                                    company=company, role=User.Role.BUYER)


def test_a_buyer_filters_adds_to_cart_and_checks_out(live_server, browser_page, buyer,
                                                     queued_tasks):
    ProductFactory(sku="APL-IP13-128-BLK-A", colour="Black")
    ProductFactory(sku="APL-IP13-128-RED-A", colour="Red", offer__quantity=5)
    ProductFactory(sku="SAM-S23-256-GRN-A", manufacturer="Samsung", model_name="Galaxy S23",
                   storage_gb=256, colour="Green")
    page = browser_page

    page.goto(f"{live_server.url}/catalogue/")
    page.get_by_label("Email address").fill(buyer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Catalogue").wait_for()
    screenshot(page, "checkout-1-catalogue")

    page.get_by_label("Colour").select_option("Red")
    page.get_by_label("In stock only").check()
    page.get_by_role("button", name="Apply filters").click()
    rows = page.locator("table.catalogue tbody tr")
    assert rows.count() == 1 and "APL-IP13-128-RED-A" in rows.first.inner_text()
    screenshot(page, "checkout-2-filtered")

    page.get_by_label("Quantity of APL-IP13-128-RED-A").fill("3")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_text("Your cart holds 3 × APL-IP13-128-RED-A.").wait_for()
    assert page.locator(".site-nav .badge").inner_text() == "3"
    screenshot(page, "checkout-3-added")

    page.get_by_role("link", name="Cart").click()
    page.get_by_role("heading", name="Your cart").wait_for()
    assert "1350.00 USD" in page.locator("tfoot").inner_text()
    screenshot(page, "checkout-4-cart")

    page.get_by_role("link", name="Check out").click()
    assert page.get_by_label("Ship to").input_value() != ""  # the default address
    page.get_by_label("Your PO reference").fill("PO-2024-117")
    page.get_by_label("Shipping method").select_option("two_day")
    screenshot(page, "checkout-5-checkout")
    page.get_by_role("button", name="Place order").click()

    heading = page.get_by_role("heading", level=1)
    heading.wait_for()
    order = Order.objects.get()
    assert heading.inner_text() == f"Order {order.number} is placed"
    assert "PO-2024-117" in page.content() and "1350.00 USD" in page.content()
    assert page.locator(".site-nav .badge").inner_text() == "0"
    screenshot(page, "checkout-6-confirmation")

    assert (order.company_id, order.total, order.shipping_method) == (
        buyer.company_id, 1350, "two_day")
    assert SupplierOrder.objects.get(order=order).forwarding_state == \
        SupplierOrder.ForwardingState.PENDING
    assert ("suppliers.tasks.forward_due_supplier_orders", ()) in queued_tasks
