"""Reads of orders for the client pages, the API and the live updates."""

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery

from customers.models import ClientCompany
from inventory.models import Product
from orders.models import Order, OrderEvent, Shipment, ShipmentImei
from orders.states import OrderStatus

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
# How many orders one live-update request may ask about (one page of the list at most).
MAX_LIVE_ORDERS = MAX_PAGE_SIZE


class InvalidCursor(ValueError):
    """A page cursor that we did not hand out, or that was changed on the way."""


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    # Opaque position after the last order shown, or None on the last page.
    next_cursor: str | None


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    title: str
    message: str


def _encode_cursor(order: Order) -> str:
    raw = f"{order.created_at.isoformat()}|{order.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, order_id = raw.split("|")
        position = datetime.fromisoformat(created_at), int(order_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(cursor) from exc
    if position[0].tzinfo is None or not 0 < position[1] < 2**63:  # a bigint primary key
        raise InvalidCursor(cursor)
    return position


def orders_for_client(*, company: ClientCompany, status: str | None = None,
                      search: str | None = None, cursor: str | None = None,
                      limit: int = DEFAULT_PAGE_SIZE,
                      with_live_versions: bool = False) -> OrderPage:
    """One page of the company's orders, newest first, optionally by status or a search.

    Keyset pagination on (created_at, id): every page is a walk down the index
    `order_company_recent` (or `order_company_status` with a status) from the cursor, so a
    page costs the same on the first or the thousandth page, with no OFFSET and no COUNT.
    The search matches our order number or the client's PO reference. With
    `with_live_versions`, each order carries what `live_version()` reads, in the same query.

    Raises InvalidCursor for a cursor not of our making.
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    orders = Order.objects.filter(company=company)
    if status:
        orders = orders.filter(status=status)
    if search := (search or "").strip():
        orders = orders.filter(Q(number__icontains=search) | Q(po_reference__icontains=search))
    if cursor:
        created_at, order_id = _decode_cursor(cursor)
        # The first condition alone is what the index range scan starts from.
        orders = orders.filter(created_at__lte=created_at).filter(
            Q(created_at__lt=created_at) | Q(pk__lt=order_id))
    if with_live_versions:
        orders = orders.annotate(
            supplier_version=F("supplier_order__supplier_version"),
            # MAX over the order's own events (its index): with ORDER BY id DESC LIMIT 1
            # the planner may walk the whole table's primary key backwards instead.
            last_event=Subquery(OrderEvent.objects.filter(order=OuterRef("pk")).order_by()
                                .values("order").annotate(last=Max("id")).values("last")))
    page = list(orders.order_by("-created_at", "-pk").only(
        "public_id", "number", "status", "status_reason", "po_reference", "currency", "total",
        "created_at", "updated_at")[:limit + 1])
    next_cursor = _encode_cursor(page[limit - 1]) if len(page) > limit else None
    return OrderPage(orders=page[:limit], next_cursor=next_cursor)


def order_for_client(*, company: ClientCompany, public_id: uuid.UUID | str) -> Order:
    """The company's order by its public id; Order.DoesNotExist for anyone else's."""
    return Order.objects.get(company=company, public_id=public_id)


def order_for_request_key(*, company: ClientCompany, request_key: str) -> Order | None:
    """The order a client's Idempotency-Key (or checkout token) already created, if any."""
    return Order.objects.filter(company=company, request_key=request_key).first()


def _client_events() -> QuerySet[OrderEvent]:
    # What the client sees: status changes and shipments. Supplier diagnostics (unknown
    # statuses, ignored moves, mismatched shipments) are for staff.
    return OrderEvent.objects.filter(
        Q(kind=OrderEvent.Kind.STATUS_CHANGE)
        | Q(kind=OrderEvent.Kind.SUPPLIER, payload__has_key="tracking_number")
    ).order_by("created_at", "id")


def order_detail(*, company: ClientCompany, public_id: uuid.UUID | str) -> Order:
    """The company's order with its lines, shipments (lines and IMEIs) and the client's
    timeline in `client_events`; Order.DoesNotExist for anyone else's order."""
    return (Order.objects.filter(company=company, public_id=public_id)
            .select_related("placed_by")
            .prefetch_related(
                "lines__product__warehouse",
                Prefetch("shipments", queryset=Shipment.objects.prefetch_related(
                    "lines__imeis")),
                Prefetch("events", queryset=_client_events(), to_attr="client_events"))
            .get())


def order_warehouses(order: Order) -> list:
    """The warehouses an order given by `order_detail` ships from, for their terms."""
    warehouses = {line.product.warehouse.pk: line.product.warehouse
                  for line in order.lines.all() if line.product is not None}
    return list(warehouses.values())


def client_timeline(order: Order) -> list[TimelineEntry]:
    """The timeline as the client reads it, from an order given by `order_detail`."""
    labels = dict(OrderStatus.choices)
    entries = []
    for event in order.client_events:
        if event.kind == OrderEvent.Kind.STATUS_CHANGE:
            entries.append(TimelineEntry(at=event.created_at,
                                         title=str(labels.get(event.to_status, event.to_status)),
                                         message=event.message))
        else:
            entries.append(TimelineEntry(at=event.created_at, title=event.message, message=""))
    return entries


def order_imeis(*, order: Order) -> QuerySet[ShipmentImei]:
    """Every phone shipped on the order, shipment by shipment."""
    return (ShipmentImei.objects.filter(shipment_line__shipment__order=order)
            .select_related("shipment_line__shipment")
            .order_by("shipment_line__shipment__shipped_at", "shipment_line__shipment_id",
                      "shipment_line_id", "id"))


def live_versions(*, company: ClientCompany,
                  public_ids: list[uuid.UUID]) -> dict[str, dict[str, str]]:
    """For each of the company's orders asked about: its status and a version that changes
    whenever anything the client sees on it changes.

    The version joins the order's last save (status, totals), the supplier's version (every
    applied update, such as IMEIs added to a shipment) and the last timeline entry. It is
    one indexed query for up to MAX_LIVE_ORDERS orders, cheap enough to poll.
    """
    rows = (Order.objects.filter(company=company, public_id__in=public_ids[:MAX_LIVE_ORDERS])
            .values("public_id", "status", "updated_at", "supplier_order__supplier_version")
            .annotate(last_event=Max("events__id")))
    labels = status_labels()
    return {str(row["public_id"]): {
        "version": _version(row["updated_at"], row["supplier_order__supplier_version"],
                            row["last_event"]),
        "status": row["status"],
        "status_label": labels.get(row["status"], row["status"]),
    } for row in rows}


def live_version(order: Order) -> str:
    """The version `live_versions` gives, of an order read `with_live_versions`."""
    return _version(order.updated_at, order.supplier_version, order.last_event)


def _version(updated_at: datetime, supplier_version: int | None, last_event: int | None) -> str:
    return f"{updated_at.timestamp()}.{supplier_version or 0}.{last_event or 0}"


def status_labels() -> dict[str, str]:
    """Status -> its label in the active language, each translated once (per call, not per
    order: a choices label is translated again at every use)."""
    return {value: str(label) for value, label in OrderStatus.choices}


def reorder_quantities(*, order: Order) -> tuple[dict[str, int], list[str]]:
    """The order's SKUs and quantities that can be ordered again, and the SKUs that cannot
    (no longer for sale)."""
    quantities = dict(order.lines.values_list("sku", "quantity"))
    on_sale = set(Product.objects.filter(sku__in=quantities, is_active=True,
                                         sell_price__isnull=False)
                  .values_list("sku", flat=True))
    return ({sku: quantity for sku, quantity in quantities.items() if sku in on_sale},
            sorted(set(quantities) - on_sale))
