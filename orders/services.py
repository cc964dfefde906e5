"""Everything that changes orders: placing, moving through statuses, cancelling, stock."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import structlog
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import ClientCompany, User
from inventory.models import Product, SupplierOffer
from orders.errors import (
    InvalidAddress, InvalidOrder, NotAllowedToOrder, NotCancellable, OrderBusy, OrderError,
    OutOfStock,
)
from orders.models import Order, OrderEvent, OrderLine, format_order_number
from orders.states import CANCELLABLE_STATUSES, OrderStatus, can_transition, check_transition
from suppliers import tasks as supplier_tasks
from suppliers.adapters import get_adapter
from suppliers.adapters.base import (
    RejectionCode, SupplierError, SupplierOrderInfo, SupplierRejectedError,
)
from suppliers.models import SupplierOrder

logger = structlog.get_logger(__name__)

S = OrderStatus
SHIP_TO_FIELDS = ("company", "name", "phone", "line1", "line2", "city", "region",
                  "postal_code", "country")
REQUIRED_SHIP_TO_FIELDS = ("company", "name", "line1", "city", "postal_code", "country")
# Once the supplier has accepted an order (or ended it), its stock figures include our units.
SUPPLIER_HOLDS_THE_STOCK = frozenset({S.CONFIRMED, S.PROCESSING, S.BACKORDERED,
                                      S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED,
                                      S.REJECTED, S.CANCELLED})


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Actor:
    """Who did something, for the timeline: a user, or a named system part."""

    user: User | None = None
    label: str = ""
    ip_address: str | None = None


SYSTEM = Actor(label="system")


# --- Timeline and statuses -----------------------------------------------------------------
def record_event(*, order: Order, kind: str, actor: Actor = SYSTEM, message: str = "",
                 from_status: str = "", to_status: str = "", payload: dict | None = None,
                 webhook_event=None) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order, kind=kind, actor=actor.user, actor_label=actor.label,
        ip_address=actor.ip_address, message=message, from_status=from_status,
        to_status=to_status, payload=payload or {}, webhook_event=webhook_event)


def change_status(*, order: Order, to_status: S, actor: Actor = SYSTEM, reason: str = "",
                  payload: dict | None = None, webhook_event=None) -> None:
    """Move the order through the transition table and write it on the timeline.

    The caller holds the order's row lock inside a transaction.
    """
    from_status = order.status
    check_transition(from_status, to_status)
    order.status = to_status
    order.status_changed_at = timezone.now()
    order.status_reason = reason
    order.save(update_fields=["status", "status_changed_at", "status_reason", "updated_at"])
    record_event(order=order, kind=OrderEvent.Kind.STATUS_CHANGE, actor=actor, message=reason,
                 from_status=from_status, to_status=to_status, payload=payload,
                 webhook_event=webhook_event)
    logger.info("order_status_changed", order_number=order.number, from_status=from_status,
                to_status=str(to_status))


def release_stock(*, order: Order) -> None:
    """Give the order's reserved units back to other clients, once."""
    if not order.stock_reserved:
        return
    for line in order.lines.all():
        SupplierOffer.objects.filter(product_id=line.product_id).update(
            reserved_quantity=Greatest(F("reserved_quantity") - line.quantity, 0))
    order.stock_reserved = False
    order.save(update_fields=["stock_reserved", "updated_at"])


# --- Placing an order ----------------------------------------------------------------------
def clean_ship_to(ship_to: Mapping[str, object]) -> dict[str, str]:
    """The ship-to snapshot in the supplier contract's fields, or InvalidAddress."""
    cleaned = {field: str(ship_to.get(field) or "").strip() for field in SHIP_TO_FIELDS}
    missing = [field for field in REQUIRED_SHIP_TO_FIELDS if not cleaned[field]]
    if missing:
        raise InvalidAddress(_("The shipping address is incomplete."),
                             [{"field": field, "error": _("This field is required.")}
                              for field in missing])
    cleaned["country"] = cleaned["country"].upper()
    if not re.fullmatch(r"[A-Z]{2}", cleaned["country"]):
        raise InvalidAddress(_("The shipping address is invalid."),
                             [{"field": "country",
                               "error": _("Use a two-letter country code, e.g. US.")}])
    return cleaned


def _merge_lines(lines: Iterable[LineRequest]) -> dict[str, int]:
    quantities: dict[str, int] = {}
    for line in lines:
        if not isinstance(line.quantity, int) or line.quantity < 1:
            raise InvalidOrder(_("Quantities must be whole numbers of at least 1."),
                               [{"sku": line.sku, "error": _("Invalid quantity.")}])
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    if not quantities:
        raise InvalidOrder(_("An order needs at least one line."))
    return quantities


def place_order(*, company: ClientCompany, user: User, lines: Iterable[LineRequest],
                ship_to: Mapping[str, object], po_reference: str = "", notes: str = "",
                shipping_method: str = "ground", ip_address: str | None = None) -> Order:
    """Reserve stock, record the order and queue it for the supplier, atomically.

    Concurrent buyers of the last units are serialised on the offers' row locks, so stock is
    never oversold. The forwarding task is enqueued only once the transaction has committed;
    if that enqueue is lost, the sweeper finds the order due and sends it.
    """
    if not (user.can_order and user.company_id == company.pk and company.is_active):
        raise NotAllowedToOrder()
    quantities = _merge_lines(lines)
    snapshot = clean_ship_to(ship_to)
    with transaction.atomic():
        products = {product.sku: product for product in Product.objects.select_related(
            "grade", "carrier").filter(sku__in=quantities, is_active=True,
                                        sell_price__isnull=False)}
        unknown = sorted(set(quantities) - set(products))
        if unknown:
            raise InvalidOrder(_("Some products are not for sale."),
                               [{"sku": sku, "error": _("Not for sale.")} for sku in unknown])
        # Lock in a fixed order so two checkouts of the same SKUs cannot deadlock.
        offers = {offer.product_id: offer for offer in SupplierOffer.objects.select_for_update()
                  .select_related("supplier").filter(product__in=products.values())
                  .order_by("pk")}
        _check_stock(products, offers, quantities)
        suppliers = {offer.supplier for offer in offers.values()}
        if len(suppliers) != 1:
            raise InvalidOrder(_("These products ship from different suppliers: "
                                 "please order them separately."))
        supplier = suppliers.pop()
        order = _create_order(company=company, user=user, products=products, offers=offers,
                              quantities=quantities, ship_to=snapshot, po_reference=po_reference,
                              notes=notes, shipping_method=shipping_method)
        for product in products.values():
            SupplierOffer.objects.filter(pk=offers[product.pk].pk).update(
                reserved_quantity=F("reserved_quantity") + quantities[product.sku])
        record_event(order=order, kind=OrderEvent.Kind.STATUS_CHANGE, to_status=S.PLACED,
                     actor=Actor(user=user, ip_address=ip_address),
                     message=_("Order placed."))
        supplier_order = SupplierOrder.objects.create(
            order=order, supplier=supplier, idempotency_key=idempotency_key_for(order, 1),
            forwarding_state=(SupplierOrder.ForwardingState.MANUAL
                              if supplier.effective_route == "manual"
                              else SupplierOrder.ForwardingState.PENDING),
            next_attempt_at=timezone.now())
        if supplier_order.forwarding_state == SupplierOrder.ForwardingState.PENDING:
            transaction.on_commit(
                lambda: supplier_tasks.forward_supplier_order.delay(supplier_order.pk))
    logger.info("order_placed", order_number=order.number, company=company.account_number,
                total=str(order.total))
    return order


def idempotency_key_for(order: Order, revision: int) -> str:
    """One key per order and revision: the same on every retry, a new one for a changed body."""
    return f"phoneexport-{order.public_id}-r{revision}"


def _check_stock(products: dict[str, Product], offers: dict[int, SupplierOffer],
                 quantities: dict[str, int]) -> None:
    short = []
    for sku, product in products.items():
        offer = offers.get(product.pk)
        available = offer.available_quantity if offer else 0
        if quantities[sku] > available:
            short.append({"sku": sku, "requested": quantities[sku], "available": available})
    if short:
        raise OutOfStock(short)


def _create_order(*, company, user, products, offers, quantities, ship_to, po_reference, notes,
                  shipping_method) -> Order:
    currency = {product.currency for product in products.values()}
    if len(currency) != 1:
        raise InvalidOrder(_("These products are priced in different currencies."))
    order = Order.objects.create(
        company=company, placed_by=user, status=S.PLACED, ship_to=ship_to,
        shipping_method=shipping_method, po_reference=po_reference.strip(), notes=notes.strip(),
        currency=currency.pop(), stock_reserved=True)
    order.number = format_order_number(order.pk)
    lines = [OrderLine(order=order, product=product, sku=sku,
                       supplier_sku=offers[product.pk].supplier_sku,
                       description=product.description, quantity=quantities[sku],
                       unit_price=product.sell_price, unit_cost=offers[product.pk].cost_price)
             for sku, product in sorted(products.items())]
    OrderLine.objects.bulk_create(lines)
    order.subtotal = order.total = sum((line.line_total for line in lines), Decimal("0"))
    order.cost_total = sum((line.unit_cost * line.quantity for line in lines), Decimal("0"))
    order.save(update_fields=["number", "subtotal", "total", "cost_total"])
    return order


# --- What the supplier tells us ------------------------------------------------------------
def apply_supplier_update(*, supplier_order_id: int, info: SupplierOrderInfo, actor: Actor,
                          webhook_event=None) -> bool:
    """Bring our order up to the supplier's snapshot if it is newer than what we have.

    Returns False for a stale snapshot (its version is not newer): then only a missing
    supplier order id is recorded. A status the table does not allow is written on the
    timeline and not applied.
    """
    with transaction.atomic():
        supplier_order = SupplierOrder.objects.select_for_update().get(pk=supplier_order_id)
        order = Order.objects.select_for_update().get(pk=supplier_order.order_id)
        if not supplier_order.supplier_order_id and info.supplier_order_id:
            supplier_order.supplier_order_id = info.supplier_order_id
            supplier_order.save(update_fields=["supplier_order_id", "updated_at"])
        if info.version <= supplier_order.supplier_version:
            return False
        supplier_order.supplier_status = info.supplier_status
        supplier_order.supplier_version = info.version
        supplier_order.last_synced_at = timezone.now()
        supplier_order.save(update_fields=["supplier_status", "supplier_version",
                                           "last_synced_at", "updated_at"])
        _apply_status(order=order, info=info, actor=actor, webhook_event=webhook_event)
        if order.status in SUPPLIER_HOLDS_THE_STOCK:
            release_stock(order=order)
    return True


def _apply_status(*, order: Order, info: SupplierOrderInfo, actor: Actor, webhook_event) -> None:
    payload = {"supplier_status": info.supplier_status, "version": info.version}
    if info.status is None:
        record_event(order=order, kind=OrderEvent.Kind.SUPPLIER, actor=actor, payload=payload,
                     webhook_event=webhook_event,
                     message=_("The supplier reported a status we do not know: %(status)s.")
                     % {"status": info.supplier_status})
        return
    if info.status == order.status:
        return
    if not can_transition(order.status, info.status):
        record_event(order=order, kind=OrderEvent.Kind.SUPPLIER, actor=actor, payload=payload,
                     webhook_event=webhook_event,
                     message=_("Ignored the supplier's move from %(from)s to %(to)s.")
                     % {"from": order.status, "to": info.status})
        return
    change_status(order=order, to_status=info.status, actor=actor, payload=payload,
                  webhook_event=webhook_event, reason=_status_reason(info))


def _status_reason(info: SupplierOrderInfo) -> str:
    if info.status == S.REJECTED:
        return info.rejection_reason
    if info.status == S.ON_HOLD:
        return info.hold_message
    return ""


# --- Cancelling ----------------------------------------------------------------------------
def cancel_order(*, order: Order, actor: Actor, reason: str = "") -> Order:
    """Cancel before anything shipped: at the supplier when it has the order, then here.

    Raises NotCancellable once the order (or the supplier) has shipped, and OrderBusy while a
    worker is sending the order to the supplier.
    """
    if order.status not in CANCELLABLE_STATUSES:
        raise NotCancellable()
    supplier_order = order.supplier_order
    not_at_supplier = [SupplierOrder.ForwardingState.PENDING,
                       SupplierOrder.ForwardingState.MANUAL,
                       SupplierOrder.ForwardingState.NEEDS_ATTENTION]
    with transaction.atomic():
        # Compare-and-set: a worker can no longer claim it once this commits.
        taken_back = SupplierOrder.objects.filter(
            pk=supplier_order.pk, forwarding_state__in=not_at_supplier, supplier_order_id=""
        ).update(forwarding_state=SupplierOrder.ForwardingState.CANCELLED, next_attempt_at=None)
        if taken_back:
            _cancel_here(order_id=order.pk, actor=actor, reason=reason)
    if not taken_back:
        supplier_order.refresh_from_db()
        if supplier_order.forwarding_state == SupplierOrder.ForwardingState.IN_FLIGHT:
            raise OrderBusy()
        _cancel_at_supplier(supplier_order=supplier_order, actor=actor, reason=reason)
    order.refresh_from_db()
    return order


def _cancel_here(*, order_id: int, actor: Actor, reason: str) -> None:
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status not in CANCELLABLE_STATUSES:
        raise NotCancellable()
    change_status(order=order, to_status=S.CANCELLED, actor=actor, reason=reason)
    release_stock(order=order)


def _cancel_at_supplier(*, supplier_order: SupplierOrder, actor: Actor, reason: str) -> None:
    adapter = get_adapter(supplier_order.supplier.slug,
                          route=supplier_order.supplier.effective_route)
    try:
        info = adapter.cancel_order(supplier_order.supplier_order_id,
                                    idempotency_key=f"{supplier_order.idempotency_key}-cancel")
    except SupplierRejectedError as exc:
        if exc.code == RejectionCode.NOT_CANCELLABLE:
            raise NotCancellable(_("The supplier has already shipped this order.")) from exc
        raise OrderError(_("The supplier refused the cancellation: %(reason)s")
                         % {"reason": exc.message}) from exc
    except SupplierError as exc:
        raise OrderError(_("The supplier could not be reached. Try again later.")) from exc
    with transaction.atomic():
        apply_supplier_update(supplier_order_id=supplier_order.pk, info=info, actor=actor)
        order = Order.objects.select_for_update().get(pk=supplier_order.order_id)
        if order.status != S.CANCELLED:  # the supplier's answer was not newer than ours
            change_status(order=order, to_status=S.CANCELLED, actor=actor, reason=reason)
        release_stock(order=order)
