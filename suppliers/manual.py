"""The manual route: staff place a supplier's orders by hand and record what the supplier says.

For a supplier without an API, an order waits in a staff work queue (forwarding state
`manual`) instead of being sent. Staff place it on the supplier's portal or email its sheet as
a purchase order, then record the supplier's order number, status changes and shipments with
the supplier's IMEI list. Each record becomes a neutral SupplierOrderInfo with the next
version and goes through `orders.services.apply_supplier_update`, exactly as an API answer or
a webhook would: the same transition table, timeline, notifications and exactly-once rules.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import User
from notifications import services as notifications
from notifications.models import AlertKind, Notification
from orders import imei_lists
from orders import services as order_services
from orders.errors import InvalidTransition, ManualRouteError
from orders.models import OrderEvent
from orders.states import OrderStatus, can_transition
from suppliers.adapters.base import (
    ShipmentInfo, ShipmentLineInfo, SupplierOrderInfo, SupplierOrderLine,
)
from suppliers.models import ImeiList, SupplierOrder

logger = structlog.get_logger(__name__)

S = OrderStatus
MANUAL = SupplierOrder.ForwardingState.MANUAL
# What staff may record by hand; shipping is recorded with a shipment and its IMEI list.
STAFF_STATUSES = (S.CONFIRMED, S.ON_HOLD, S.PROCESSING, S.BACKORDERED, S.DELIVERED,
                  S.CANCELLED, S.REJECTED)
SHEET_COLUMNS = ("reference", "sku", "description", "quantity", "unit_price", "ship_to")


def staff_actor(user: User | None) -> order_services.Actor:
    return order_services.Actor(user=user, label="staff:manual-route")


# --- Reads -------------------------------------------------------------------------------
def work_queue() -> QuerySet[SupplierOrder]:
    """Manual-route orders still open, oldest first."""
    return (SupplierOrder.objects.filter(forwarding_state=MANUAL)
            .exclude(order__status__in=[S.DELIVERED, S.CANCELLED, S.REJECTED])
            .select_related("order", "order__company", "supplier")
            .order_by("created_at", "pk"))


def to_place(queryset: QuerySet[SupplierOrder]) -> QuerySet[SupplierOrder]:
    return queryset.filter(supplier_order_id="")


def order_sheet(supplier_order: SupplierOrder) -> list[dict]:
    """The order as the supplier needs it: one row per line, in its SKUs and our cost."""
    order = supplier_order.order
    ship_to = ", ".join(value for field in order_services.SHIP_TO_FIELDS
                        if (value := str(order.ship_to.get(field) or "").strip()))
    return [{"reference": order.number, "sku": line.supplier_sku,
             "description": line.description, "quantity": line.quantity,
             "unit_price": line.unit_cost, "ship_to": ship_to}
            for line in order.lines.all()]


def _sheet_headers() -> list[str]:
    return [_("Our reference"), _("SKU"), _("Description"), _("Quantity"), _("Unit price"),
            _("Ship to")]


def sheet_csv(supplier_order: SupplierOrder) -> str:
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(_sheet_headers())
    for row in order_sheet(supplier_order):
        writer.writerow([row[column] for column in SHEET_COLUMNS])
    return output.getvalue()


def sheet_xlsx(supplier_order: SupplierOrder) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = supplier_order.order.number
    sheet.append(_sheet_headers())
    for row in order_sheet(supplier_order):
        sheet.append([row["reference"], row["sku"], row["description"], row["quantity"],
                      float(row["unit_price"]), row["ship_to"]])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


# --- Staff records what the supplier said ------------------------------------------------
def _locked(supplier_order_id: int) -> SupplierOrder:
    supplier_order = (SupplierOrder.objects.select_for_update()
                      .select_related("order", "supplier").get(pk=supplier_order_id))
    if supplier_order.forwarding_state != MANUAL:
        raise ManualRouteError(_("This order is not on the manual route."))
    return supplier_order


def _info(supplier_order: SupplierOrder, *, status: OrderStatus, reason: str = "",
          shipments: tuple[ShipmentInfo, ...] = ()) -> SupplierOrderInfo:
    """Staff input as the supplier's next snapshot: one version above the last applied."""
    now = timezone.now()
    order = supplier_order.order
    return SupplierOrderInfo(
        supplier_order_id=supplier_order.supplier_order_id,
        reference=order.number, supplier_status=str(status), status=status,
        version=supplier_order.supplier_version + 1,
        lines=tuple(SupplierOrderLine(sku=line.supplier_sku, quantity=line.quantity,
                                      unit_price=line.unit_cost,
                                      quantity_shipped=line.quantity_shipped)
                    for line in order.lines.all()),
        shipments=shipments, rejection_reason=reason if status == S.REJECTED else "",
        expected_at=None, hold_reason=None, hold_message=reason if status == S.ON_HOLD else "",
        created_at=supplier_order.created_at, updated_at=now)


def _apply(supplier_order: SupplierOrder, info: SupplierOrderInfo, user: User | None) -> None:
    applied = order_services.apply_supplier_update(
        supplier_order_id=supplier_order.pk, info=info, actor=staff_actor(user))
    if not applied:  # cannot happen under the row lock; a loud failure beats a lost update
        raise ManualRouteError(_("The update was not newer than the order's; try again."))


def record_supplier_number(*, supplier_order_id: int, supplier_number: str,
                           user: User | None) -> bool:
    """Staff placed the order at the supplier, which numbered it: the order is submitted.

    Recording the same number again changes nothing (returns False); another number, or a
    number another order of the supplier already has, is refused.
    """
    supplier_number = supplier_number.strip()
    if not supplier_number or len(supplier_number) > 100:
        raise ManualRouteError(_("Enter the supplier's order number (up to 100 characters)."))
    try:
        with transaction.atomic():
            supplier_order = _locked(supplier_order_id)
            if supplier_order.supplier_order_id == supplier_number:
                return False
            if supplier_order.supplier_order_id:
                raise ManualRouteError(
                    _("This order is already placed at the supplier as %(number)s.")
                    % {"number": supplier_order.supplier_order_id})
            order = supplier_order.order
            if order.status not in (S.PLACED, S.NEEDS_ATTENTION):
                raise ManualRouteError(_("Only an order waiting to be placed can get a "
                                         "supplier number; this one is %(status)s.")
                                       % {"status": order.get_status_display()})
            supplier_order.supplier_order_id = supplier_number
            supplier_order.forwarded_at = timezone.now()
            supplier_order.save(update_fields=["supplier_order_id", "forwarded_at",
                                               "updated_at"])
            order_services.record_event(
                order=order, kind=OrderEvent.Kind.ACTION, actor=staff_actor(user),
                payload={"supplier_order_id": supplier_number},
                message=_("Placed at %(supplier)s by hand as %(number)s.")
                % {"supplier": supplier_order.supplier.name, "number": supplier_number})
            _apply(supplier_order, _info(supplier_order, status=S.SUBMITTED), user)
    except IntegrityError as exc:
        raise ManualRouteError(_("Another order of this supplier already has the number "
                                 "%(number)s.") % {"number": supplier_number}) from exc
    logger.info("manual_order_placed", supplier_order_id=supplier_number)
    return True


def record_status(*, supplier_order_id: int, status: str, user: User | None,
                  reason: str = "") -> None:
    """Staff record a status the supplier reported (on its portal, by email or phone)."""
    if status not in STAFF_STATUSES:
        raise ManualRouteError(_("Record shipments with their IMEI list, not as a status."))
    status = S(status)
    with transaction.atomic():
        supplier_order = _locked(supplier_order_id)
        order = supplier_order.order
        if not supplier_order.supplier_order_id and status != S.REJECTED:
            raise ManualRouteError(_("Record the supplier's order number first."))
        if order.status == status:
            raise ManualRouteError(_("The order is already %(status)s.")
                                   % {"status": order.get_status_display()})
        if not can_transition(order.status, status):
            raise InvalidTransition(order.status, status)
        _apply(supplier_order, _info(supplier_order, status=status, reason=reason.strip()),
               user)
    logger.info("manual_order_status_recorded", order_number=order.number, status=str(status))


def record_shipment(*, supplier_order_id: int, carrier: str, tracking_number: str,
                    content: bytes, filename: str, user: User | None,
                    shipped_at: datetime | None = None, accept_issues: bool = False) -> ImeiList:
    """Record a shipment with the supplier's IMEI list.

    The list is kept whatever it holds. When it matches the order, the shipment is recorded
    and the client told; when it does not, it is held for staff (the client hears nothing
    yet) unless `accept_issues`, and the shipment then carries its issues as the API route's.
    """
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if not carrier or not tracking_number:
        raise ManualRouteError(_("Enter the shipping carrier and the tracking number."))
    with transaction.atomic():
        supplier_order = _locked(supplier_order_id)
        order = supplier_order.order
        if not supplier_order.supplier_order_id:
            raise ManualRouteError(_("Record the supplier's order number first."))
        rows = imei_lists.parse_imei_list(content=content, filename=filename, order=order)
        issues = imei_lists.check_imei_list(order=order, rows=rows)
        sequence = supplier_order.imei_lists.count() + 1
        imei_list = ImeiList.objects.create(
            supplier_order=supplier_order,
            shipment_id=f"{supplier_order.supplier_order_id}-S{sequence}"[:100],
            carrier=carrier[:40], tracking_number=tracking_number[:100],
            shipped_at=shipped_at or timezone.now(), filename=filename[:255], rows=rows,
            issues=issues, uploaded_by=user,
            status=ImeiList.Status.HELD if issues and not accept_issues
            else ImeiList.Status.APPLIED)
        if imei_list.status == ImeiList.Status.HELD:
            _hold(imei_list=imei_list, supplier_order=supplier_order, user=user)
        else:
            _ship(imei_list=imei_list, supplier_order=supplier_order, user=user)
    return imei_list


def release_imei_list(*, imei_list_id: int, user: User | None) -> bool:
    """Record a held shipment as it is (staff checked it); False if it was not held."""
    with transaction.atomic():
        imei_list = ImeiList.objects.select_for_update().get(pk=imei_list_id)
        supplier_order = _locked(imei_list.supplier_order_id)
        if imei_list.status != ImeiList.Status.HELD:
            return False
        imei_list.status = ImeiList.Status.APPLIED
        imei_list.decided_by, imei_list.decided_at = user, timezone.now()
        imei_list.save(update_fields=["status", "decided_by", "decided_at"])
        _ship(imei_list=imei_list, supplier_order=supplier_order, user=user)
    return True


def discard_imei_list(*, imei_list_id: int, user: User | None) -> bool:
    """Set a held list aside (a corrected one follows); it stays on file. False if not held."""
    with transaction.atomic():
        imei_list = ImeiList.objects.select_for_update().get(pk=imei_list_id)
        if imei_list.status != ImeiList.Status.HELD:
            return False
        imei_list.status = ImeiList.Status.DISCARDED
        imei_list.decided_by, imei_list.decided_at = user, timezone.now()
        imei_list.save(update_fields=["status", "decided_by", "decided_at"])
        order_services.record_event(
            order=imei_list.supplier_order.order, kind=OrderEvent.Kind.NOTE,
            actor=staff_actor(user), payload={"imei_list": imei_list.pk},
            message=_("IMEI list %(file)s set aside.") % {"file": imei_list.filename})
    return True


def _hold(*, imei_list: ImeiList, supplier_order: SupplierOrder, user: User | None) -> None:
    order = supplier_order.order
    described = [imei_lists.describe_issue(issue) for issue in imei_list.issues]
    order_services.record_event(
        order=order, kind=OrderEvent.Kind.NOTE, actor=staff_actor(user),
        payload={"imei_list": imei_list.pk, "issues": imei_list.issues},
        message=_("IMEI list %(file)s does not match the order and is held for review.")
        % {"file": imei_list.filename})
    notifications.alert_staff(
        kind=AlertKind.NEEDS_ATTENTION, order=order, dedup_key=f"imei-list-held:{imei_list.pk}",
        subject=_("The IMEI list of %(order)s does not match the order") % {
            "order": order.number},
        message="\n".join(described))
    logger.warning("imei_list_held", order_number=order.number, issues=len(imei_list.issues))


def _ship(*, imei_list: ImeiList, supplier_order: SupplierOrder, user: User | None) -> None:
    order = supplier_order.order
    imeis_by_sku: dict[str, list[str]] = defaultdict(list)
    for row in imei_list.rows:
        imeis_by_sku[row["sku"]].append(row["imei"])
    shipment = ShipmentInfo(
        shipment_id=imei_list.shipment_id, carrier=imei_list.carrier,
        tracking_number=imei_list.tracking_number, shipped_at=imei_list.shipped_at,
        lines=tuple(ShipmentLineInfo(sku=sku, quantity=len(imeis), imeis=tuple(imeis))
                    for sku, imeis in imeis_by_sku.items()))
    shipped = {line.supplier_sku: line.quantity_shipped for line in order.lines.all()}
    for sku, imeis in imeis_by_sku.items():
        if sku in shipped:
            shipped[sku] += len(imeis)
    complete = all(shipped[line.supplier_sku] >= line.quantity for line in order.lines.all())
    status = S.SHIPPED if complete else S.PARTIALLY_SHIPPED
    if not can_transition(order.status, status) and order.status != status:
        raise InvalidTransition(order.status, status)
    _apply(supplier_order, _info(supplier_order, status=status, shipments=(shipment,)), user)
    logger.info("manual_shipment_recorded", order_number=order.number,
                shipment=imei_list.shipment_id, imeis=len(imei_list.rows))


# --- Purchase orders by email ------------------------------------------------------------
def send_purchase_order(*, supplier_order_id: int, user: User | None) -> bool:
    """Email the order's sheet to the supplier's order desk, once per order.

    Returns False when it was already sent. Raises ManualRouteError when the supplier has no
    order-desk address or the order is already placed.
    """
    with transaction.atomic():
        supplier_order = _locked(supplier_order_id)
        supplier, order = supplier_order.supplier, supplier_order.order
        if not supplier.order_desk_email:
            raise ManualRouteError(_("%(supplier)s has no order desk email address.")
                                   % {"supplier": supplier.name})
        if supplier_order.supplier_order_id:
            raise ManualRouteError(_("This order is already placed at the supplier."))
        context = {"order": order, "supplier": supplier, "rows": order_sheet(supplier_order),
                   "site_name": "PhoneExport"}
        message = notifications.send_supplier_message(
            to_email=supplier.order_desk_email, order=order,
            dedup_key=f"purchase-order:{supplier_order.idempotency_key}",
            subject=_("Purchase order %(number)s") % {"number": order.number},
            body_text=render_to_string("suppliers/email/purchase_order.txt", context),
            body_html=render_to_string("suppliers/email/purchase_order.html", context),
            attachments=[{"filename": f"{order.number}.csv", "content": sheet_csv(supplier_order),
                          "mimetype": "text/csv"}])
        if message is None:
            return False
        order_services.record_event(
            order=order, kind=OrderEvent.Kind.ACTION, actor=staff_actor(user),
            payload={"notification": message.pk, "to": supplier.order_desk_email},
            message=_("Purchase order emailed to %(email)s.")
            % {"email": supplier.order_desk_email})
    return True


def purchase_order_sent(supplier_order: SupplierOrder) -> Notification | None:
    return (Notification.objects.filter(kind=Notification.Kind.SUPPLIER_MESSAGE,
                                        order_id=supplier_order.order_id).first())


# --- Waiting too long --------------------------------------------------------------------
def alert_waiting_manual_orders() -> int:
    """Alert staff, once per order, about orders waiting too long to be placed by hand."""
    waited_since = timezone.now() - timedelta(hours=settings.MANUAL_QUEUE_ALERT_HOURS)
    waiting = to_place(work_queue()).filter(created_at__lt=waited_since)
    alerted = 0
    for supplier_order in waiting:
        order = supplier_order.order
        if notifications.alert_staff(
                kind=AlertKind.NEEDS_ATTENTION, order=order,
                dedup_key=f"manual-queue-waiting:{supplier_order.pk}",
                subject=_("%(order)s has waited more than %(hours)s hours to be placed at "
                          "%(supplier)s") % {"order": order.number,
                                             "hours": f"{settings.MANUAL_QUEUE_ALERT_HOURS:g}",
                                             "supplier": supplier_order.supplier.name},
                message=_("Place it from the manual-route work queue in admin.")):
            alerted += 1
    return alerted
