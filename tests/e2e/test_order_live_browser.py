"""A buyer watches an order move without reloading: a signed supplier webhook ships it."""

import pytest
import requests
from django.db import connections
from playwright.sync_api import expect

from orders.models import Order
from orders.states import OrderStatus
from suppliers.models import WebhookEvent
from suppliers.webhooks import process_webhook_event
from tests.conftest import screenshot, wait_until
from tests.factories import ProductFactory
from tests.orders.conftest import (
    IMEIS, WEBHOOK_SECRET, WEBHOOK_URL, client_user, place, shipped_event, signed_headers,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("reference_data")]
PASSWORD = "a-long-password"


def sign_in(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_the_order_page_and_list_show_the_shipment_without_a_reload(
        live_server, browser_page, settings):
    settings.WESELLCELLULAR_WEBHOOK_SECRET = WEBHOOK_SECRET
    buyer = client_user()
    order = place(buyer, ProductFactory(offer__quantity=20), quantity=2,
                  po_reference="PO-LIVE-1")
    page = browser_page
    sign_in(page, live_server, buyer)
    # The list in a window of its own, so that both pages are visible and polling.
    list_window = page.context.browser.new_context(locale="en-US")
    list_page = list_window.new_page()
    sign_in(list_page, live_server, buyer)
    list_page.goto(f"{live_server.url}/orders/")
    expect(list_page.locator(f'[data-live-order="{order.public_id}"]')).to_have_text("Placed")
    page.goto(f"{live_server.url}/orders/{order.public_id}/")
    expect(page.get_by_test_id("order-status")).to_have_text("Placed")
    # Set on the loaded document: a reload or a navigation would lose it.
    page.evaluate("window.stillTheSamePage = true")
    list_page.evaluate("window.stillTheSamePage = true")
    screenshot(page, "order-live-1-placed")

    # The supplier ships the order: its signed webhook reaches our live server.
    body = shipped_event(order, carrier="UPS", tracking_number="1Z999AA10123456784")
    headers = signed_headers(body)
    response = requests.post(f"{live_server.url}{WEBHOOK_URL}", data=body, timeout=10,
                             headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    event = WebhookEvent.objects.get(webhook_id=headers["webhook-id"])
    assert process_webhook_event(event_id=event.pk) == WebhookEvent.Outcome.APPLIED
    wait_until(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED)

    expect(page.get_by_test_id("order-status")).to_have_text("Shipped")
    expect(page.get_by_test_id("tracking-number")).to_have_text("1Z999AA10123456784")
    expect(page.get_by_test_id("tracking-number")).to_have_attribute(
        "href", "https://www.ups.com/track?tracknum=1Z999AA10123456784")
    expect(page.get_by_test_id("imei")).to_have_text(IMEIS[:2])
    expect(page.get_by_test_id("quantity-shipped")).to_have_text("2")
    expect(page.get_by_text("Download the IMEIs (CSV)")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot(page, "order-live-2-shipped")

    expect(list_page.locator(f'[data-live-order="{order.public_id}"]')).to_have_text("Shipped")
    assert list_page.evaluate("window.stillTheSamePage") is True
    screenshot(list_page, "order-live-3-list-shipped")
    list_window.close()
    # While Playwright's event loop runs in this thread, Django keeps this test's queries on
    # a connection of their own, which nothing else would close before the test database
    # is dropped.
    connections.close_all()
