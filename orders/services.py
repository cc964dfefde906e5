"""Everything that changes orders: placing, moving through statuses, cancelling, stock."""

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum, prefetch_related_objects
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import ClientCompany, User
from inventory.models import Product, SupplierOffer
from inventory.selectors import client_prices
from inventory.visibility import visible_to
from notifications import services as notifications
from orders.errors import (
    InvalidAddress, InvalidOrder, InvalidTransition, NotAllowedToOrder, NotCancellable,
    OrderBusy, OrderError, OutOfStock,
)
from orders.models import (
    Order, OrderEvent, OrderLine, Shipment, ShipmentImei, ShipmentLine, format_order_number,
)
from orders.states import CANCELLABLE_STATUSES, OrderStatus, can_transition, check_transition
from phoneexport.db import insert_later, update_instances
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
                 webhook_event=None) -> None:
    """Write an entry on the order's timeline (at the end of a batch, in `batched_inserts`)."""
    insert_later(OrderEvent(
        order=order, kind=kind, actor=actor.user, actor_label=actor.label,
        ip_address=actor.ip_address, message=message, from_status=from_status,
        to_status=to_status, payload=payload or {}, webhook_event=webhook_event))


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
    update_instances([order], fields=["status", "status_changed_at", "status_reason",
                                      "updated_at"])
    record_event(order=order, kind=OrderEvent.Kind.STATUS_CHANGE, actor=actor, message=reason,
                 from_status=from_status, to_status=to_status, payload=payload,
                 webhook_event=webhook_event)
    if event := notifications.event_for_status(to_status):
        notifications.notify_order_event(order=order, event=event, reason=reason)
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
                shipping_method: str = "ground", ip_address: str | None = None,
                request_key: str | None = None) -> Order:
    """Reserve stock, record the order and queue it for the supplier, atomically.

    Concurrent buyers of the last units are serialised on the offers' row locks, so stock is
    never oversold. The forwarding task is enqueued only once the transaction has committed;
    if that enqueue is lost, the sweeper finds the order due and sends it.

    A `request_key` already used by the company answers the order it created, so a retried
    API call or a double-submitted checkout never makes a second order.
    """
    if not (user.can_order and user.company_id == company.pk and company.is_active):
        raise NotAllowedToOrder()
    quantities = _merge_lines(lines)
    snapshot = clean_ship_to(ship_to)
    if request_key:
        existing = Order.objects.filter(company=company, request_key=request_key).first()
        if existing is not None:
            return existing
    try:
        return _place_order(company=company, user=user, quantities=quantities, ship_to=snapshot,
                            po_reference=po_reference, notes=notes,
                            shipping_method=shipping_method, ip_address=ip_address,
                            request_key=request_key)
    except IntegrityError:
        # A concurrent request with the same key won the insert.
        if request_key:
            existing = Order.objects.filter(company=company, request_key=request_key).first()
            if existing is not None:
                return existing
        raise


def _place_order(*, company, user, quantities, ship_to, po_reference, notes, shipping_method,
                 ip_address, request_key) -> Order:
    with transaction.atomic():
        products = {product.sku: product for product in visible_to(
            Product.objects.select_related("grade", "carrier").filter(
                sku__in=quantities, is_active=True, sell_price__isnull=False),
            company=company)}
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
                              quantities=quantities, ship_to=ship_to, po_reference=po_reference,
                              notes=notes, shipping_method=shipping_method,
                              request_key=request_key)
        for product in products.values():
            SupplierOffer.objects.filter(pk=offers[product.pk].pk).update(
                reserved_quantity=F("reserved_quantity") + quantities[product.sku])
        # The units stay reserved while staff decide.
        if hold := approval_reason(order=order):
            # Its first status, not a move: the order was never placed with the supplier.
            order.status = S.AWAITING_APPROVAL
            order.status_reason = hold
            order.save(update_fields=["status", "status_reason", "updated_at"])
            record_event(order=order, kind=OrderEvent.Kind.STATUS_CHANGE,
                         to_status=S.AWAITING_APPROVAL, message=hold,
                         actor=Actor(user=user, ip_address=ip_address))
            notifications.notify_order_event(order=order, reason=hold,
                                             event=notifications.Event.AWAITING_APPROVAL)
            SupplierOrder.objects.create(
                order=order, supplier=supplier, idempotency_key=idempotency_key_for(order, 1),
                forwarding_state=SupplierOrder.ForwardingState.AWAITING_APPROVAL)
        else:
            record_event(order=order, kind=OrderEvent.Kind.STATUS_CHANGE, to_status=S.PLACED,
                         actor=Actor(user=user, ip_address=ip_address),
                         message=_("Order placed."))
            notifications.notify_order_event(order=order, event=notifications.Event.PLACED)
            _queue_for_supplier(SupplierOrder(
                order=order, supplier=supplier, idempotency_key=idempotency_key_for(order, 1)))
    logger.info("order_placed", order_number=order.number, company=company.account_number,
                total=str(order.total))
    return order


def _queue_for_supplier(supplier_order: SupplierOrder) -> None:
    """Make the order due for its supplier: sent by a worker after commit, or, on the manual
    route, listed for staff to place."""
    manual = supplier_order.supplier.effective_route == "manual"
    supplier_order.forwarding_state = (SupplierOrder.ForwardingState.MANUAL if manual
                                       else SupplierOrder.ForwardingState.PENDING)
    supplier_order.next_attempt_at = timezone.now()
    supplier_order.save()
    if not manual:
        supplier_tasks.forward_after_commit()


# --- Credit and approval -------------------------------------------------------------------
def open_balance(*, company: ClientCompany) -> Decimal:
    """What the client owes: its orders not paid yet, except those that ended unfulfilled."""
    return (Order.objects.filter(company=company, paid_at__isnull=True)
            .exclude(status__in=[S.CANCELLED, S.REJECTED])
            .aggregate(total=Sum("total"))["total"] or Decimal("0"))


def approval_reason(*, order: Order) -> str:
    """Why this just-created order must wait for staff approval, or "" when it need not.

    The company's row is locked first, so two checkouts cannot both pass under the limit.
    """
    company = ClientCompany.objects.select_for_update().get(pk=order.company_id)
    if company.on_hold:
        return (_("The account is on hold: %(reason)s") % {"reason": company.hold_reason}
                if company.hold_reason else _("The account is on hold."))
    if company.credit_limit is None:
        return ""
    balance = open_balance(company=company)
    amounts = {"balance": f"{balance:,.2f}", "limit": f"{company.credit_limit:,.2f}",
               "currency": order.currency,
               "share": f"{settings.CREDIT_APPROVAL_SHARE * 100:.0f}"}
    if balance > company.credit_limit:
        return _("This order takes the open balance to %(currency)s %(balance)s, over the "
                 "credit limit of %(currency)s %(limit)s.") % amounts
    if balance > company.credit_limit * settings.CREDIT_APPROVAL_SHARE:
        return _("This order takes the open balance to %(currency)s %(balance)s, over "
                 "%(share)s %% of the credit limit of %(currency)s %(limit)s.") % amounts
    return ""


def approve_order(*, order: Order, actor: Actor, note: str = "") -> Order:
    """Staff approve an order that waits for approval: from here it goes as any other."""
    with transaction.atomic():
        supplier_order = lock_supplier_order(SupplierOrder.objects.filter(order_id=order.pk))
        order = supplier_order.order
        check_transition(order.status, S.PLACED)
        change_status(order=order, to_status=S.PLACED, actor=actor,
                      reason=note or _("Approved."))
        _queue_for_supplier(supplier_order)
    return order


def decline_order(*, order: Order, actor: Actor, reason: str) -> Order:
    """Staff decline an order that waits for approval: rejected, its stock released."""
    if not reason.strip():
        raise InvalidOrder(_("Say why the order is declined: the client is told."))
    with transaction.atomic():
        supplier_order = lock_supplier_order(SupplierOrder.objects.filter(order_id=order.pk))
        order = supplier_order.order
        if order.status != S.AWAITING_APPROVAL:
            raise InvalidTransition(order.status, S.REJECTED)
        change_status(order=order, to_status=S.REJECTED, actor=actor, reason=reason.strip())
        release_stock(order=order)
        supplier_order.forwarding_state = SupplierOrder.ForwardingState.CANCELLED
        supplier_order.save(update_fields=["forwarding_state", "updated_at"])
    return order


def record_payment(*, order: Order, actor: Actor, paid_at=None, reference: str = "") -> Order:
    """Staff record the client's payment of an order; it leaves the open balance."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        order.paid_at = paid_at or timezone.now()
        order.payment_reference = reference.strip()
        order.save(update_fields=["paid_at", "payment_reference", "updated_at"])
        record_event(order=order, kind=OrderEvent.Kind.ACTION, actor=actor,
                     payload={"paid_at": order.paid_at.isoformat(),
                              "reference": order.payment_reference},
                     message=_("Payment recorded (%(reference)s).")
                     % {"reference": order.payment_reference or _("no reference")})
    return order


def mark_unpaid(*, order: Order, actor: Actor) -> Order:
    """Undo a payment recorded by mistake; the order counts in the open balance again."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        order.paid_at = None
        order.payment_reference = ""
        order.save(update_fields=["paid_at", "payment_reference", "updated_at"])
        record_event(order=order, kind=OrderEvent.Kind.ACTION, actor=actor,
                     message=_("Payment removed: the order is unpaid."))
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
                  shipping_method, request_key) -> Order:
    currency = {product.currency for product in products.values()}
    if len(currency) != 1:
        raise InvalidOrder(_("These products are priced in different currencies."))
    order = Order.objects.create(
        company=company, placed_by=user, status=S.PLACED, ship_to=ship_to,
        shipping_method=shipping_method, po_reference=po_reference.strip(), notes=notes.strip(),
        currency=currency.pop(), stock_reserved=True, request_key=request_key or None)
    order.number = format_order_number(order.pk)
    # The client pays what its catalogue and price list show, rules of its own included.
    prices = client_prices(company=company, products=products.values(),
                           costs={offer.product_id: offer.cost_price
                                  for offer in offers.values()})
    lines = [OrderLine(order=order, product=product, sku=sku,
                       supplier_sku=offers[product.pk].supplier_sku,
                       description=product.description, quantity=quantities[sku],
                       unit_price=prices[product.pk], unit_cost=offers[product.pk].cost_price)
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
        supplier_order = lock_supplier_order(SupplierOrder.objects.filter(pk=supplier_order_id))
        return apply_locked_supplier_update(supplier_order=supplier_order, info=info,
                                            actor=actor, webhook_event=webhook_event)


def lock_supplier_order(supplier_orders) -> SupplierOrder | None:
    """The supplier order that the queryset finds by a unique key, with its order, both
    rows locked, in one query; None when there is none."""
    # No ORDER BY: with one, the planner may walk the primary key instead of the unique index.
    found = list(_with_order_locked(supplier_orders).order_by()[:1])
    return found[0] if found else None


def lock_supplier_orders(supplier_orders) -> list[SupplierOrder]:
    """The supplier orders and their orders, locked in primary-key order, so that two
    transactions locking overlapping sets wait for each other rather than deadlock."""
    return list(_with_order_locked(supplier_orders).order_by("pk"))


def _with_order_locked(supplier_orders):
    return (supplier_orders.select_related("order__company", "supplier")
            .select_for_update(of=("self", "order")))


def apply_locked_supplier_update(*, supplier_order: SupplierOrder, info: SupplierOrderInfo,
                                 actor: Actor, webhook_event=None,
                                 changed_fields: Iterable[str] = ()) -> bool:
    """`apply_supplier_update` for a caller that holds both row locks (`lock_supplier_order`).

    `changed_fields` names fields the caller set on `supplier_order`: they are saved in the
    same statement.
    """
    order = supplier_order.order
    changed = set(changed_fields)
    if not supplier_order.supplier_order_id and info.supplier_order_id:
        supplier_order.supplier_order_id = info.supplier_order_id
        changed.add("supplier_order_id")
    is_newer = info.version > supplier_order.supplier_version
    if is_newer:
        supplier_order.supplier_status = info.supplier_status
        supplier_order.supplier_version = info.version
        supplier_order.last_synced_at = timezone.now()
        changed |= {"supplier_status", "supplier_version", "last_synced_at"}
    if changed:
        update_instances([supplier_order], fields=[*sorted(changed), "updated_at"])
    if not is_newer:
        return False
    new_shipments = _apply_shipments(order=order, info=info, actor=actor,
                                     webhook_event=webhook_event)
    status_before = order.status
    _apply_status(order=order, info=info, actor=actor, webhook_event=webhook_event)
    if order.status in {S.PARTIALLY_SHIPPED, S.SHIPPED}:
        if order.status != status_before:
            # The status change announced the newest shipment.
            new_shipments = new_shipments[:-1]
        # Also when the status stays the same: a second partial shipment is news too.
        for shipment in new_shipments:
            notifications.notify_order_event(
                order=order, event=notifications.event_for_status(order.status),
                shipment=shipment)
    if order.status in SUPPLIER_HOLDS_THE_STOCK:
        release_stock(order=order)
    return True


def is_valid_imei(imei: str) -> bool:
    """15 digits whose last is the Luhn check digit of the first 14."""
    if not re.fullmatch(r"\d{15}", imei):
        return False
    total = 0
    for position, digit in enumerate(int(char) for char in reversed(imei)):
        if position % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


@dataclass
class _StoredShipment:
    """A shipment of the order as stored, with its lines by SKU and each line's IMEIs."""

    shipment: Shipment
    lines: dict[str, ShipmentLine]
    imeis: dict[str, list[str]]


def prefetch_shipments(orders: list[Order]) -> None:
    """Read the orders' shipments, with their lines and IMEIs, in three queries in all: for
    a batch of updates, which then read none of their own (`_apply_shipments`)."""
    prefetch_related_objects(orders, "shipments__lines__imeis")


def _apply_shipments(*, order: Order, info: SupplierOrderInfo, actor: Actor,
                     webhook_event) -> list[Shipment]:
    """Upsert the snapshot's shipments; one recorded is never dropped by a later omission.

    Returns the shipments this snapshot recorded for the first time. A snapshot that repeats
    what is stored (each later event carries every shipment) writes and re-checks nothing.
    The order's shipments are read once (or come from `prefetch_shipments`); the checks run
    on what was read and written.
    """
    if not info.shipments:
        return []
    prefetched = getattr(order, "_prefetched_objects_cache", {})
    # Taken, not just read: once this update writes, what was prefetched is out of date.
    shipments = prefetched.pop("shipments", None)
    if shipments is None:
        shipments = order.shipments.prefetch_related("lines__imeis")
    stored = {shipment.supplier_shipment_id: _StoredShipment(
        shipment=shipment, lines={line.sku: line for line in shipment.lines.all()},
        imeis={line.sku: [imei.imei for imei in line.imeis.all()]
               for line in shipment.lines.all()})
        for shipment in shipments}
    order_lines: list[OrderLine] | None = None
    new_shipments = []
    changed = False
    for shipment_info in info.shipments:
        entry = stored.get(shipment_info.shipment_id)
        if entry is None:
            shipment = Shipment.objects.create(
                order=order, supplier_shipment_id=shipment_info.shipment_id,
                carrier=shipment_info.carrier, tracking_number=shipment_info.tracking_number,
                shipped_at=shipment_info.shipped_at)
            entry = stored[shipment_info.shipment_id] = _StoredShipment(
                shipment=shipment, lines={}, imeis={})
            new_shipments.append(shipment)
            changed = True
            record_event(order=order, kind=OrderEvent.Kind.SUPPLIER, actor=actor,
                         webhook_event=webhook_event,
                         payload={"shipment": shipment_info.shipment_id,
                                  "carrier": shipment_info.carrier,
                                  "tracking_number": shipment_info.tracking_number},
                         message=_("Shipment %(id)s: %(carrier)s %(tracking)s.")
                         % {"id": shipment_info.shipment_id, "carrier": shipment_info.carrier,
                            "tracking": shipment_info.tracking_number})
        elif (entry.shipment.carrier, entry.shipment.tracking_number) != (
                shipment_info.carrier, shipment_info.tracking_number):
            entry.shipment.carrier = shipment_info.carrier
            entry.shipment.tracking_number = shipment_info.tracking_number
            entry.shipment.save(update_fields=["carrier", "tracking_number", "updated_at"])
            changed = True
        for line_info in shipment_info.lines:
            if _shipment_line_is_stored(entry, line_info):
                continue
            if order_lines is None:
                order_lines = list(order.lines.all())
            order_line = next((line for line in order_lines
                               if line.supplier_sku == line_info.sku), None)
            _apply_shipment_line(entry, line_info=line_info, order_line=order_line)
            changed = True
    if changed:
        order_lines = order_lines if order_lines is not None else list(order.lines.all())
        shipments = list(stored.values())
        _update_quantities_shipped(order_lines, shipments)
        _check_shipments(order=order, order_lines=order_lines, shipments=shipments,
                         actor=actor, webhook_event=webhook_event)
    return new_shipments


def _shipment_line_is_stored(entry: _StoredShipment, line_info) -> bool:
    """True when the stored line already says what the snapshot says, IMEIs included."""
    line = entry.lines.get(line_info.sku)
    if line is None or line.quantity != line_info.quantity:
        return False
    return not Counter(line_info.imeis) - Counter(entry.imeis[line_info.sku])


def _apply_shipment_line(entry: _StoredShipment, *, line_info,
                         order_line: OrderLine | None) -> None:
    """Upsert one line of a shipment and add its new IMEIs."""
    shipment_line = entry.lines.get(line_info.sku)
    if shipment_line is None:
        shipment_line = entry.lines[line_info.sku] = ShipmentLine.objects.create(
            shipment=entry.shipment, sku=line_info.sku, quantity=line_info.quantity,
            order_line=order_line)
        entry.imeis[line_info.sku] = []
    elif (shipment_line.quantity, shipment_line.order_line_id) != (
            line_info.quantity, order_line and order_line.pk):
        shipment_line.quantity = line_info.quantity
        shipment_line.order_line = order_line
        shipment_line.save(update_fields=["quantity", "order_line"])
    # Repeats are kept too (and flagged): add what the snapshot has beyond ours.
    stored = Counter(entry.imeis[line_info.sku])
    added = [imei for imei, count in Counter(line_info.imeis).items()
             for _copy in range(count - stored[imei])]
    ShipmentImei.objects.bulk_create([
        ShipmentImei(shipment_line=shipment_line, imei=imei, is_valid=is_valid_imei(imei))
        for imei in added])
    entry.imeis[line_info.sku] += added


def _update_quantities_shipped(order_lines: list[OrderLine],
                               shipments: list[_StoredShipment]) -> None:
    shipped = Counter()
    for entry in shipments:
        for line in entry.lines.values():
            if line.order_line_id is not None:
                shipped[line.order_line_id] += line.quantity
    for line in order_lines:
        if line.quantity_shipped != shipped[line.pk]:
            line.quantity_shipped = shipped[line.pk]
            line.save(update_fields=["quantity_shipped"])


def _check_shipments(*, order: Order, order_lines: list[OrderLine],
                     shipments: list[_StoredShipment], actor: Actor, webhook_event) -> None:
    """Flag, for staff, shipments that do not match the order; nothing is dropped."""
    lines = {line.supplier_sku: line for line in order_lines}
    seen_on_order = Counter(imei for entry in shipments for imeis in entry.imeis.values()
                            for imei in imeis)
    elsewhere = set(ShipmentImei.objects.filter(imei__in=seen_on_order).exclude(
        shipment_line__shipment__order=order).values_list("imei", flat=True))
    for entry in shipments:
        shipment = entry.shipment
        issues = []
        for sku, shipment_line in entry.lines.items():
            line = lines.get(sku)
            if line is None:
                issues.append({"code": "unknown_sku", "sku": sku})
            elif line.quantity_shipped > line.quantity:
                issues.append({"code": "over_shipped", "sku": sku,
                               "ordered": line.quantity, "shipped": line.quantity_shipped})
            line_imeis = entry.imeis[sku]
            if len(line_imeis) != shipment_line.quantity:
                issues.append({"code": "imei_count", "sku": sku,
                               "units": shipment_line.quantity, "imeis": len(line_imeis)})
            for imei in dict.fromkeys(line_imeis):
                if not is_valid_imei(imei):
                    issues.append({"code": "invalid_imei", "imei": imei})
                if seen_on_order[imei] > 1:
                    issues.append({"code": "repeated_imei", "imei": imei})
                if imei in elsewhere:
                    issues.append({"code": "imei_on_another_order", "imei": imei})
        if issues != shipment.issues:
            shipment.issues = issues
            shipment.save(update_fields=["issues", "updated_at"])
            if issues:
                record_event(order=order, kind=OrderEvent.Kind.SUPPLIER, actor=actor,
                             webhook_event=webhook_event, payload={"issues": issues},
                             message=_("Shipment %(id)s does not match the order: "
                                       "staff review needed.")
                             % {"id": shipment.supplier_shipment_id})
                logger.warning("shipment_mismatch", shipment=shipment.supplier_shipment_id,
                               issues=issues)
                notifications.alert_staff(
                    kind=notifications.AlertKind.NEEDS_ATTENTION, order=order,
                    dedup_key=f"shipment-issues:{shipment.pk}:{len(issues)}",
                    subject=_("Shipment %(id)s of %(order)s does not match the order")
                    % {"id": shipment.supplier_shipment_id, "order": order.number},
                    message="\n".join(str(issue) for issue in issues))


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
    not_at_supplier = [SupplierOrder.ForwardingState.AWAITING_APPROVAL,
                       SupplierOrder.ForwardingState.PENDING,
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
        if supplier_order.forwarding_state == SupplierOrder.ForwardingState.MANUAL:
            # Staff placed it by hand: only they can cancel it at the supplier, then record it.
            raise NotCancellable(_("This order is already placed with the supplier: contact us "
                                   "to cancel it."))
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
