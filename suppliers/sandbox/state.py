"""Orders, idempotency records and the order lifecycle, with the catalogue they reserve stock from.

Everything here changes under one lock, so a placement, a cancel and a tick never see each
other half done, and events leave in version order.
"""

import hashlib
import json
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

import structlog

from .auth import Caller
from .catalogue import Catalogue, CatalogueItem, shifted_price
from .config import SandboxConfig
from .errors import SupplierError
from .faults import FaultInjector
from .formats import format_money, format_time, parse_money, utc_now

log = structlog.get_logger(__name__)

# The spec's diagram (§3). Cancelling stays open while no unit has shipped, which includes a
# backordered order; `on_hold` may also go back to the status it was held from.
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"accepted", "rejected", "on_hold", "cancelled"}),
    "accepted": frozenset({"processing", "backordered", "on_hold", "cancelled"}),
    "processing": frozenset({"partially_shipped", "shipped", "on_hold", "cancelled"}),
    "backordered": frozenset({"processing", "cancelled"}),
    "on_hold": frozenset({"cancelled"}),
    "partially_shipped": frozenset({"partially_shipped", "shipped"}),
    "shipped": frozenset({"delivered"}),
    "delivered": frozenset(),
    "rejected": frozenset(),
    "cancelled": frozenset(),
}
FINAL_STATUSES = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
HOLD_MESSAGES = {
    "awaiting_payment": "Waiting for payment of the pro-forma invoice.",
    "awaiting_shipping_quote": "Freight quote sent; waiting for it to be agreed.",
    "other": "Held for a compliance review.",
}
REJECTION_REASONS = (
    "Credit limit exceeded.",
    "Destination country not served.",
    "Stock allocated to another order.",
)
SHIPPING_CARRIERS = ("UPS", "FedEx", "USPS", "DHL")
REQUIRED_ADDRESS_FIELDS = ("company", "name", "line1", "city", "postal_code", "country")
MAX_IDEMPOTENCY_KEY_LENGTH = 255
INVENTORY_EVENT_BATCH = 500

# Called with (event type, event data, source tenant or None) for each webhook event.
EventSink = Callable[[str, dict[str, Any], str | None], None]


@dataclass
class OrderLine:
    sku: str
    quantity: int
    unit_price: Decimal
    quantity_shipped: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "quantity": self.quantity,
                "unit_price": format_money(self.unit_price),
                "quantity_shipped": self.quantity_shipped}


@dataclass
class ShipmentLine:
    sku: str
    quantity: int
    imeis: list[str]


@dataclass
class Shipment:
    id: str
    carrier: str
    tracking_number: str
    shipped_at: datetime
    lines: list[ShipmentLine]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "carrier": self.carrier, "tracking_number": self.tracking_number,
                "shipped_at": format_time(self.shipped_at),
                "lines": [{"sku": line.sku, "quantity": line.quantity, "imeis": list(line.imeis)}
                          for line in self.lines]}


@dataclass
class Order:
    id: str
    external_reference: str
    route: str
    lines: list[OrderLine]
    ship_to: dict[str, Any]
    shipping_method: str
    notes: str
    created_at: datetime
    updated_at: datetime
    status: str = "received"
    version: int = 1
    shipments: list[Shipment] = field(default_factory=list)
    reason: str | None = None
    expected_at: datetime | None = None
    hold_reason: str | None = None
    hold_message: str | None = None
    status_before_hold: str | None = None
    # Decided at placement from the configured rates: the one detour this order will take.
    planned_detour: str | None = None
    planned_hold_reason: str = "awaiting_payment"
    detour_taken: bool = False

    @property
    def units_remaining(self) -> int:
        return sum(line.quantity - line.quantity_shipped for line in self.lines)

    @property
    def units_shipped(self) -> int:
        return sum(line.quantity_shipped for line in self.lines)

    def allowed_statuses(self) -> frozenset[str]:
        allowed = TRANSITIONS[self.status]
        if self.status == "on_hold" and self.status_before_hold:
            allowed = allowed | {self.status_before_hold}
        if self.units_remaining < 2:
            allowed = allowed - {"partially_shipped"}
        return allowed

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "external_reference": self.external_reference, "status": self.status,
            "version": self.version, "lines": [line.as_json() for line in self.lines],
            "shipments": [shipment.as_json() for shipment in self.shipments],
            "created_at": format_time(self.created_at), "updated_at": format_time(self.updated_at),
        }
        if self.status == "rejected":
            data["reason"] = self.reason
        if self.status == "backordered" and self.expected_at:
            data["expected_at"] = format_time(self.expected_at)
        if self.status == "on_hold":
            data["hold_reason"] = self.hold_reason
            data["hold_message"] = self.hold_message
        return data


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class OrderRequest:
    external_reference: str
    lines: tuple[LineRequest, ...]
    ship_to: dict[str, Any]
    shipping_method: str
    notes: str


@dataclass(frozen=True)
class _IdempotencyRecord:
    fingerprint: str
    order_id: str


def luhn_check_digit(digits: str) -> int:
    """The digit that makes `digits` + it pass the Luhn check (as an IMEI's 15th digit)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return (10 - total % 10) % 10


def require_idempotency_key(key: str | None) -> str:
    if not key:
        raise SupplierError("invalid_request", "the Idempotency-Key header is required")
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise SupplierError(
            "invalid_request",
            f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
    return key


def parse_order_request(raw_body: bytes) -> tuple[OrderRequest, str]:
    """The order a request body asks for, and a fingerprint that ignores key order and spacing."""
    try:
        payload = json.loads(raw_body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SupplierError("invalid_request", "the body is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise SupplierError("invalid_request", "the body must be a JSON object")
    fingerprint = hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    reference = payload.get("external_reference")
    if not isinstance(reference, str) or not reference.strip():
        raise SupplierError("invalid_request", "external_reference is required")
    for optional_text in ("shipping_method", "notes"):
        if not isinstance(payload.get(optional_text, ""), str):
            raise SupplierError("invalid_request", f"{optional_text} must be a string")
    lines = payload.get("lines")
    if not isinstance(lines, list) or not lines:
        raise SupplierError("invalid_request", "lines must be a non-empty list")
    parsed_lines = tuple(_parse_line(line, position) for position, line in enumerate(lines, 1))
    ship_to = payload.get("ship_to")
    if not isinstance(ship_to, dict):
        if ship_to is not None:
            raise SupplierError("invalid_request", "ship_to must be an object")
        ship_to = {}
    _check_address(ship_to)
    request = OrderRequest(external_reference=reference, lines=parsed_lines, ship_to=ship_to,
                           shipping_method=payload.get("shipping_method", ""),
                           notes=payload.get("notes", ""))
    return request, fingerprint


def _parse_line(line: Any, position: int) -> LineRequest:
    if not isinstance(line, dict):
        raise SupplierError("invalid_request", f"line {position} must be an object")
    sku, quantity = line.get("sku"), line.get("quantity")
    if not isinstance(sku, str) or not sku:
        raise SupplierError("invalid_request", f"line {position}: sku is required")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise SupplierError("invalid_request",
                            f"line {position}: quantity must be a whole number, 1 or more")
    unit_price = parse_money(line.get("unit_price"))
    if unit_price is None:
        raise SupplierError(
            "invalid_request",
            f'line {position}: unit_price must be a decimal string such as "412.50"')
    return LineRequest(sku=sku, quantity=quantity, unit_price=unit_price)


def _check_address(ship_to: dict[str, Any]) -> None:
    missing = [name for name in REQUIRED_ADDRESS_FIELDS
               if not isinstance(ship_to.get(name), str) or not ship_to[name].strip()]
    if missing:
        raise SupplierError("invalid_address", f"ship_to is missing {', '.join(missing)}",
                            [{"field": name} for name in missing])
    country = ship_to["country"].strip()
    if len(country) != 2 or not (country.isascii() and country.isalpha()):
        raise SupplierError("invalid_address",
                            "ship_to.country must be a two-letter ISO 3166 code",
                            [{"field": "country"}])


class SupplierState:
    """The supplier's catalogue, orders and idempotency records, and how orders move on."""

    def __init__(self, *, config: SandboxConfig, faults: FaultInjector, emit: EventSink):
        self._config = config
        self._faults = faults
        self._emit = emit
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Back to a fresh start: the seed's catalogue, no orders, no keys."""
        seed = self._config.seed
        with self.lock:
            self.catalogue = Catalogue.generate(size=self._config.skus, seed=seed,
                                                unusual_grades=self._config.unusual_grades)
            self.orders: dict[str, Order] = {}
            self._rng = random.Random(f"{seed}:orders")
            self._catalogue_rng = random.Random(f"{seed}:catalogue-changes")
            self._order_keys: dict[tuple[str, str], _IdempotencyRecord] = {}
            self._cancel_keys: dict[tuple[str, str], str] = {}
            self._key_hits: Counter[str] = Counter()
            self._order_ids_by_reference: dict[str, list[str]] = defaultdict(list)
            self._issued_imeis: set[str] = set()
            self._issued_shipment_ids: set[str] = set()
            # Order id -> monotonic time of its next automatic step.
            self._due: dict[str, float] = {}

    # --- Orders: the API ----------------------------------------------------------------

    def record_idempotency_key_hit(self, key: str) -> None:
        with self.lock:
            self._key_hits[key] += 1

    def place_order(self, *, caller: Caller, idempotency_key: str | None,
                    raw_body: bytes) -> tuple[dict[str, Any], bool]:
        """The order as JSON, and True when it was created now (False: a replay of the key)."""
        key = require_idempotency_key(idempotency_key)
        request, fingerprint = parse_order_request(raw_body)
        with self.lock:
            record = self._order_keys.get((caller.scope, key))
            if record is not None:
                if record.fingerprint != fingerprint:
                    raise SupplierError("idempotency_conflict",
                                        "this Idempotency-Key was used with a different body")
                return self.orders[record.order_id].as_json(), False
            self._meet_injected_catalogue_changes(request)
            self._check_lines(request)
            order = self._create_order(request, caller=caller)
            self._order_keys[(caller.scope, key)] = _IdempotencyRecord(fingerprint, order.id)
            return order.as_json(), True

    def get_order(self, order_id: str) -> dict[str, Any]:
        with self.lock:
            return self._order(order_id).as_json()

    def find_orders(self, external_reference: str) -> list[dict[str, Any]]:
        with self.lock:
            return [self.orders[order_id].as_json()
                    for order_id in self._order_ids_by_reference.get(external_reference, [])]

    def cancel_order(self, *, caller: Caller, order_id: str,
                     idempotency_key: str | None) -> dict[str, Any]:
        """Cancel before any unit ships; cancelling a cancelled order answers it again."""
        key = require_idempotency_key(idempotency_key)
        with self.lock:
            order = self._order(order_id)
            earlier_order_id = self._cancel_keys.get((caller.scope, key))
            if earlier_order_id is not None and earlier_order_id != order_id:
                raise SupplierError("idempotency_conflict",
                                    "this Idempotency-Key was used to cancel another order")
            if order.status != "cancelled":
                if order.units_shipped or "cancelled" not in order.allowed_statuses():
                    raise SupplierError("not_cancellable",
                                        f"an order that is {order.status} cannot be cancelled")
                self._transition(order, "cancelled")
            self._cancel_keys[(caller.scope, key)] = order_id
            return order.as_json()

    # --- Orders: the lifecycle ------------------------------------------------------------

    def advance_order(self, order_id: str, *, status: str | None = None, reason: str | None = None,
                      hold_reason: str | None = None, hold_message: str | None = None,
                      expected_at: datetime | None = None) -> dict[str, Any]:
        """Move an order to `status`, or its next step; refused where the diagram has no arrow."""
        with self.lock:
            order = self._order(order_id)
            target = status or self._next_status(order)
            if target is None:
                raise SupplierError("invalid_transition",
                                    f"an order that is {order.status} is final")
            self._transition(order, target, reason=reason, hold_reason=hold_reason,
                             hold_message=hold_message, expected_at=expected_at)
            return order.as_json()

    def advance_all_orders(self) -> int:
        """One step for every order still moving; returns how many moved."""
        with self.lock:
            moving = [order for order in self.orders.values() if order.status not in FINAL_STATUSES]
            for order in moving:
                self._transition(order, self._next_status(order))
            return len(moving)

    def advance_due_orders(self) -> None:
        """One step for every order whose tick has come (the clock thread calls this)."""
        now = time.monotonic()
        with self.lock:
            for order_id, due in list(self._due.items()):
                if due <= now:
                    order = self.orders[order_id]
                    self._transition(order, self._next_status(order))

    def _next_status(self, order: Order) -> str | None:
        status = order.status
        if status == "received":
            return "rejected" if order.planned_detour == "rejected" else "accepted"
        if status == "accepted":
            if order.planned_detour in ("on_hold", "backordered") and not order.detour_taken:
                return order.planned_detour
            return "processing"
        if status == "on_hold":
            return order.status_before_hold
        if status == "backordered":
            return "processing"
        if status == "processing":
            ships_in_parts = order.units_remaining > 1 and not order.shipments
            return "partially_shipped" if ships_in_parts else "shipped"
        if status == "partially_shipped":
            return "shipped"
        if status == "shipped":
            return "delivered"
        return None

    def _transition(self, order: Order, target: str, *, reason: str | None = None,
                    hold_reason: str | None = None, hold_message: str | None = None,
                    expected_at: datetime | None = None) -> None:
        if target not in order.allowed_statuses():
            raise SupplierError("invalid_transition",
                                f"an order that is {order.status} cannot become {target}")
        now = utc_now()
        if order.status == "on_hold":
            order.hold_reason = order.hold_message = order.status_before_hold = None
        if order.status == "backordered":
            order.expected_at = None
        if target == "rejected":
            order.reason = reason or self._rng.choice(REJECTION_REASONS)
            self._return_stock(order, now)
        elif target == "cancelled":
            self._return_stock(order, now)
        elif target == "backordered":
            order.expected_at = expected_at or now + timedelta(days=self._rng.randint(3, 21))
            order.detour_taken = True
        elif target == "on_hold":
            order.status_before_hold = order.status
            order.hold_reason = hold_reason or order.planned_hold_reason
            order.hold_message = hold_message or HOLD_MESSAGES.get(order.hold_reason, "")
            order.detour_taken = True
        elif target == "partially_shipped":
            self._ship(order, units=order.units_remaining // 2, now=now)
        elif target == "shipped":
            self._ship(order, units=order.units_remaining, now=now)
        order.status = target
        order.version += 1
        order.updated_at = now
        self._schedule(order)
        log.info("sandbox_order_changed", order_id=order.id, status=target, version=order.version)
        self._emit(f"order.{target}", {"order": order.as_json()}, self._source_tenant(order.route))

    def _schedule(self, order: Order) -> None:
        if self._config.ticking and order.status not in FINAL_STATUSES:
            self._due[order.id] = time.monotonic() + self._config.tick_seconds
        else:
            self._due.pop(order.id, None)

    def _ship(self, order: Order, *, units: int, now: datetime) -> None:
        shipment_lines = []
        for line in order.lines:
            quantity = min(line.quantity - line.quantity_shipped, units)
            if quantity <= 0:
                continue
            line.quantity_shipped += quantity
            units -= quantity
            shipment_lines.append(ShipmentLine(
                sku=line.sku, quantity=quantity, imeis=[self._new_imei() for _ in range(quantity)]))
        carrier = self._rng.choice(SHIPPING_CARRIERS)
        order.shipments.append(Shipment(
            id=self._new_shipment_id(), carrier=carrier,
            tracking_number=self._tracking_number(carrier), shipped_at=now, lines=shipment_lines))

    # --- Orders: creation -----------------------------------------------------------------

    def _meet_injected_catalogue_changes(self, request: OrderRequest) -> None:
        """The price-change and stock-out faults: the catalogue really changes before the check."""
        known_skus = [line.sku for line in request.lines if self.catalogue.get(line.sku)]
        if not known_skus:
            return
        now = utc_now()
        if self._faults.roll("price_change_rate"):
            item = self.catalogue.get(self._catalogue_rng.choice(known_skus))
            item.unit_price = shifted_price(item.unit_price, self._catalogue_rng)
            item.updated_at = now
            log.info("sandbox_price_changed_before_order", sku=item.sku)
        if self._faults.roll("stockout_rate"):
            sku = self._catalogue_rng.choice(known_skus)
            wanted = sum(line.quantity for line in request.lines if line.sku == sku)
            item = self.catalogue.get(sku)
            item.quantity = min(item.quantity, self._catalogue_rng.randrange(0, wanted))
            item.updated_at = now
            log.info("sandbox_stock_ran_out_before_order", sku=sku)

    def _check_lines(self, request: OrderRequest) -> None:
        unknown = [line.sku for line in request.lines if self.catalogue.get(line.sku) is None]
        if unknown:
            raise SupplierError("unknown_sku", f"not in the catalogue: {', '.join(unknown)}",
                                [{"sku": sku} for sku in unknown])
        repriced = [line.sku for line in request.lines
                    if line.unit_price != self.catalogue.get(line.sku).unit_price]
        if repriced:
            raise SupplierError("price_changed", "the price of some lines has changed",
                                [self._line_details(sku) for sku in dict.fromkeys(repriced)])
        wanted: Counter[str] = Counter()
        for line in request.lines:
            wanted[line.sku] += line.quantity
        short = [sku for sku, quantity in wanted.items()
                 if quantity > self.catalogue.get(sku).quantity]
        if short:
            raise SupplierError("insufficient_stock", "not enough stock for some lines",
                                [self._line_details(sku) for sku in short])

    def _line_details(self, sku: str) -> dict[str, Any]:
        item = self.catalogue.get(sku)
        return {"sku": sku, "available": item.quantity, "unit_price": format_money(item.unit_price)}

    def _create_order(self, request: OrderRequest, *, caller: Caller) -> Order:
        now = utc_now()
        for line in request.lines:
            item = self.catalogue.get(line.sku)
            item.quantity -= line.quantity
            item.updated_at = now
        order = Order(
            id=self._new_order_id(), external_reference=request.external_reference,
            route=caller.route,
            lines=[OrderLine(line.sku, line.quantity, line.unit_price) for line in request.lines],
            ship_to=request.ship_to, shipping_method=request.shipping_method, notes=request.notes,
            created_at=now, updated_at=now)
        order.planned_detour = self._planned_detour()
        order.planned_hold_reason = self._rng.choice(tuple(HOLD_MESSAGES))
        self.orders[order.id] = order
        self._order_ids_by_reference[order.external_reference].append(order.id)
        self._schedule(order)
        log.info("sandbox_order_placed", order_id=order.id, route=caller.route,
                 external_reference=order.external_reference)
        return order

    def _planned_detour(self) -> str | None:
        draw = self._rng.random()
        for detour, rate in (("rejected", self._config.rejection_rate),
                             ("backordered", self._config.backorder_rate),
                             ("on_hold", self._config.hold_rate)):
            if draw < rate:
                return detour
            draw -= rate
        return None

    def _return_stock(self, order: Order, now: datetime) -> None:
        for line in order.lines:
            item = self.catalogue.get(line.sku)
            # An item removed from the catalogue since has nowhere to go back to.
            if item is not None:
                item.quantity += line.quantity - line.quantity_shipped
                item.updated_at = now

    def _order(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise SupplierError("not_found", f"no order {order_id}")
        return order

    def _new_order_id(self) -> str:
        while (order_id := f"WSC-{self._rng.getrandbits(24):06X}") in self.orders:
            continue
        return order_id

    def _new_shipment_id(self) -> str:
        while (shipment_id := f"SHP-{self._rng.getrandbits(32):08X}") in self._issued_shipment_ids:
            continue
        self._issued_shipment_ids.add(shipment_id)
        return shipment_id

    def _new_imei(self) -> str:
        while True:
            # 35: a reporting body prefix seen on phones sold in North America and Europe.
            body = f"35{self._rng.randrange(10 ** 12):012d}"
            imei = f"{body}{luhn_check_digit(body)}"
            if imei not in self._issued_imeis:
                self._issued_imeis.add(imei)
                return imei

    def _tracking_number(self, carrier: str) -> str:
        """A number in the carrier's usual shape (UPS 1Z..., FedEx 12 digits, USPS 22, DHL 10)."""
        if carrier == "UPS":
            account = "".join(self._rng.choices("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", k=6))
            return f"1Z{account}03{self._digits(8)}"
        if carrier == "FedEx":
            return self._digits(12)
        if carrier == "USPS":
            return f"9400{self._digits(18)}"
        return self._digits(10)

    def _digits(self, count: int) -> str:
        return "".join(self._rng.choices("0123456789", k=count))

    # --- Catalogue ------------------------------------------------------------------------

    def inventory_page(self, *, after_sku: str | None, limit: int,
                       updated_since: datetime | None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of items as JSON, and the SKU the next page starts after (None: last page)."""
        with self.lock:
            items, more = self.catalogue.page(after_sku=after_sku, limit=limit,
                                              updated_since=updated_since)
            return [item.as_json() for item in items], (items[-1].sku if more and items else None)

    def mutate_catalogue(self, *, fraction: float, notify: bool = True) -> list[dict[str, Any]]:
        """Change the price and stock of a share of the items, as a day of trading does."""
        if not 0 <= fraction <= 1:
            raise SupplierError("invalid_request", "fraction must be between 0 and 1")
        with self.lock:
            count = round(len(self.catalogue) * fraction)
            changed = self._catalogue_rng.sample(list(self.catalogue), count)
            now = utc_now()
            for item in changed:
                item.unit_price = shifted_price(item.unit_price, self._catalogue_rng)
                item.quantity = max(0, item.quantity + self._catalogue_rng.randint(-40, 60))
                item.updated_at = now
            changed.sort(key=lambda item: item.sku)
            return self._catalogue_changed(changed, notify=notify)

    def update_item(self, sku: str, *, quantity: int | None = None,
                    unit_price: Decimal | None = None, notify: bool = False) -> dict[str, Any]:
        with self.lock:
            item = self.catalogue.get(sku)
            if item is None:
                raise SupplierError("not_found", f"no item {sku}")
            if quantity is not None:
                item.quantity = quantity
            if unit_price is not None:
                item.unit_price = unit_price
            item.updated_at = utc_now()
            return self._catalogue_changed([item], notify=notify)[0]

    def remove_item(self, sku: str) -> None:
        """Stop selling an item: it leaves the feed, as the contract says discontinued items do."""
        with self.lock:
            if not self.catalogue.remove(sku):
                raise SupplierError("not_found", f"no item {sku}")

    def _catalogue_changed(self, items: list[CatalogueItem], *,
                           notify: bool) -> list[dict[str, Any]]:
        as_json = [item.as_json() for item in items]
        if notify:
            source_tenant = self._source_tenant(self._config.inventory_events_route)
            for start in range(0, len(as_json), INVENTORY_EVENT_BATCH):
                self._emit("inventory.updated",
                           {"items": as_json[start:start + INVENTORY_EVENT_BATCH]}, source_tenant)
        return as_json

    # --- Reading for tests ----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            keys_by_route: dict[str, dict[str, str]] = defaultdict(dict)
            for (scope, key), record in self._order_keys.items():
                keys_by_route[scope][key] = record.order_id
            return {
                "orders_by_idempotency_key": {key: order_id for keys in keys_by_route.values()
                                              for key, order_id in keys.items()},
                "idempotency_keys_by_route": dict(keys_by_route),
                "idempotency_key_hits": dict(self._key_hits),
                "orders_by_reference": {reference: list(order_ids) for reference, order_ids
                                        in self._order_ids_by_reference.items()},
                "order_statuses": {order.id: {"status": order.status, "version": order.version}
                                   for order in self.orders.values()},
                "catalogue_size": len(self.catalogue),
            }

    def _source_tenant(self, route: str) -> str | None:
        return self._config.phonex_supplier_tenant_id if route == "phonex" else None
