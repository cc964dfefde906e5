"""Reads for the staff wholesale desk in admin: the order list's figures and its CSV export.

Every figure is computed by the database in the list's one query (margins, the warehouses
the lines ship from), so a page of orders costs the same whatever its length.
"""

import csv
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Case, Count, DecimalField, ExpressionWrapper, F, IntegerField, OuterRef, QuerySet, Subquery,
    Value, When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order, OrderLine
from orders.states import OrderStatus

MONEY = DecimalField(max_digits=14, decimal_places=2)
PERCENT = DecimalField(max_digits=9, decimal_places=2)
# Spreadsheets run a cell that starts with one of these as a formula: client-typed text
# (company names, PO references) is exported with a leading apostrophe instead.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Open statuses in which the next move is the supplier's (sending, confirming, shipping).
WAITING_ON_SUPPLIER_STATUSES = (
    OrderStatus.PLACED, OrderStatus.SUBMITTED, OrderStatus.CONFIRMED, OrderStatus.ON_HOLD,
    OrderStatus.PROCESSING, OrderStatus.BACKORDERED, OrderStatus.PARTIALLY_SHIPPED)
# The supplier ships within two working days: an order unchanged for longer is chased.
SUPPLIER_WAIT_LIMIT = timedelta(hours=48)


def with_desk_figures(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """The orders with what the desk reads: margin, margin %, warehouse, client, supplier."""
    margin = F("total") - F("cost_total")
    lines = OrderLine.objects.filter(order=OuterRef("pk"), product__isnull=False)
    first_warehouse = (lines.order_by("product__warehouse__name")
                       .values("product__warehouse__name")[:1])
    warehouse_count = (lines.order_by().values("order")
                       .annotate(count=Count("product__warehouse", distinct=True))
                       .values("count"))
    return queryset.select_related("company", "supplier_order__supplier").annotate(
        desk_margin=ExpressionWrapper(margin, output_field=MONEY),
        desk_margin_percent=Case(
            When(total=0, then=Value(None)),
            default=ExpressionWrapper(margin * 100 / F("total"), output_field=PERCENT),
            output_field=PERCENT),
        desk_warehouse=Subquery(first_warehouse),
        desk_warehouse_count=Coalesce(Subquery(warehouse_count, output_field=IntegerField()),
                                      0))


def waiting_on_supplier_too_long(queryset: QuerySet[Order], *,
                                 now: datetime | None = None) -> QuerySet[Order]:
    """Orders that have waited on the supplier, with no change, past SUPPLIER_WAIT_LIMIT."""
    return queryset.filter(status__in=WAITING_ON_SUPPLIER_STATUSES,
                           status_changed_at__lt=(now or timezone.now()) - SUPPLIER_WAIT_LIMIT)


def margin_of(order: Order) -> Decimal:
    """The order's margin (`desk_margin`) in cents: SQLite returns computed decimals unscaled."""
    return order.desk_margin.quantize(Decimal("0.01"))


def warehouse_label(order: Order) -> str:
    """The warehouse an order ships from, or the first of several with how many more."""
    if not order.desk_warehouse:
        return ""
    others = order.desk_warehouse_count - 1
    return f"{order.desk_warehouse} +{others}" if others > 0 else order.desk_warehouse


def days_in_status(order: Order, *, now: datetime | None = None) -> int:
    return ((now or timezone.now()) - order.status_changed_at).days


def csv_header() -> list[str]:
    return [_("Order"), _("Supplier order"), _("Supplier"), _("Client"), _("Account number"),
            _("Warehouse"), _("Status"), _("Days in status"), _("Forwarding"), _("Currency"),
            _("Total"), _("Supplier cost"), _("Margin"), _("Margin %"), _("PO reference"),
            _("Placed at"), _("Status changed at")]


def csv_rows(orders: QuerySet[Order]) -> Iterable[list]:
    """One row per order, in the order given, read in chunks."""
    now = timezone.now()
    for order in with_desk_figures(orders).iterator(chunk_size=2000):
        supplier_order = getattr(order, "supplier_order", None)
        yield [
            order.number,
            supplier_order.supplier_order_id if supplier_order else "",
            _safe_text(supplier_order.supplier.name) if supplier_order else "",
            _safe_text(order.company.name),
            order.company.account_number,
            _safe_text(warehouse_label(order)),
            order.get_status_display(),
            days_in_status(order, now=now),
            supplier_order.get_forwarding_state_display() if supplier_order else "",
            order.currency,
            order.total,
            order.cost_total,
            margin_of(order),
            "" if order.desk_margin_percent is None else round(order.desk_margin_percent, 1),
            _safe_text(order.po_reference),
            order.created_at.isoformat(),
            order.status_changed_at.isoformat(),
        ]


def write_orders_csv(*, orders: QuerySet[Order], stream) -> None:
    writer = csv.writer(stream)
    writer.writerow(csv_header())
    writer.writerows(csv_rows(orders))


def _safe_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value
