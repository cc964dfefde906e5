"""The client order API: token auth, one error shape, idempotent creation, company scope."""

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from customers.services import api_token_for
from orders.models import Order
from orders.states import OrderStatus
from tests.factories import DEMO_SHIP_TO, ProductFactory
from tests.orders.conftest import IMEIS, place

pytestmark = pytest.mark.django_db
ORDERS_URL = "/api/v1/orders/"


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user=user)}")
    return client


def order_url(order, suffix=""):
    return f"{ORDERS_URL}{order.public_id}/{suffix}"


def create_body(product, **overrides):
    return {"lines": [{"sku": product.sku, "quantity": 3}], "ship_to": DEMO_SHIP_TO,
            "po_reference": "PO-API-1", "notes": "Dock 4", **overrides}


def assert_error(response, status_code, code):
    assert response.status_code == status_code, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_create_places_the_order_and_answers_it(buyer, product):
    response = api_client(buyer).post(ORDERS_URL, create_body(product), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get(public_id=body["id"])
    assert order.company == buyer.company and order.placed_by == buyer
    assert body["number"] == order.number
    assert body["status"] == "placed"
    assert body["currency"] == "USD"
    assert body["po_reference"] == "PO-API-1" and body["notes"] == "Dock 4"
    assert body["lines"] == [{"sku": product.sku, "description": product.description,
                              "quantity": 3, "quantity_shipped": 0, "unit_price": "450.00",
                              "line_total": "1350.00"}]
    assert body["total"] == body["subtotal"] == "1350.00"
    assert body["ship_to"] == DEMO_SHIP_TO
    assert body["shipments"] == []


def test_the_same_idempotency_key_twice_makes_one_order(buyer, product):
    client = api_client(buyer)
    first = client.post(ORDERS_URL, create_body(product), format="json",
                        headers={"Idempotency-Key": "batch-2026-11-25-1"})
    again = client.post(ORDERS_URL, create_body(product), format="json",
                        headers={"Idempotency-Key": "batch-2026-11-25-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Order.objects.filter(company=buyer.company).count() == 1
    other = client.post(ORDERS_URL, create_body(product), format="json",
                        headers={"Idempotency-Key": "batch-2026-11-25-2"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_an_overlong_idempotency_key_is_refused(buyer, product):
    response = api_client(buyer).post(ORDERS_URL, create_body(product), format="json",
                                      headers={"Idempotency-Key": "k" * 101})
    error = assert_error(response, 400, "invalid")
    assert "Idempotency-Key" in error["details"][0]
    assert not Order.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"lines": []}, "lines"),
    ({"lines": [{"sku": "X", "quantity": 0}]}, "lines"),
    ({"lines": [{"sku": "X", "quantity": "two"}]}, "lines"),
    ({"ship_to": {**DEMO_SHIP_TO, "country": "USA"}}, "ship_to"),
    ({"ship_to": {**DEMO_SHIP_TO, "city": ""}}, "ship_to"),
    ({"po_reference": "P" * 101}, "po_reference"),
])
def test_invalid_input_is_refused_in_the_one_error_shape(buyer, product, body, field):
    response = api_client(buyer).post(ORDERS_URL, create_body(product, **body), format="json")
    error = assert_error(response, 400, "invalid")
    assert field in error["details"][0]
    assert not Order.objects.exists()


def test_a_body_that_is_not_json_is_refused(buyer):
    response = api_client(buyer).post(ORDERS_URL, "lines=1",
                                      content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")


def test_domain_refusals_are_unprocessable(buyer, product):
    client = api_client(buyer)
    short = client.post(ORDERS_URL, create_body(
        product, lines=[{"sku": product.sku, "quantity": 51}]), format="json")
    error = assert_error(short, 422, "insufficient_stock")
    assert error["details"] == [{"sku": product.sku, "requested": 51, "available": 50}]
    unknown = client.post(ORDERS_URL, create_body(
        product, lines=[{"sku": "NO-SUCH-SKU", "quantity": 1}]), format="json")
    assert_error(unknown, 422, "invalid_order")
    assert not Order.objects.exists()


def test_list_shows_the_companys_orders_filtered_by_status_and_paged(buyer, viewer, stranger,
                                                                       product):
    mine = [place(buyer, product, quantity=1) for _ in range(3)]
    place(stranger, product, quantity=1)
    Order.objects.filter(pk=mine[0].pk).update(status=OrderStatus.CANCELLED)
    client = api_client(viewer)
    everything = client.get(ORDERS_URL).json()
    assert [row["id"] for row in everything["results"]] == [
        str(order.public_id) for order in reversed(mine)]
    assert everything["next_cursor"] is None
    cancelled = client.get(ORDERS_URL, {"status": "cancelled"}).json()
    assert [row["id"] for row in cancelled["results"]] == [str(mine[0].public_id)]
    first_page = client.get(ORDERS_URL, {"limit": 2}).json()
    second_page = client.get(ORDERS_URL, {"limit": 2,
                                          "cursor": first_page["next_cursor"]}).json()
    assert [row["id"] for row in second_page["results"]] == [str(mine[0].public_id)]
    assert_error(client.get(ORDERS_URL, {"status": "lost"}), 400, "invalid")
    assert_error(client.get(ORDERS_URL, {"cursor": "forged"}), 400, "invalid")


def test_detail_shows_shipments_with_carrier_tracking_and_imeis(buyer, order, ship):
    ship(order)
    body = api_client(buyer).get(order_url(order)).json()
    assert body["status"] == "shipped"
    assert body["lines"][0]["quantity_shipped"] == 2
    assert body["shipments"] == [{
        "carrier": "UPS", "tracking_number": "1Z999AA10123456784",
        "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        "shipped_at": "2026-11-24T16:00:00Z",
        "lines": [{"sku": order.lines.get().sku, "quantity": 2, "imeis": IMEIS[:2]}]}]


def test_cancel_while_allowed_then_conflict(buyer, order):
    client = api_client(buyer)
    response = client.post(order_url(order, "cancel/"), {"reason": "Duplicate."},
                           format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert response.json()["status_reason"] == "Duplicate."
    again = client.post(order_url(order, "cancel/"), {}, format="json")
    assert_error(again, 409, "not_cancellable")


def test_a_viewer_can_read_but_not_create_or_cancel(viewer, order, product):
    client = api_client(viewer)
    assert client.get(order_url(order)).status_code == 200
    assert_error(client.post(ORDERS_URL, create_body(product), format="json"), 403,
                 "permission_denied")
    assert_error(client.post(order_url(order, "cancel/"), {}, format="json"), 403,
                 "permission_denied")
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED
    assert Order.objects.count() == 1


def test_another_companys_order_is_not_found_on_every_endpoint(stranger, order):
    client = api_client(stranger)
    assert_error(client.get(order_url(order)), 404, "not_found")
    assert_error(client.post(order_url(order, "cancel/"), {}, format="json"), 404, "not_found")
    assert client.get(ORDERS_URL).json()["results"] == []
    assert_error(client.get(f"{ORDERS_URL}{uuid.uuid4()}/"), 404, "not_found")
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def test_anonymous_requests_are_unauthorised(order, product):
    client = api_client()
    for response in (client.get(ORDERS_URL), client.get(order_url(order)),
                     client.post(ORDERS_URL, create_body(product), format="json"),
                     client.post(order_url(order, "cancel/"), {}, format="json")):
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Token"
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(bad_token.get(ORDERS_URL), 401, "authentication_failed")


def test_staff_without_a_company_are_refused(admin_user):
    assert_error(api_client(admin_user).get(ORDERS_URL), 403, "permission_denied")


def test_requests_beyond_the_rate_are_throttled_per_token(buyer, stranger, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "3/minute"}}
    client = api_client(buyer)
    assert [client.get(ORDERS_URL).status_code for _ in range(3)] == [200] * 3
    throttled = client.get(ORDERS_URL)
    assert_error(throttled, 429, "throttled")
    assert int(throttled["Retry-After"]) > 0
    assert api_client(stranger).get(ORDERS_URL).status_code == 200  # another token


def test_order_creation_has_its_own_tighter_rate(buyer, product, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "orders_create": "1/minute"}}
    client = api_client(buyer)
    assert client.post(ORDERS_URL, create_body(product), format="json").status_code == 201
    assert_error(client.post(ORDERS_URL, create_body(product), format="json"), 429,
                 "throttled")
    assert client.get(ORDERS_URL).status_code == 200


def test_the_docs_page_serves_swagger_ui_from_our_own_static_files(client):
    from django.contrib.staticfiles import finders

    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert client.get(reverse("api-schema")).status_code == 200


def test_every_product_line_of_an_order_is_listed(buyer):
    products = [ProductFactory(), ProductFactory()]
    response = api_client(buyer).post(ORDERS_URL, {
        "lines": [{"sku": products[1].sku, "quantity": 1}, {"sku": products[0].sku,
                                                            "quantity": 2},
                  {"sku": products[1].sku, "quantity": 1}],
        "ship_to": DEMO_SHIP_TO}, format="json")
    assert response.status_code == 201
    assert {line["sku"]: line["quantity"] for line in response.json()["lines"]} == {
        products[0].sku: 2, products[1].sku: 2}
