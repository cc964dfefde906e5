"""The supplier-neutral interface the rest of PhoneExport calls, its results and its errors.

Nothing here names a supplier's JSON fields or status strings: each adapter translates its
supplier's answers into these types, so replacing or adding a supplier changes one module.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Self

from orders.states import OrderStatus


# --- What we send -------------------------------------------------------------------------
@dataclass(frozen=True)
class Address:
    company: str
    name: str
    phone: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str


@dataclass(frozen=True)
class OrderLineRequest:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class PlaceOrderRequest:
    reference: str
    ship_to: Address
    lines: tuple[OrderLineRequest, ...]
    shipping_method: str = "ground"
    notes: str = ""


# --- What the supplier tells us -----------------------------------------------------------
class HoldReason(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    AWAITING_SHIPPING_QUOTE = "awaiting_shipping_quote"
    OTHER = "other"


@dataclass(frozen=True)
class SupplierOrderLine:
    sku: str
    quantity: int
    unit_price: Decimal
    quantity_shipped: int


@dataclass(frozen=True)
class ShipmentLineInfo:
    sku: str
    quantity: int
    imeis: tuple[str, ...]


@dataclass(frozen=True)
class ShipmentInfo:
    shipment_id: str
    carrier: str
    tracking_number: str
    shipped_at: datetime
    lines: tuple[ShipmentLineInfo, ...]


@dataclass(frozen=True)
class SupplierOrderInfo:
    """The supplier's order as it stood when it answered; `version` orders the snapshots."""

    supplier_order_id: str
    reference: str
    supplier_status: str  # the supplier's own word, for display
    status: OrderStatus | None  # None when the supplier's status is not in the adapter's table
    version: int
    lines: tuple[SupplierOrderLine, ...]
    shipments: tuple[ShipmentInfo, ...]
    rejection_reason: str
    expected_at: datetime | None
    hold_reason: HoldReason | None
    hold_message: str
    created_at: datetime
    updated_at: datetime
    replayed: bool = False  # True when a place_order repeated an already used idempotency key


@dataclass(frozen=True)
class InventoryItem:
    sku: str
    manufacturer: str
    model: str
    storage_gb: int
    colour: str
    grade_code: str  # the supplier's code, mapped to our grades elsewhere
    carrier_code: str
    warehouse_code: str
    quantity: int
    unit_price: Decimal
    currency: str
    updated_at: datetime


@dataclass(frozen=True)
class RejectedInventoryItem:
    sku: str  # "" when the item had no usable SKU
    reason: str
    raw: dict


@dataclass(frozen=True)
class InventoryPage:
    items: tuple[InventoryItem, ...]
    rejected: tuple[RejectedInventoryItem, ...]
    next_cursor: str | None  # None on the last page


class EventKind(StrEnum):
    ORDER_UPDATE = "order_update"
    INVENTORY_UPDATE = "inventory_update"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SupplierEvent:
    webhook_id: str  # the same on every delivery of one event
    event_type: str  # the supplier's own type, for display
    kind: EventKind
    occurred_at: datetime
    order: SupplierOrderInfo | None = None
    inventory_items: tuple[InventoryItem, ...] = ()
    rejected_items: tuple[RejectedInventoryItem, ...] = ()


# --- Errors: callers act on the class ------------------------------------------------------
class SupplierError(Exception):
    """Base of every error an adapter raises about its supplier."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TransientSupplierError(SupplierError):
    """Try again later with the same idempotency key: the request may or may not have landed."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after  # seconds the supplier asked us to wait, when it said


class RejectionCode(StrEnum):
    INSUFFICIENT_STOCK = "insufficient_stock"
    UNKNOWN_SKU = "unknown_sku"
    PRICE_CHANGED = "price_changed"
    INVALID_ADDRESS = "invalid_address"
    INVALID_REQUEST = "invalid_request"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    NOT_CANCELLABLE = "not_cancellable"
    OTHER = "other"


@dataclass(frozen=True)
class RejectionDetail:
    sku: str
    available: int | None = None
    unit_price: Decimal | None = None


class SupplierRejectedError(SupplierError):
    """The supplier refused the request as it stands: repeating it will not help."""

    def __init__(self, code: RejectionCode, message: str,
                 details: tuple[RejectionDetail, ...] = ()):
        super().__init__(message)
        self.code = code
        self.details = details


class SupplierAuthError(SupplierError):
    """Credentials refused or configuration missing: stop and alert until it is fixed."""


class SupplierNotFoundError(SupplierError):
    """The supplier does not know the order asked for."""


class WebhookVerificationError(Exception):
    """A webhook whose signature, headers or timestamp do not prove it came from the supplier."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # short and machine-readable: bad_signature, stale_timestamp ...


class InvalidWebhookError(Exception):
    """A genuine (signed) webhook whose body is not of the shape the supplier promised."""

    def __init__(self, reason: str, details: str = ""):
        super().__init__(f"{reason}: {details}" if details else reason)
        self.reason = reason
        self.details = details


# --- The interface -------------------------------------------------------------------------
class SupplierAdapter(ABC):
    """One supplier behind PhoneExport's neutral vocabulary.

    Every method either returns neutral types or raises one of the errors above; no HTTP,
    JSON or supplier status leaks out. Methods are safe to call from several threads.
    """

    slug: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_settings(cls, *, route: str | None = None) -> Self:
        """Build the adapter from Django settings, on `route` or the configured default.

        Missing credentials do not raise here: each call then raises SupplierAuthError.
        """

    @abstractmethod
    def place_order(self, request: PlaceOrderRequest, *, idempotency_key: str
                    ) -> SupplierOrderInfo:
        """Create the order, at most once per idempotency key.

        After a TransientSupplierError, calling again with the same key and request is safe
        and returns the order if the first call created it (then `replayed` is True).
        """

    @abstractmethod
    def get_order(self, supplier_order_id: str) -> SupplierOrderInfo:
        """The order as it stands now: the source of truth when events were missed."""

    @abstractmethod
    def find_orders(self, reference: str) -> list[SupplierOrderInfo]:
        """Orders the supplier holds under our reference, to recover a lost creation answer."""

    @abstractmethod
    def cancel_order(self, supplier_order_id: str, *, idempotency_key: str
                     ) -> SupplierOrderInfo:
        """Cancel the order, or raise SupplierRejectedError(NOT_CANCELLABLE) once it shipped."""

    @abstractmethod
    def iter_inventory(self, *, updated_since: datetime | None = None,
                       page_size: int = 500) -> Iterator[InventoryPage]:
        """The catalogue page by page; without `updated_since`, the full catalogue.

        Invalid items come back in `rejected` with a reason; the rest of the page is usable.
        An error raised mid-way means the feed is incomplete and must not be read as full.
        """

    @abstractmethod
    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        """Return only if the webhook provably comes from the supplier, recently.

        Raises WebhookVerificationError with a short reason otherwise.
        """

    @abstractmethod
    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> SupplierEvent:
        """Translate a verified webhook; unknown event types come back as EventKind.UNKNOWN.

        Raises InvalidWebhookError when the body is not of the promised shape.
        """

