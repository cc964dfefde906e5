"""The client's order pages: what a buyer sees and may do, and what nobody else may."""

import csv
import io
import uuid

import pytest
from django.urls import reverse

from orders.models import Order, OrderEvent
from orders.states import OrderStatus
from orders.views import CART_SESSION_KEY
from tests.factories import ProductFactory
from tests.orders.conftest import IMEIS, place

pytestmark = pytest.mark.django_db


def detail_url(order):
    return reverse("orders:detail", kwargs={"public_id": order.public_id})


def order_urls(order):
    """Every page of one order, with the method it takes."""
    kwargs = {"public_id": order.public_id}
    return [("get", detail_url(order)),
            ("get", reverse("orders:live-fragment", kwargs=kwargs)),
            ("get", reverse("orders:imeis-csv", kwargs=kwargs)),
            ("post", reverse("orders:cancel", kwargs=kwargs)),
            ("post", reverse("orders:reorder", kwargs=kwargs))]


def test_the_list_shows_the_companys_orders_newest_first(client, buyer, viewer, product,
                                                          stranger):
    first = place(buyer, product, po_reference="PO-1")
    second = place(buyer, product, po_reference="PO-2")
    theirs = place(stranger, product)
    client.force_login(viewer)
    page = client.get(reverse("orders:list")).content.decode()
    assert page.index(second.number) < page.index(first.number)
    assert theirs.number not in page
    assert 'href="/orders/"' in page  # the header links to the orders


def test_the_list_filters_by_status_and_searches_number_and_po(client, buyer, product):
    kept = place(buyer, product, po_reference="ACME-PO-4411")
    other = place(buyer, product, po_reference="ACME-PO-9000")
    Order.objects.filter(pk=other.pk).update(status=OrderStatus.CANCELLED)
    client.force_login(buyer)
    by_po = client.get(reverse("orders:list"), {"q": "po-4411"}).content.decode()
    assert kept.number in by_po and other.number not in by_po
    by_number = client.get(reverse("orders:list"), {"q": other.number}).content.decode()
    assert other.number in by_number and kept.number not in by_number
    cancelled = client.get(reverse("orders:list"), {"status": "cancelled"}).content.decode()
    assert other.number in cancelled and kept.number not in cancelled


def test_the_list_pages_with_a_cursor_and_ignores_a_forged_one(client, buyer, product):
    orders = [place(buyer, product, quantity=1) for _ in range(27)]
    client.force_login(buyer)
    first = client.get(reverse("orders:list"))
    cursor = first.context["page"].next_cursor
    assert cursor and len(first.context["page"].orders) == 25
    second = client.get(reverse("orders:list"), {"after": cursor})
    assert [order.pk for order in second.context["page"].orders] == [
        order.pk for order in orders[1::-1]]
    assert second.context["page"].next_cursor is None
    forged = client.get(reverse("orders:list"), {"after": "not-a-cursor"})
    assert forged.status_code == 302 and forged["Location"] == reverse("orders:list")


def test_the_order_page_shows_lines_totals_status_reason_and_timeline(client, buyer, order):
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.ON_HOLD,
                                             status_reason="Waiting for a payment check.")
    OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.SUPPLIER,
                              message="Ignored the supplier's move from a to b.")
    client.force_login(buyer)
    page = client.get(detail_url(order)).content.decode()
    line = order.lines.get()
    assert line.sku in page and str(line.line_total) in page
    assert f"{order.total} USD" in page
    assert "On hold" in page and "Waiting for a payment check." in page
    assert "Order placed." in page  # the timeline
    assert "Ignored the supplier" not in page  # staff diagnostics stay in admin
    assert "PO-7781" in page
    assert "Warehouse terms" in page and line.product.warehouse.name in page


def test_a_shipped_order_shows_tracking_links_and_imeis_and_offers_the_csv(
        client, buyer, order, ship):
    ship(order, carrier="FedEx Ground", tracking_number="771234567890")
    client.force_login(buyer)
    page = client.get(detail_url(order)).content.decode()
    assert "Shipped" in page
    assert "https://www.fedex.com/fedextrack/?trknbr=771234567890" in page
    assert all(imei in page for imei in IMEIS[:2])
    assert reverse("orders:imeis-csv", kwargs={"public_id": order.public_id}) in page
    assert "Cancel this order" not in page


@pytest.mark.parametrize("carrier, url", [
    ("UPS", "https://www.ups.com/track?tracknum=TRACK1"),
    ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels=TRACK1"),
    ("DHL Express", "https://www.dhl.com/global-en/home/tracking.html?tracking-id=TRACK1"),
])
def test_each_carrier_links_to_its_tracking_page(client, buyer, order, ship, carrier, url):
    ship(order, carrier=carrier, tracking_number="TRACK1")
    client.force_login(buyer)
    assert url in client.get(detail_url(order)).content.decode()


def test_the_imei_csv_has_one_row_per_phone(client, buyer, order, ship):
    ship(order)
    client.force_login(buyer)
    response = client.get(reverse("orders:imeis-csv", kwargs={"public_id": order.public_id}))
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="{order.number}-imeis.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["imei"] for row in rows] == IMEIS[:2]
    assert {row["order"] for row in rows} == {order.number}
    assert {row["carrier"] for row in rows} == {"UPS"}
    assert {row["po_reference"] for row in rows} == {"PO-7781"}


def test_a_buyer_cancels_an_order_not_yet_at_the_supplier(client, buyer, order):
    client.force_login(buyer)
    response = client.post(reverse("orders:cancel", kwargs={"public_id": order.public_id}),
                           {"reason": "Ordered twice by mistake."}, follow=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.status_reason == "Ordered twice by mistake."
    assert not order.stock_reserved
    event = order.events.get(to_status=OrderStatus.CANCELLED)
    assert event.actor == buyer and event.ip_address == "127.0.0.1"
    assert f"Order {order.number} is cancelled." in response.content.decode()


def test_a_shipped_order_cannot_be_cancelled_and_says_why(client, buyer, order, ship):
    ship(order)
    client.force_login(buyer)
    response = client.post(reverse("orders:cancel", kwargs={"public_id": order.public_id}),
                           follow=True)
    assert "can no longer be cancelled" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED


def test_a_viewer_sees_the_order_but_cannot_cancel_or_reorder(client, viewer, order):
    client.force_login(viewer)
    page = client.get(detail_url(order)).content.decode()
    assert order.number in page and "Cancel this order" not in page
    assert client.post(reverse("orders:cancel",
                               kwargs={"public_id": order.public_id})).status_code == 403
    assert client.post(reverse("orders:reorder",
                               kwargs={"public_id": order.public_id})).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED
    assert CART_SESSION_KEY not in client.session


def test_reorder_adds_the_lines_to_the_cart_and_skips_what_is_no_longer_sold(client, buyer):
    kept, withdrawn = ProductFactory(), ProductFactory()
    order = place(buyer, kept, quantity=3)
    second = place(buyer, withdrawn, quantity=2)
    withdrawn.is_active = False
    withdrawn.save()
    client.force_login(buyer)
    session = client.session
    session[CART_SESSION_KEY] = {kept.sku: 1, "OTHER-SKU": 4}
    session.save()
    response = client.post(reverse("orders:reorder", kwargs={"public_id": order.public_id}))
    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert client.session[CART_SESSION_KEY] == {kept.sku: 4, "OTHER-SKU": 4}
    client.post(reverse("orders:reorder", kwargs={"public_id": second.public_id}))
    assert withdrawn.sku not in client.session[CART_SESSION_KEY]


def test_another_companys_order_is_not_found_on_every_page(client, stranger, order):
    client.force_login(stranger)
    for method, url in order_urls(order):
        assert getattr(client, method)(url).status_code == 404, url
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED
    live = client.get(reverse("orders:live"), {"id": str(order.public_id)})
    assert live.json() == {"orders": {}}


def test_an_unknown_order_is_not_found(client, buyer):
    client.force_login(buyer)
    assert client.get(f"/orders/{uuid.uuid4()}/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, order):
    for method, url in order_urls(order) + [("get", reverse("orders:list")),
                                            ("get", reverse("orders:live"))]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url


def test_staff_without_a_company_have_no_order_pages(client, admin_user, order):
    client.force_login(admin_user)
    assert client.get(reverse("orders:list")).status_code == 403
    assert client.get(detail_url(order)).status_code == 403


def test_the_live_endpoint_changes_its_version_when_the_order_moves(client, buyer, order,
                                                                    ship):
    client.force_login(buyer)
    url = reverse("orders:live")
    before = client.get(url, {"id": str(order.public_id)}).json()["orders"]
    assert before[str(order.public_id)]["status"] == "placed"
    ship(order)
    after = client.get(url, {"id": str(order.public_id)}).json()["orders"]
    assert after[str(order.public_id)]["status"] == "shipped"
    assert after[str(order.public_id)]["status_label"] == "Shipped"
    assert after[str(order.public_id)]["version"] != before[str(order.public_id)]["version"]
    fragment = client.get(reverse("orders:live-fragment",
                                  kwargs={"public_id": order.public_id})).content.decode()
    assert "1Z999AA10123456784" in fragment and IMEIS[0] in fragment
    assert client.get(url, {"id": "not-a-uuid"}).status_code == 400


def test_pages_speak_the_users_language(client, buyer, order):
    buyer.language = "es"
    buyer.save()
    client.force_login(buyer)
    page = client.get(detail_url(order)).content.decode()
    assert 'lang="es"' in page
