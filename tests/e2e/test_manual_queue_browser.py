"""Staff work the manual-route queue in a real browser: open it, place an order by hand."""

import pytest

from customers.models import User
from orders.states import OrderStatus
from suppliers.models import Supplier
from tests.conftest import screenshot
from tests.manual.conftest import place
from tests.factories import ProductFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
PASSWORD = "a-long-staff-password"


@pytest.fixture
def staff(reference_data):
    return User.objects.create_superuser(email="desk@phoneexport.test", password=PASSWORD)


@pytest.fixture
def waiting_order(reference_data):
    supplier = Supplier.objects.get(slug="wesellcellular")
    supplier.route = Supplier.Route.MANUAL
    supplier.save()
    buyer = UserFactory(email="buyer@acme.test")
    return place(buyer, [ProductFactory(offer__quantity=10)], quantities=(3,))


def test_staff_record_a_supplier_number_and_the_order_moves_on(
        live_server, browser_page, staff, waiting_order):
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/suppliers/manualqueueorder/")
    page.fill("input[name=username]", staff.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")

    page.wait_for_selector("#result_list")
    row = page.locator("#result_list tbody tr", has_text=waiting_order.number)
    assert row.count() == 1
    screenshot(page, "manual-queue")
    row.get_by_role("link", name=waiting_order.number).click()

    page.wait_for_selector("#supplier-sheet")
    sku = waiting_order.lines.get().supplier_sku
    assert sku in page.inner_text("#supplier-sheet")
    page.fill("input[name=supplier_number]", "WSC-BROWSER-1")
    screenshot(page, "manual-desk-before")
    page.click("#supplier-number-form input[type=submit]")

    page.wait_for_selector("#status-form")
    assert page.inner_text("#supplier-number") == "WSC-BROWSER-1"
    assert page.inner_text("#order-status") == "Submitted"
    assert "Placed at" in page.inner_text("#timeline")
    screenshot(page, "manual-desk-after")
    waiting_order.refresh_from_db()
    assert waiting_order.status == OrderStatus.SUBMITTED

    page.goto(f"{live_server.url}/admin/suppliers/manualqueueorder/?step=to_place")
    assert waiting_order.number not in page.inner_text("#content")
