"""Incoming supplier webhooks: Standard Webhooks signatures, then the events they carry."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders.states import OrderStatus
from suppliers.adapters import get_adapter
from suppliers.adapters.base import (
    EventKind, InvalidWebhookError, SupplierAuthError, WebhookVerificationError,
)

OLD_SECRET = "whsec_" + base64.b64encode(b"old-secret-bytes-0123456789abcd").decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"new-secret-bytes-9876543210zyxw").decode()
ORDER = {
    "id": "WSC-7F3A91", "external_reference": "PE-000123", "status": "shipped", "version": 6,
    "lines": [{"sku": "APL-IP13-128-BLK-A-UNL", "quantity": 1, "unit_price": "412.50",
               "quantity_shipped": 1}],
    "shipments": [{"id": "SHP-1", "carrier": "UPS", "tracking_number": "1Z999",
                   "shipped_at": "2026-11-24T16:00:00Z",
                   "lines": [{"sku": "APL-IP13-128-BLK-A-UNL", "quantity": 1,
                              "imeis": ["356789012345678"]}]}],
    "created_at": "2026-11-24T15:04:05Z", "updated_at": "2026-11-24T16:00:00Z",
}
ITEM = {
    "sku": "APL-IP13-128-BLK-A-UNL", "manufacturer": "Apple", "model": "iPhone 13",
    "storage_gb": 128, "color": "Black", "grade": "A", "carrier": "Unlocked",
    "warehouse": "wsc-direct", "quantity": 240, "unit_price": "412.50", "currency": "USD",
    "updated_at": "2026-11-24T15:04:05Z",
}


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The contract's formula, written out: base64(HMAC-SHA256(key, "id.timestamp.body"))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(body: bytes, *, secret: str = NEW_SECRET, webhook_id: str = "msg_1",
                   age: int = 0) -> dict[str, str]:
    timestamp = int(time.time()) - age
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, webhook_id, timestamp, body)}


def event_body(event_type: str, data: dict) -> bytes:
    return json.dumps({"type": event_type, "timestamp": "2026-11-24T16:00:00Z",
                       "data": data}).encode()


@pytest.fixture(params=["direct", "phonex"])
def adapter(request, settings):
    settings.SUPPLIER_TRANSPORT = request.param
    settings.WESELLCELLULAR_WEBHOOK_SECRET = f"{OLD_SECRET} {NEW_SECRET}"
    return get_adapter("wesellcellular")


def refusal(adapter, body: bytes, headers: dict[str, str]) -> str:
    with pytest.raises(WebhookVerificationError) as raised:
        adapter.verify_webhook(body=body, headers=headers)
    return raised.value.reason


# --- Verification --------------------------------------------------------------------------
@pytest.mark.parametrize("secret", [OLD_SECRET, NEW_SECRET])
def test_a_body_signed_with_either_secret_of_a_rotation_is_accepted(adapter, secret):
    body = event_body("order.shipped", {"order": ORDER})

    adapter.verify_webhook(body=body, headers=signed_headers(body, secret=secret))


@pytest.mark.parametrize("separator", [",", ", ", "\n"])
def test_secrets_may_be_listed_with_commas_or_any_whitespace(settings, separator):
    settings.WESELLCELLULAR_WEBHOOK_SECRET = f"{OLD_SECRET}{separator}{NEW_SECRET}"
    body = event_body("order.shipped", {"order": ORDER})

    get_adapter("wesellcellular").verify_webhook(body=body, headers=signed_headers(body))


def test_a_header_with_several_signatures_needs_only_one_valid(adapter):
    body = event_body("order.shipped", {"order": ORDER})
    headers = signed_headers(body)
    stranger = "whsec_" + base64.b64encode(b"someone-else").decode()
    wrong = signature(stranger, "msg_1", int(headers["webhook-timestamp"]), body)
    headers["webhook-signature"] = f"{wrong} v1,not*base64 v1a,ZZZZ {headers['webhook-signature']}"

    adapter.verify_webhook(body=body, headers=headers)


def test_headers_are_read_whatever_their_case_and_the_phonex_header_is_allowed(adapter):
    body = event_body("order.shipped", {"order": ORDER})
    headers = {name.title(): value for name, value in signed_headers(body).items()}
    headers["X-PhoneX-Source-Tenant"] = "wsc"

    adapter.verify_webhook(body=body, headers=headers)


def test_a_wrong_secret_is_a_bad_signature(adapter):
    body = event_body("order.shipped", {"order": ORDER})
    stranger = "whsec_" + base64.b64encode(b"someone-else").decode()

    assert refusal(adapter, body, signed_headers(body, secret=stranger)) == "bad_signature"


def test_a_tampered_body_is_a_bad_signature(adapter):
    body = event_body("order.shipped", {"order": ORDER})
    headers = signed_headers(body)

    assert refusal(adapter, body.replace(b'"version": 6', b'"version": 9'),
                   headers) == "bad_signature"


def test_a_signature_for_another_webhook_id_is_a_bad_signature(adapter):
    body = event_body("order.shipped", {"order": ORDER})
    headers = signed_headers(body) | {"webhook-id": "msg_2"}

    assert refusal(adapter, body, headers) == "bad_signature"


@pytest.mark.parametrize("age, reason", [(6 * 60, "stale_timestamp"),
                                         (-6 * 60, "future_timestamp")])
def test_timestamps_beyond_five_minutes_are_refused(adapter, age, reason):
    body = event_body("order.shipped", {"order": ORDER})

    assert refusal(adapter, body, signed_headers(body, age=age)) == reason


@pytest.mark.parametrize("age", [4 * 60, -4 * 60])
def test_timestamps_within_five_minutes_are_accepted(adapter, age):
    body = event_body("order.shipped", {"order": ORDER})

    adapter.verify_webhook(body=body, headers=signed_headers(body, age=age))


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused(adapter, header):
    body = event_body("order.shipped", {"order": ORDER})
    headers = signed_headers(body)
    del headers[header]

    assert refusal(adapter, body, headers) == "missing_headers"


@pytest.mark.parametrize("changes, reason", [
    ({"webhook-timestamp": "yesterday"}, "malformed_timestamp"),
    ({"webhook-timestamp": "1.7e9"}, "malformed_timestamp"),
    ({"webhook-signature": "garbage"}, "malformed_signature"),
    ({"webhook-signature": "v1,"}, "malformed_signature"),
    ({"webhook-signature": "v2,c2lnbmF0dXJl"}, "malformed_signature"),
])
def test_malformed_headers_are_refused(adapter, changes, reason):
    body = event_body("order.shipped", {"order": ORDER})

    assert refusal(adapter, body, signed_headers(body) | changes) == reason


def test_a_body_that_is_not_utf8_is_refused(adapter):
    body = b'{"type": "\xff"}'

    assert refusal(adapter, body, signed_headers(body)) == "body_not_utf8"


@pytest.mark.parametrize("configured", ["", "whsec_***not-base64***"])
def test_no_usable_secret_is_a_configuration_error(settings, configured):
    settings.WESELLCELLULAR_WEBHOOK_SECRET = configured
    body = event_body("order.shipped", {"order": ORDER})

    with pytest.raises(SupplierAuthError, match="WESELLCELLULAR_WEBHOOK_SECRET"):
        get_adapter("wesellcellular").verify_webhook(body=body, headers=signed_headers(body))


# --- Parsing -------------------------------------------------------------------------------
@pytest.mark.parametrize("event_type, supplier_status, status", [
    ("order.accepted", "accepted", OrderStatus.CONFIRMED),
    ("order.rejected", "rejected", OrderStatus.REJECTED),
    ("order.processing", "processing", OrderStatus.PROCESSING),
    ("order.backordered", "backordered", OrderStatus.BACKORDERED),
    ("order.on_hold", "on_hold", OrderStatus.ON_HOLD),
    ("order.partially_shipped", "partially_shipped", OrderStatus.PARTIALLY_SHIPPED),
    ("order.shipped", "shipped", OrderStatus.SHIPPED),
    ("order.delivered", "delivered", OrderStatus.DELIVERED),
    ("order.cancelled", "cancelled", OrderStatus.CANCELLED),
])
def test_each_order_event_carries_the_order_as_of_the_event(adapter, event_type,
                                                            supplier_status, status):
    body = event_body(event_type, {"order": ORDER | {"status": supplier_status}})
    headers = signed_headers(body, webhook_id="msg_42")
    adapter.verify_webhook(body=body, headers=headers)

    event = adapter.parse_webhook(body=body, headers=headers)

    assert (event.webhook_id, event.event_type, event.kind) == (
        "msg_42", event_type, EventKind.ORDER_UPDATE)
    assert event.occurred_at == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    assert (event.order.supplier_order_id, event.order.version) == ("WSC-7F3A91", 6)
    assert (event.order.supplier_status, event.order.status) == (supplier_status, status)
    assert event.order.replayed is False


def test_an_order_event_with_an_unknown_status_is_kept_with_status_none(adapter):
    body = event_body("order.shipped", {"order": ORDER | {"status": "lost_in_transit"},
                                        "extra": True})

    event = adapter.parse_webhook(body=body, headers=signed_headers(body))

    assert (event.order.supplier_status, event.order.status) == ("lost_in_transit", None)


def test_an_inventory_event_carries_items_and_rejects_bad_ones(adapter):
    body = event_body("inventory.updated", {"items": [
        ITEM | {"grade": "AB"}, ITEM | {"sku": "BAD", "quantity": -1}]})

    event = adapter.parse_webhook(body=body, headers=signed_headers(body))

    assert event.kind is EventKind.INVENTORY_UPDATE
    assert event.order is None
    (item,) = event.inventory_items
    assert (item.sku, item.grade_code, item.unit_price) == (ITEM["sku"], "AB", Decimal("412.50"))
    (rejected,) = event.rejected_items
    assert rejected.sku == "BAD" and "quantity" in rejected.reason


def test_an_unknown_event_type_is_kind_unknown_not_an_error(adapter):
    body = event_body("invoice.created", {"invoice": {"id": "INV-1"}})

    event = adapter.parse_webhook(body=body, headers=signed_headers(body, webhook_id="msg_9"))

    assert (event.kind, event.event_type, event.webhook_id) == (
        EventKind.UNKNOWN, "invoice.created", "msg_9")
    assert event.order is None and event.inventory_items == ()


@pytest.mark.parametrize("data", [{}, {"order": "WSC-7F3A91"},
                                  {"order": ORDER | {"version": "six"}},
                                  {"order": {k: v for k, v in ORDER.items() if k != "id"}}])
def test_an_order_event_with_a_malformed_order_is_invalid(adapter, data):
    body = event_body("order.shipped", data)

    with pytest.raises(InvalidWebhookError) as raised:
        adapter.parse_webhook(body=body, headers=signed_headers(body))

    assert raised.value.reason == "malformed_order"


def test_an_inventory_event_without_items_is_invalid(adapter):
    body = event_body("inventory.updated", {"item": ITEM})

    with pytest.raises(InvalidWebhookError) as raised:
        adapter.parse_webhook(body=body, headers=signed_headers(body))

    assert raised.value.reason == "malformed_items"


def test_a_signed_body_that_is_not_json_passes_verification_but_not_parsing(adapter):
    body = b"event=order.shipped"
    headers = signed_headers(body)

    adapter.verify_webhook(body=body, headers=headers)
    with pytest.raises(InvalidWebhookError) as raised:
        adapter.parse_webhook(body=body, headers=headers)

    assert raised.value.reason == "invalid_json"


@pytest.mark.parametrize("payload", [[], {"timestamp": "2026-11-24T16:00:00Z", "data": {}},
                                     {"type": "order.shipped", "data": {"order": ORDER}}])
def test_a_body_not_of_the_event_shape_is_invalid(adapter, payload):
    body = json.dumps(payload).encode()

    with pytest.raises(InvalidWebhookError) as raised:
        adapter.parse_webhook(body=body, headers=signed_headers(body))

    assert raised.value.reason == "invalid_shape"
