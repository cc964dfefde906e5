"""WeSellCellular, reached directly or through PhoneX (see docs/suppliers.md).

The only module that knows WeSellCellular's JSON fields, status words and error codes; it
follows the supplier API contract and translates everything into the neutral types of base.py.
"""

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Self
from urllib.parse import quote

import requests
import structlog
from django.conf import settings

from orders.states import OrderStatus
from suppliers.adapters.base import (
    EventKind, HoldReason, InvalidWebhookError, InventoryItem, InventoryPage, OrderLineRequest,
    PlaceOrderRequest, RejectedInventoryItem, RejectionCode, RejectionDetail, ShipmentInfo,
    ShipmentLineInfo, SupplierAdapter, SupplierAuthError, SupplierEvent, SupplierNotFoundError,
    SupplierOrderInfo, SupplierOrderLine, SupplierRejectedError, TransientSupplierError,
)
from suppliers.adapters.transports import (
    Transport, is_retryable_status, parse_retry_after, transport_from_settings,
)
from suppliers.webhook_signatures import lowercase_headers, split_secrets, verify_signature

logger = structlog.get_logger(__name__)

# The supplier's order statuses as PhoneExport reads them (contract §5). A status missing
# here maps to None: the order stays as it is and staff see the supplier's word.
STATUS_TABLE: dict[str, OrderStatus] = {
    "received": OrderStatus.SUBMITTED,
    "accepted": OrderStatus.CONFIRMED,
    "on_hold": OrderStatus.ON_HOLD,
    "processing": OrderStatus.PROCESSING,
    "backordered": OrderStatus.BACKORDERED,
    "partially_shipped": OrderStatus.PARTIALLY_SHIPPED,
    "shipped": OrderStatus.SHIPPED,
    "delivered": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
}
HOLD_REASONS: dict[str, HoldReason] = {
    "awaiting_payment": HoldReason.AWAITING_PAYMENT,
    "awaiting_shipping_quote": HoldReason.AWAITING_SHIPPING_QUOTE,
    "other": HoldReason.OTHER,
}
REJECTION_CODES: dict[str, RejectionCode] = {
    "insufficient_stock": RejectionCode.INSUFFICIENT_STOCK,
    "unknown_sku": RejectionCode.UNKNOWN_SKU,
    "price_changed": RejectionCode.PRICE_CHANGED,
    "invalid_address": RejectionCode.INVALID_ADDRESS,
    "invalid_request": RejectionCode.INVALID_REQUEST,
    "idempotency_conflict": RejectionCode.IDEMPOTENCY_CONFLICT,
    "not_cancellable": RejectionCode.NOT_CANCELLABLE,
}
ORDER_EVENT_TYPES = frozenset({
    "order.accepted", "order.rejected", "order.processing", "order.backordered",
    "order.on_hold", "order.partially_shipped", "order.shipped", "order.delivered",
    "order.cancelled",
})
INVENTORY_EVENT_TYPE = "inventory.updated"
MAX_PAGE_SIZE = 1000
MAX_IDEMPOTENCY_KEY_LENGTH = 255
INVENTORY_FIELDS = ("sku", "manufacturer", "model", "storage_gb", "color", "grade", "carrier",
                    "warehouse", "quantity", "unit_price", "currency", "updated_at")
_MONEY = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_CENT = Decimal("0.01")


class WeSellCellularAdapter(SupplierAdapter):
    """WeSellCellular's partner API behind the neutral interface, on either transport."""

    slug = "wesellcellular"

    def __init__(self, *, transport: Transport, webhook_secrets: tuple[str, ...] = ()):
        self.transport = transport
        self._webhook_secrets = webhook_secrets

    @classmethod
    def from_settings(cls, *, route: str | None = None) -> Self:
        transport = transport_from_settings(
            route=route or settings.SUPPLIER_TRANSPORT,
            direct_url_setting="WESELLCELLULAR_API_URL",
            direct_key_setting="WESELLCELLULAR_API_KEY",
            supplier_tenant_setting="PHONEX_SUPPLIER_TENANT_ID")
        return cls(transport=transport,
                   webhook_secrets=split_secrets(settings.WESELLCELLULAR_WEBHOOK_SECRET))

    # --- Orders ------------------------------------------------------------------------------
    def place_order(self, request: PlaceOrderRequest, *, idempotency_key: str
                    ) -> SupplierOrderInfo:
        _check_idempotency_key(idempotency_key)
        response = self.transport.request(method="POST", path="/v1/orders",
                                          json_body=_order_body(request),
                                          idempotency_key=idempotency_key)
        _raise_for_error(response, what="POST /v1/orders",
                         on_conflict=RejectionCode.IDEMPOTENCY_CONFLICT)
        # 200 is the contract's "this key was used already: the original order again".
        return _order_answer(response, what="POST /v1/orders",
                             replayed=response.status_code == 200)

    def get_order(self, supplier_order_id: str) -> SupplierOrderInfo:
        path = f"/v1/orders/{quote(supplier_order_id, safe='')}"
        response = self.transport.request(method="GET", path=path)
        _raise_for_error(response, what=f"GET {path}", order_id=supplier_order_id)
        return _order_answer(response, what=f"GET {path}")

    def find_orders(self, reference: str) -> list[SupplierOrderInfo]:
        response = self.transport.request(method="GET", path="/v1/orders",
                                          params={"external_reference": reference})
        what = "GET /v1/orders"
        _raise_for_error(response, what=what)
        try:
            listing = _object(_answer_json(response, what=what), "answer")
            orders = [_order(entry, where=f"answer.items[{index}]")
                      for index, entry in enumerate(_list(listing, "items", where="answer"))]
        except _Malformed as exc:
            raise TransientSupplierError(f"malformed answer to {what}: {exc}") from None
        # A supplier that ignored the filter must not make us adopt someone else's order.
        matching = [order for order in orders if order.reference == reference]
        if len(matching) < len(orders):
            logger.warning("supplier_orders_for_other_reference", reference=reference,
                           ignored=len(orders) - len(matching))
        return matching

    def cancel_order(self, supplier_order_id: str, *, idempotency_key: str
                     ) -> SupplierOrderInfo:
        _check_idempotency_key(idempotency_key)
        path = f"/v1/orders/{quote(supplier_order_id, safe='')}/cancel"
        # An empty JSON object rather than no body: the contract says every body is JSON.
        response = self.transport.request(method="POST", path=path, json_body={},
                                          idempotency_key=idempotency_key)
        _raise_for_error(response, what=f"POST {path}", order_id=supplier_order_id,
                         on_conflict=RejectionCode.NOT_CANCELLABLE)
        return _order_answer(response, what=f"POST {path}")

    # --- Inventory ---------------------------------------------------------------------------
    def iter_inventory(self, *, updated_since: datetime | None = None,
                       page_size: int = 500) -> Iterator[InventoryPage]:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}.")
        since = None if updated_since is None else _format_time(updated_since)
        # Arguments are checked now, not at the first page, so a mistake surfaces at the call.
        return self._inventory_pages(page_size=page_size, updated_since=since)

    def _inventory_pages(self, *, page_size: int, updated_since: str | None
                         ) -> Iterator[InventoryPage]:
        cursor = None
        cursors_seen: set[str] = set()
        while True:
            page = self._inventory_page(page_size=page_size, cursor=cursor,
                                        updated_since=updated_since)
            yield page
            if page.next_cursor is None:
                return
            if page.next_cursor in cursors_seen:
                # Following it would loop for ever; stopping would pass a partial feed as full.
                raise TransientSupplierError(
                    f"GET /v1/inventory: cursor {page.next_cursor!r} came back a second time.")
            cursors_seen.add(page.next_cursor)
            cursor = page.next_cursor

    def _inventory_page(self, *, page_size: int, cursor: str | None,
                        updated_since: str | None) -> InventoryPage:
        params = {name: value for name, value in
                  (("limit", page_size), ("cursor", cursor), ("updated_since", updated_since))
                  if value is not None}
        what = "GET /v1/inventory"
        response = self.transport.request(method="GET", path="/v1/inventory", params=params)
        _raise_for_error(response, what=what)
        answer = _answer_json(response, what=what)
        try:
            page = _object(answer, "answer")
            raw_items = _list(page, "items", where="answer")
            next_cursor = _next_cursor(page)
        except _Malformed as exc:
            raise TransientSupplierError(f"malformed answer to {what}: {exc}") from None
        items, rejected = _inventory_items(raw_items)
        return InventoryPage(items=items, rejected=rejected, next_cursor=next_cursor)

    # --- Webhooks ----------------------------------------------------------------------------
    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        verify_signature(body=body, headers=headers, secrets=self._webhook_secrets,
                         secrets_setting="WESELLCELLULAR_WEBHOOK_SECRET")

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> SupplierEvent:
        webhook_id = lowercase_headers(headers).get("webhook-id", "").strip()
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            raise InvalidWebhookError("invalid_json", "the body is not JSON") from None
        try:
            envelope = _object(payload, "body")
            event_type = _text(envelope, "type", where="body")
            occurred_at = _time(envelope, "timestamp", where="body")
        except _Malformed as exc:
            raise InvalidWebhookError("invalid_shape", str(exc)) from None
        event = {"webhook_id": webhook_id, "event_type": event_type, "occurred_at": occurred_at}
        if event_type in ORDER_EVENT_TYPES:
            return SupplierEvent(**event, kind=EventKind.ORDER_UPDATE,
                                 order=_event_order(envelope))
        if event_type == INVENTORY_EVENT_TYPE:
            items, rejected = _inventory_items(_event_items(envelope))
            return SupplierEvent(**event, kind=EventKind.INVENTORY_UPDATE,
                                 inventory_items=items, rejected_items=rejected)
        return SupplierEvent(**event, kind=EventKind.UNKNOWN)


# --- Requests ------------------------------------------------------------------------------
def _check_idempotency_key(key: str) -> None:
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError(f"An idempotency key holds 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters.")


def _order_body(request: PlaceOrderRequest) -> dict[str, Any]:
    address = request.ship_to
    return {
        "external_reference": request.reference,
        "ship_to": {
            "company": address.company, "name": address.name, "phone": address.phone,
            "line1": address.line1, "line2": address.line2, "city": address.city,
            "region": address.region, "postal_code": address.postal_code,
            "country": address.country,
        },
        "shipping_method": request.shipping_method,
        "lines": [_line_body(line) for line in request.lines],
        "notes": request.notes,
    }


def _line_body(line: OrderLineRequest) -> dict[str, Any]:
    return {"sku": line.sku, "quantity": line.quantity,
            "unit_price": _format_money(line.unit_price)}


def _format_money(amount: Decimal) -> str:
    if amount != amount.quantize(_CENT):
        raise ValueError(f"{amount} has more than two decimal places; prices are in cents.")
    return str(amount.quantize(_CENT))


def _format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("Times sent to the supplier must be timezone-aware.")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Answers -------------------------------------------------------------------------------
def _raise_for_error(response: requests.Response, *, what: str, order_id: str | None = None,
                     on_conflict: RejectionCode = RejectionCode.OTHER) -> None:
    """Turn any answer but a 2xx into the error callers act on (contract §3 answer table)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if status in (401, 403):
        raise SupplierAuthError(f"{what}: WeSellCellular refused our credentials or tenant "
                                f"(HTTP {status}); fix the configuration.")
    if status == 404 and order_id is not None:
        raise SupplierNotFoundError(f"WeSellCellular does not know order {order_id!r}.")
    if status == 404:
        raise SupplierAuthError(f"{what}: HTTP 404, so the configured base URL or supplier "
                                f"tenant is wrong.")
    if is_retryable_status(status):
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise TransientSupplierError(f"{what}: HTTP {status}", retry_after=retry_after)
    if status == 409:
        raise _rejection(response, default_code=on_conflict)
    if 400 <= status < 500:
        raise _rejection(response, default_code=RejectionCode.OTHER)
    # 1xx or 3xx: no promised meaning, and a POST may have landed; retry with the same key.
    raise TransientSupplierError(f"{what}: unexpected HTTP {status}")


def _rejection(response: requests.Response, *, default_code: RejectionCode
               ) -> SupplierRejectedError:
    error = _error_object(response)
    raw_code = error.get("code") if isinstance(error.get("code"), str) else ""
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    message = message or f"HTTP {response.status_code}"
    if raw_code and raw_code not in REJECTION_CODES:
        message = f"{raw_code}: {message}"
    return SupplierRejectedError(REJECTION_CODES.get(raw_code, default_code), message,
                                 _rejection_details(error.get("details")))


def _error_object(response: requests.Response) -> dict[str, Any]:
    """The answer's {"error": {...}}, or {} when the body does not hold one."""
    try:
        error = json.loads(response.content).get("error")
    except (ValueError, RecursionError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def _rejection_details(details: Any) -> tuple[RejectionDetail, ...]:
    if not isinstance(details, list):
        return ()
    return tuple(
        RejectionDetail(
            sku=detail.get("sku") if isinstance(detail.get("sku"), str) else "",
            available=detail.get("available") if _is_count(detail.get("available")) else None,
            unit_price=_money_or_none(detail.get("unit_price")),
        )
        for detail in details if isinstance(detail, dict))


def _answer_json(response: requests.Response, *, what: str) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        raise TransientSupplierError(f"malformed answer to {what}: not JSON") from None


def _order_answer(response: requests.Response, *, what: str,
                  replayed: bool = False) -> SupplierOrderInfo:
    """A 2xx answer's order; anything else is malformed, and may hide a change: retry."""
    try:
        return _order(_answer_json(response, what=what), where="answer", replayed=replayed)
    except _Malformed as exc:
        raise TransientSupplierError(f"malformed answer to {what}: {exc}") from None


def _event_order(envelope: dict[str, Any]) -> SupplierOrderInfo:
    try:
        data = _object(envelope.get("data"), "data")
        return _order(data.get("order"), where="data.order")
    except _Malformed as exc:
        raise InvalidWebhookError("malformed_order", str(exc)) from None


def _event_items(envelope: dict[str, Any]) -> list[Any]:
    try:
        return _list(_object(envelope.get("data"), "data"), "items", where="data")
    except _Malformed as exc:
        raise InvalidWebhookError("malformed_items", str(exc)) from None


# --- Reading the supplier's JSON -----------------------------------------------------------
class _Malformed(Exception):
    """Part of an answer is not of the contract's shape; the message says which part."""


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed(f"{where} is not an object")
    return value


def _list(parent: dict[str, Any], key: str, *, where: str) -> list[Any]:
    value = parent.get(key)
    if not isinstance(value, list):
        raise _Malformed(f"{where}.{key} is missing or not a list")
    return value


def _text(parent: dict[str, Any], key: str, *, where: str, required: bool = True) -> str:
    """A string field; an optional one may be absent or null (read as "")."""
    value = parent.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise _Malformed(f"{where}.{key} is missing or not a non-empty string")
    return value


def _count(parent: dict[str, Any], key: str, *, where: str, minimum: int = 0) -> int:
    value = parent.get(key)
    if not _is_count(value):
        raise _Malformed(f"{where}.{key} is missing or not a whole number")
    if value < minimum:
        raise _Malformed(f"{where}.{key} is {value}, below {minimum}")
    return value


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _money(parent: dict[str, Any], key: str, *, where: str) -> Decimal:
    amount = _money_or_none(parent.get(key))
    if amount is None:
        raise _Malformed(f"{where}.{key} is missing or not a decimal string like \"412.50\"")
    return amount


def _money_or_none(value: Any) -> Decimal | None:
    # Strings only: a JSON number would already have passed through a float.
    if not isinstance(value, str) or not _MONEY.fullmatch(value):
        return None
    try:
        return Decimal(value).quantize(_CENT)
    except InvalidOperation:
        return None


def _time(parent: dict[str, Any], key: str, *, where: str, required: bool = True
          ) -> datetime | None:
    value = parent.get(key)
    if value is None and not required:
        return None
    try:
        # RFC 3339 allows a lower-case "t" and "z"; fromisoformat does not.
        moment = datetime.fromisoformat(value.upper()) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _Malformed(f"{where}.{key} is missing or not an RFC 3339 time with a zone")
    return moment.astimezone(UTC)


def _order(value: Any, *, where: str, replayed: bool = False) -> SupplierOrderInfo:
    order = _object(value, where)
    supplier_status = _text(order, "status", where=where)
    status = STATUS_TABLE.get(supplier_status)
    info = SupplierOrderInfo(
        supplier_order_id=_text(order, "id", where=where),
        reference=_text(order, "external_reference", where=where),
        supplier_status=supplier_status,
        status=status,
        version=_count(order, "version", where=where),
        lines=tuple(_order_line(line, where=f"{where}.lines[{index}]")
                    for index, line in enumerate(_list(order, "lines", where=where))),
        shipments=tuple(_shipment(shipment, where=f"{where}.shipments[{index}]")
                        for index, shipment in enumerate(_list(order, "shipments", where=where))),
        rejection_reason=_text(order, "reason", where=where, required=False),
        expected_at=_time(order, "expected_at", where=where, required=False),
        **_hold(order, supplier_status=supplier_status, where=where),
        created_at=_time(order, "created_at", where=where),
        updated_at=_time(order, "updated_at", where=where),
        replayed=replayed,
    )
    if status is None:
        logger.warning("supplier_status_unknown", supplier_status=supplier_status,
                       supplier_order_id=info.supplier_order_id, version=info.version)
    return info


def _hold(order: dict[str, Any], *, supplier_status: str, where: str) -> dict[str, Any]:
    raw_reason = _text(order, "hold_reason", where=where, required=False)
    message = _text(order, "hold_message", where=where, required=False)
    if not raw_reason:
        reason = HoldReason.OTHER if supplier_status == "on_hold" else None
    elif raw_reason in HOLD_REASONS:
        reason = HOLD_REASONS[raw_reason]
    else:
        # A reason we do not know yet stays visible to staff in the message.
        reason = HoldReason.OTHER
        message = f"{raw_reason}: {message}" if message else raw_reason
    return {"hold_reason": reason, "hold_message": message}


def _order_line(value: Any, *, where: str) -> SupplierOrderLine:
    line = _object(value, where)
    return SupplierOrderLine(sku=_text(line, "sku", where=where),
                             quantity=_count(line, "quantity", where=where),
                             unit_price=_money(line, "unit_price", where=where),
                             quantity_shipped=_count(line, "quantity_shipped", where=where))


def _shipment(value: Any, *, where: str) -> ShipmentInfo:
    shipment = _object(value, where)
    return ShipmentInfo(
        shipment_id=_text(shipment, "id", where=where),
        carrier=_text(shipment, "carrier", where=where, required=False),
        tracking_number=_text(shipment, "tracking_number", where=where, required=False),
        shipped_at=_time(shipment, "shipped_at", where=where),
        lines=tuple(_shipment_line(line, where=f"{where}.lines[{index}]")
                    for index, line in enumerate(_list(shipment, "lines", where=where))),
    )


def _shipment_line(value: Any, *, where: str) -> ShipmentLineInfo:
    line = _object(value, where)
    imeis = _list(line, "imeis", where=where)
    if not all(isinstance(imei, str) for imei in imeis):
        raise _Malformed(f"{where}.imeis holds something other than strings")
    # IMEIs are checked (15 digits, Luhn) where they are recorded, not here: one bad IMEI
    # must not hide the rest of the order's news.
    return ShipmentLineInfo(sku=_text(line, "sku", where=where),
                            quantity=_count(line, "quantity", where=where), imeis=tuple(imeis))


def _next_cursor(page: dict[str, Any]) -> str | None:
    # Required, even if null: a page that forgot it would pass a partial feed as a full one.
    if "next_cursor" not in page:
        raise _Malformed("answer.next_cursor is missing")
    cursor = page["next_cursor"]
    if cursor is not None and (not isinstance(cursor, str) or not cursor):
        raise _Malformed("answer.next_cursor is neither null nor a non-empty string")
    return cursor


def _inventory_items(raw_items: list[Any]
                     ) -> tuple[tuple[InventoryItem, ...], tuple[RejectedInventoryItem, ...]]:
    items, rejected = [], []
    for raw in raw_items:
        try:
            items.append(_inventory_item(raw))
        except _Malformed as exc:
            rejected.append(_rejected_item(raw, reason=str(exc)))
    return tuple(items), tuple(rejected)


def _rejected_item(raw: Any, *, reason: str) -> RejectedInventoryItem:
    if not isinstance(raw, dict):
        return RejectedInventoryItem(sku="", reason=reason, raw={"item": raw})
    sku = raw.get("sku") if isinstance(raw.get("sku"), str) else ""
    return RejectedInventoryItem(sku=sku, reason=reason, raw=raw)


def _inventory_item(value: Any) -> InventoryItem:
    item = _object(value, "item")
    missing = [name for name in INVENTORY_FIELDS if item.get(name) in (None, "")]
    if missing:
        raise _Malformed(f"missing fields: {', '.join(missing)}")
    where = "item"
    currency = _text(item, "currency", where=where)
    if not _CURRENCY.fullmatch(currency):
        raise _Malformed(f"item.currency {currency!r} is not a three-letter ISO 4217 code")
    unit_price = _money(item, "unit_price", where=where)
    if unit_price <= 0:
        raise _Malformed(f"item.unit_price {unit_price} is not a positive price")
    return InventoryItem(
        sku=_text(item, "sku", where=where),
        manufacturer=_text(item, "manufacturer", where=where),
        model=_text(item, "model", where=where),
        storage_gb=_count(item, "storage_gb", where=where, minimum=1),
        colour=_text(item, "color", where=where),
        grade_code=_text(item, "grade", where=where),
        carrier_code=_text(item, "carrier", where=where),
        warehouse_code=_text(item, "warehouse", where=where),
        quantity=_count(item, "quantity", where=where),
        unit_price=unit_price,
        currency=currency,
        updated_at=_time(item, "updated_at", where=where),
    )
