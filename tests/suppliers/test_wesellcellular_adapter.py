"""The WeSellCellular adapter against the supplier contract, on both routes (direct, PhoneX)."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests
import responses

from orders.states import OrderStatus
from suppliers.adapters import get_adapter
from suppliers.adapters.base import (
    Address, HoldReason, OrderLineRequest, PlaceOrderRequest, RejectionCode, RejectionDetail,
    SupplierAuthError, SupplierNotFoundError, SupplierRejectedError, TransientSupplierError,
)
from suppliers.adapters.wesellcellular import STATUS_TABLE

API_KEY = "wsc-direct-key-9f8e7d"
STATIC_TOKEN = "phonex-static-token-5c4b3a"
BASES = {"direct": "https://api.wesellcellular.example",
         "phonex": "https://api.phonex.example/v1/tenants/wsc/relay"}
AUTH_HEADERS = {"direct": {"Authorization": f"Bearer {API_KEY}"},
                "phonex": {"Authorization": f"Bearer {STATIC_TOKEN}",
                           "X-PhoneX-Tenant": "phoneexport"}}
KEY = "order-123-rev-1"
SPEC_ORDER_BODY = {
    "external_reference": "PE-000123",
    "ship_to": {
        "company": "Acme Mobile LLC", "name": "Jane Roe", "phone": "+1 555 0100",
        "line1": "1 Main St", "line2": "", "city": "Miami", "region": "FL",
        "postal_code": "33101", "country": "US",
    },
    "shipping_method": "ground",
    "lines": [{"sku": "APL-IP13-128-BLK-A-UNL", "quantity": 10, "unit_price": "412.50"}],
    "notes": "",
}
PLACE_REQUEST = PlaceOrderRequest(
    reference="PE-000123",
    ship_to=Address(company="Acme Mobile LLC", name="Jane Roe", phone="+1 555 0100",
                    line1="1 Main St", line2="", city="Miami", region="FL",
                    postal_code="33101", country="US"),
    lines=(OrderLineRequest(sku="APL-IP13-128-BLK-A-UNL", quantity=10,
                            unit_price=Decimal("412.5")),),
)
ITEM = {
    "sku": "APL-IP13-128-BLK-A-UNL", "manufacturer": "Apple", "model": "iPhone 13",
    "storage_gb": 128, "color": "Black", "grade": "A", "carrier": "Unlocked",
    "warehouse": "wsc-direct", "quantity": 240, "unit_price": "412.50", "currency": "USD",
    "updated_at": "2026-11-24T15:04:05Z",
}


def supplier_order(**changes) -> dict:
    order = {
        "id": "WSC-7F3A91", "external_reference": "PE-000123", "status": "received",
        "version": 1,
        "lines": [{"sku": "APL-IP13-128-BLK-A-UNL", "quantity": 10, "unit_price": "412.50",
                   "quantity_shipped": 0}],
        "shipments": [], "created_at": "2026-11-24T15:04:05Z",
        "updated_at": "2026-11-24T15:04:05Z",
    }
    return order | changes


@pytest.fixture(params=["direct", "phonex"])
def route(request, settings):
    settings.SUPPLIER_TRANSPORT = request.param
    settings.WESELLCELLULAR_API_URL = BASES["direct"]
    settings.WESELLCELLULAR_API_KEY = API_KEY
    settings.PHONEX_API_URL = "https://api.phonex.example"
    settings.PHONEX_API_TOKEN = STATIC_TOKEN
    settings.PHONEX_CLIENT_ID = ""
    settings.PHONEX_CLIENT_SECRET = ""
    settings.PHONEX_TENANT_ID = "phoneexport"
    settings.PHONEX_SUPPLIER_TENANT_ID = "wsc"
    return request.param


@pytest.fixture
def adapter(route):
    return get_adapter("wesellcellular")


@pytest.fixture
def base(route):
    return BASES[route]


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mock:
        yield mock


def assert_sent_with_credentials(request, route):
    for name, value in AUTH_HEADERS[route].items():
        assert request.headers[name] == value
    if route == "direct":
        assert "X-PhoneX-Tenant" not in request.headers
    uuid.UUID(request.headers["X-Request-ID"])


# --- Place an order ------------------------------------------------------------------------
def test_created_order_is_sent_as_the_contract_shows_and_read_back(adapter, base, route, mocked):
    mocked.post(f"{base}/v1/orders", status=201, json=supplier_order())

    order = adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)

    request = mocked.calls[0].request
    assert request.url == f"{base}/v1/orders"
    assert_sent_with_credentials(request, route)
    assert request.headers["Idempotency-Key"] == KEY
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == SPEC_ORDER_BODY
    assert list(json.loads(request.body)) == list(SPEC_ORDER_BODY)
    assert order.supplier_order_id == "WSC-7F3A91"
    assert order.reference == "PE-000123"
    assert (order.supplier_status, order.status) == ("received", OrderStatus.SUBMITTED)
    assert order.version == 1
    assert order.lines[0].unit_price == Decimal("412.50")
    assert order.lines[0].quantity_shipped == 0
    assert order.created_at == datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC)
    assert order.replayed is False


def test_a_200_is_the_original_order_replayed(adapter, base, mocked):
    mocked.post(f"{base}/v1/orders", status=200,
                json=supplier_order(status="accepted", version=2))

    order = adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)

    assert order.replayed is True
    assert (order.status, order.version) == (OrderStatus.CONFIRMED, 2)


def test_a_409_on_place_is_an_idempotency_conflict(adapter, base, mocked):
    mocked.post(f"{base}/v1/orders", status=409,
                json={"error": {"code": "idempotency_conflict", "message": "different body"}})

    with pytest.raises(SupplierRejectedError) as raised:
        adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)

    assert raised.value.code is RejectionCode.IDEMPOTENCY_CONFLICT


@pytest.mark.parametrize("supplier_code, code", [
    ("insufficient_stock", RejectionCode.INSUFFICIENT_STOCK),
    ("unknown_sku", RejectionCode.UNKNOWN_SKU),
    ("price_changed", RejectionCode.PRICE_CHANGED),
    ("invalid_address", RejectionCode.INVALID_ADDRESS),
    ("invalid_request", RejectionCode.INVALID_REQUEST),
])
def test_each_422_code_is_a_rejection_with_its_details(adapter, base, mocked, supplier_code,
                                                       code):
    mocked.post(f"{base}/v1/orders", status=422, json={"error": {
        "code": supplier_code, "message": "Only 3 left",
        "details": [{"sku": "APL-IP13-128-BLK-A-UNL", "available": 3, "unit_price": "415.00",
                     "hint": "ignored"}]}})

    with pytest.raises(SupplierRejectedError) as raised:
        adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)

    assert raised.value.code is code
    assert raised.value.message == "Only 3 left"
    assert raised.value.details == (RejectionDetail(sku="APL-IP13-128-BLK-A-UNL", available=3,
                                                    unit_price=Decimal("415.00")),)


def test_an_unknown_422_code_is_other_and_keeps_the_code(adapter, base, mocked):
    mocked.post(f"{base}/v1/orders", status=422,
                json={"error": {"code": "credit_limit", "message": "Over the limit"}})

    with pytest.raises(SupplierRejectedError) as raised:
        adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)

    assert raised.value.code is RejectionCode.OTHER
    assert raised.value.message == "credit_limit: Over the limit"
    assert raised.value.details == ()


def test_a_422_without_a_readable_body_is_still_a_rejection(adapter, base, mocked):
    mocked.post(f"{base}/v1/orders", status=422, body="<html>Unprocessable</html>")

    with pytest.raises(SupplierRejectedError) as raised:
        adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)

    assert raised.value.code is RejectionCode.OTHER


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_an_auth_error(adapter, base, mocked, status):
    mocked.post(f"{base}/v1/orders", status=status, json={"error": {"code": "unauthorized"}})

    with pytest.raises(SupplierAuthError):
        adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)


def test_a_429_is_transient_with_the_retry_after_seconds(adapter, base, mocked):
    mocked.post(f"{base}/v1/orders", status=429, headers={"Retry-After": "30"})

    with pytest.raises(TransientSupplierError) as raised:
        adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)

    assert raised.value.retry_after == 30.0


def test_a_429_with_an_http_date_waits_until_then(adapter, base, mocked):
    mocked.post(f"{base}/v1/orders", status=429,
                headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})

    with pytest.raises(TransientSupplierError) as raised:
        adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)

    assert raised.value.retry_after == 0.0  # that moment has passed: retry now


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(adapter, base, mocked, status):
    mocked.post(f"{base}/v1/orders", status=status, body="upstream trouble")

    with pytest.raises(TransientSupplierError) as raised:
        adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)

    assert raised.value.retry_after is None


@pytest.mark.parametrize("failure", [requests.exceptions.ReadTimeout(),
                                     requests.exceptions.ConnectTimeout(),
                                     requests.exceptions.ConnectionError()])
def test_timeouts_and_connection_errors_are_transient(adapter, base, mocked, failure):
    mocked.post(f"{base}/v1/orders", body=failure)

    with pytest.raises(TransientSupplierError):
        adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)


@pytest.mark.parametrize("answer", [
    "{not json",
    "",
    json.dumps(["not", "an", "order"]),
    json.dumps(supplier_order(id=None)),
    json.dumps(supplier_order(version="1")),
    json.dumps(supplier_order(version=True)),
    json.dumps(supplier_order(created_at="yesterday")),
    json.dumps(supplier_order(updated_at="2026-11-24T15:04:05")),  # no zone
    json.dumps(supplier_order(lines=[{"sku": "X", "quantity": 1, "unit_price": 412.5,
                                      "quantity_shipped": 0}])),  # money as a float
    json.dumps(supplier_order(lines=[{"sku": "X", "quantity": 1, "unit_price": "412.505",
                                      "quantity_shipped": 0}])),
    json.dumps({k: v for k, v in supplier_order().items() if k != "shipments"}),
])
def test_a_2xx_answer_not_of_the_order_shape_is_transient(adapter, base, mocked, answer):
    mocked.post(f"{base}/v1/orders", status=201, body=answer)

    with pytest.raises(TransientSupplierError, match="malformed answer"):
        adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)


def test_a_redirect_is_not_followed_and_is_transient(adapter, base, mocked):
    mocked.post(f"{base}/v1/orders", status=302, headers={"Location": f"{base}/v1/orders"})

    with pytest.raises(TransientSupplierError, match="302"):
        adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)

    assert len(mocked.calls) == 1


def test_unknown_extra_fields_are_ignored(adapter, base, mocked):
    mocked.post(f"{base}/v1/orders", status=201, json=supplier_order(
        priority="high", lines=[{"sku": "X", "quantity": 1, "unit_price": "1.00",
                                 "quantity_shipped": 0, "bin": "A7"}]))

    order = adapter.place_order(PLACE_REQUEST, idempotency_key=KEY)

    assert order.lines[0].sku == "X"


def test_an_unknown_status_keeps_the_supplier_word_and_maps_to_none(adapter, base, mocked):
    mocked.get(f"{base}/v1/orders/WSC-7F3A91",
               json=supplier_order(status="awaiting_inspection", version=4))

    order = adapter.get_order("WSC-7F3A91")

    assert (order.supplier_status, order.status, order.version) == (
        "awaiting_inspection", None, 4)


def test_money_with_sub_cent_precision_is_refused_before_sending(adapter, mocked):
    request = PlaceOrderRequest(reference="PE-1", ship_to=PLACE_REQUEST.ship_to,
                                lines=(OrderLineRequest(sku="X", quantity=1,
                                                        unit_price=Decimal("1.005")),))

    with pytest.raises(ValueError, match="two decimal places"):
        adapter.place_order(request, idempotency_key=KEY)

    assert len(mocked.calls) == 0


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_idempotency_keys_are_1_to_255_characters(adapter, mocked, key):
    with pytest.raises(ValueError):
        adapter.place_order(PLACE_REQUEST, idempotency_key=key)


# --- Statuses ------------------------------------------------------------------------------
@pytest.mark.parametrize("supplier_status, status", [
    ("received", OrderStatus.SUBMITTED), ("accepted", OrderStatus.CONFIRMED),
    ("on_hold", OrderStatus.ON_HOLD), ("processing", OrderStatus.PROCESSING),
    ("backordered", OrderStatus.BACKORDERED),
    ("partially_shipped", OrderStatus.PARTIALLY_SHIPPED), ("shipped", OrderStatus.SHIPPED),
    ("delivered", OrderStatus.DELIVERED), ("cancelled", OrderStatus.CANCELLED),
    ("rejected", OrderStatus.REJECTED),
])
def test_the_status_table_is_the_contracts(supplier_status, status):
    assert STATUS_TABLE[supplier_status] == status


def test_the_status_table_has_no_other_entries():
    assert len(STATUS_TABLE) == 10


@pytest.mark.parametrize("supplier_reason, reason, message", [
    ("awaiting_payment", HoldReason.AWAITING_PAYMENT, "Wire pending"),
    ("awaiting_shipping_quote", HoldReason.AWAITING_SHIPPING_QUOTE, "Wire pending"),
    ("other", HoldReason.OTHER, "Wire pending"),
    ("awaiting_documents", HoldReason.OTHER, "awaiting_documents: Wire pending"),
    (None, HoldReason.OTHER, "Wire pending"),
])
def test_on_hold_carries_a_neutral_reason(adapter, base, mocked, supplier_reason, reason,
                                          message):
    mocked.get(f"{base}/v1/orders/WSC-7F3A91", json=supplier_order(
        status="on_hold", hold_reason=supplier_reason, hold_message="Wire pending"))

    order = adapter.get_order("WSC-7F3A91")

    assert (order.status, order.hold_reason, order.hold_message) == (
        OrderStatus.ON_HOLD, reason, message)


def test_backordered_rejected_and_shipped_orders_carry_their_details(adapter, base, mocked):
    imeis = ["356789012345678", "356789012345686"]
    mocked.get(f"{base}/v1/orders/A", json=supplier_order(
        status="backordered", expected_at="2026-12-01T09:00:00+02:00"))
    mocked.get(f"{base}/v1/orders/B", json=supplier_order(status="rejected", reason="Embargo"))
    mocked.get(f"{base}/v1/orders/C", json=supplier_order(
        status="partially_shipped", version=5, updated_at="2026-11-24t16:00:00.123456789z",
        shipments=[{
            "id": "SHP-1", "carrier": "UPS", "tracking_number": "1Z999",
            "shipped_at": "2026-11-25T10:00:00Z",
            "lines": [{"sku": "APL-IP13-128-BLK-A-UNL", "quantity": 2, "imeis": imeis}]}]))

    backordered, rejected, shipped = (adapter.get_order(order_id) for order_id in "ABC")

    assert backordered.expected_at == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert shipped.updated_at == datetime(2026, 11, 24, 16, 0, 0, 123456, tzinfo=UTC)
    assert backordered.hold_reason is None
    assert rejected.rejection_reason == "Embargo"
    shipment = shipped.shipments[0]
    assert (shipment.shipment_id, shipment.carrier, shipment.tracking_number) == (
        "SHP-1", "UPS", "1Z999")
    assert shipment.shipped_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert shipment.lines[0].imeis == tuple(imeis)


# --- Read, list and cancel -----------------------------------------------------------------
def test_get_order_quotes_the_id_and_404_is_not_found(adapter, base, route, mocked):
    mocked.get(f"{base}/v1/orders/WSC%2F1", status=404,
               json={"error": {"code": "not_found", "message": "no such order"}})

    with pytest.raises(SupplierNotFoundError):
        adapter.get_order("WSC/1")

    assert_sent_with_credentials(mocked.calls[0].request, route)


def test_find_orders_asks_by_reference_and_keeps_only_matching_orders(adapter, base, mocked):
    mocked.get(f"{base}/v1/orders", json={"items": [
        supplier_order(), supplier_order(id="WSC-OTHER", external_reference="PE-999")]})

    orders = adapter.find_orders("PE-000123")

    assert mocked.calls[0].request.url == f"{base}/v1/orders?external_reference=PE-000123"
    assert [order.supplier_order_id for order in orders] == ["WSC-7F3A91"]


def test_find_orders_with_a_malformed_listing_is_transient(adapter, base, mocked):
    mocked.get(f"{base}/v1/orders", json={"orders": []})

    with pytest.raises(TransientSupplierError, match="malformed answer"):
        adapter.find_orders("PE-000123")


def test_a_404_on_a_collection_means_the_configuration_is_wrong(adapter, base, mocked):
    mocked.get(f"{base}/v1/orders", status=404)

    with pytest.raises(SupplierAuthError, match="404"):
        adapter.find_orders("PE-000123")


def test_cancel_sends_the_key_and_reads_the_cancelled_order(adapter, base, route, mocked):
    mocked.post(f"{base}/v1/orders/WSC-7F3A91/cancel",
                json=supplier_order(status="cancelled", version=3))

    order = adapter.cancel_order("WSC-7F3A91", idempotency_key="cancel-123")

    request = mocked.calls[0].request
    assert_sent_with_credentials(request, route)
    assert request.headers["Idempotency-Key"] == "cancel-123"
    assert json.loads(request.body) == {}
    assert (order.status, order.version) == (OrderStatus.CANCELLED, 3)


@pytest.mark.parametrize("body", [{"error": {"code": "not_cancellable"}}, {}])
def test_a_409_on_cancel_means_not_cancellable(adapter, base, mocked, body):
    mocked.post(f"{base}/v1/orders/WSC-7F3A91/cancel", status=409, json=body)

    with pytest.raises(SupplierRejectedError) as raised:
        adapter.cancel_order("WSC-7F3A91", idempotency_key="cancel-123")

    assert raised.value.code is RejectionCode.NOT_CANCELLABLE


# --- Inventory -----------------------------------------------------------------------------
def test_inventory_follows_cursors_to_the_last_page(adapter, base, route, mocked):
    second_item = ITEM | {"sku": "SAM-S23-256-GRN-B-ATT", "grade": "B", "carrier": "AT&T"}
    mocked.get(f"{base}/v1/inventory", match=[responses.matchers.query_param_matcher(
        {"limit": "2"})], json={"items": [ITEM], "next_cursor": "eyJvIjo1MDB9"})
    mocked.get(f"{base}/v1/inventory", match=[responses.matchers.query_param_matcher(
        {"limit": "2", "cursor": "eyJvIjo1MDB9"})], json={"items": [second_item],
                                                          "next_cursor": None})

    pages = list(adapter.iter_inventory(page_size=2))

    assert [page.next_cursor for page in pages] == ["eyJvIjo1MDB9", None]
    assert [item.sku for page in pages for item in page.items] == [
        "APL-IP13-128-BLK-A-UNL", "SAM-S23-256-GRN-B-ATT"]
    first = pages[0].items[0]
    assert (first.manufacturer, first.model, first.storage_gb, first.colour) == (
        "Apple", "iPhone 13", 128, "Black")
    assert (first.grade_code, first.carrier_code, first.warehouse_code) == (
        "A", "Unlocked", "wsc-direct")
    assert (first.quantity, first.unit_price, first.currency) == (240, Decimal("412.50"), "USD")
    assert first.updated_at == datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC)
    assert_sent_with_credentials(mocked.calls[1].request, route)


def test_inventory_since_a_moment_sends_it_in_rfc_3339_utc(adapter, base, mocked):
    mocked.get(f"{base}/v1/inventory", json={"items": [], "next_cursor": None})
    since = datetime(2026, 11, 24, 17, 4, 5, 123456, tzinfo=timezone(timedelta(hours=2)))

    list(adapter.iter_inventory(updated_since=since))

    assert mocked.calls[0].request.url == (
        f"{base}/v1/inventory?limit=500&updated_since=2026-11-24T15%3A04%3A05Z")


@pytest.mark.parametrize("bad_item, sku, reason", [
    (ITEM | {"quantity": -3}, ITEM["sku"], "quantity is -3"),
    (ITEM | {"unit_price": "12,50"}, ITEM["sku"], "unit_price"),
    (ITEM | {"unit_price": 412.5}, ITEM["sku"], "unit_price"),
    (ITEM | {"unit_price": "0.00"}, ITEM["sku"], "not a positive price"),
    (ITEM | {"sku": ""}, "", "missing fields: sku"),
    ({k: v for k, v in ITEM.items() if k not in ("color", "grade")}, ITEM["sku"],
     "missing fields: color, grade"),
    (ITEM | {"storage_gb": "128GB"}, ITEM["sku"], "storage_gb"),
    (ITEM | {"currency": "dollars"}, ITEM["sku"], "currency"),
    (ITEM | {"updated_at": "last week"}, ITEM["sku"], "updated_at"),
    ("not an item", "", "not an object"),
])
def test_bad_inventory_items_are_rejected_with_a_reason_and_the_rest_kept(
        adapter, base, mocked, bad_item, sku, reason):
    mocked.get(f"{base}/v1/inventory", json={"items": [bad_item, ITEM], "next_cursor": None})

    (page,) = adapter.iter_inventory()

    assert [item.sku for item in page.items] == [ITEM["sku"]]
    (rejected,) = page.rejected
    assert rejected.sku == sku
    assert reason in rejected.reason
    assert rejected.raw == (bad_item if isinstance(bad_item, dict) else {"item": bad_item})


def test_unknown_grades_carriers_warehouses_and_fields_are_kept(adapter, base, mocked):
    odd_item = ITEM | {"grade": "Functional", "carrier": "Cricket", "warehouse": "eu-hub",
                       "battery_health": 87}
    mocked.get(f"{base}/v1/inventory", json={"items": [odd_item], "next_cursor": None,
                                             "total": 1})

    (page,) = adapter.iter_inventory()

    (item,) = page.items
    assert (item.grade_code, item.carrier_code, item.warehouse_code) == (
        "Functional", "Cricket", "eu-hub")
    assert page.rejected == ()


@pytest.mark.parametrize("answer", [{"items": [ITEM]},  # next_cursor forgotten
                                    {"items": [ITEM], "next_cursor": ""},
                                    {"items": "none", "next_cursor": None}])
def test_an_inventory_page_of_the_wrong_shape_is_transient(adapter, base, mocked, answer):
    mocked.get(f"{base}/v1/inventory", json=answer)

    with pytest.raises(TransientSupplierError, match="malformed answer"):
        list(adapter.iter_inventory())


def test_a_cursor_that_comes_back_stops_the_feed_as_incomplete(adapter, base, mocked):
    mocked.get(f"{base}/v1/inventory", json={"items": [ITEM], "next_cursor": "same"})

    with pytest.raises(TransientSupplierError, match="second time"):
        list(adapter.iter_inventory())

    assert len(mocked.calls) == 2


@pytest.mark.parametrize("arguments", [{"page_size": 0}, {"page_size": 1001},
                                       {"updated_since": datetime(2026, 11, 24)}])
def test_inventory_arguments_are_checked_at_the_call(adapter, arguments):
    with pytest.raises(ValueError):
        adapter.iter_inventory(**arguments)
