"""Supplier IMEI lists (XLSX or CSV, one phone a row) read and checked against an order.

Nothing in a list is dropped: every row is kept, and what does not match the order (a SKU it
does not have, more units than ordered, a repeated IMEI, one already shipped on another order,
a failed check digit) is reported, so staff decide before the client is told of the shipment.
"""

from collections import Counter
from collections.abc import Iterable

from django.db.models import Sum
from django.utils.translation import gettext as _

from inventory.errors import StockListUnreadable
from inventory.stocklists import read_table
from orders.errors import ManualRouteError
from orders.models import Order, ShipmentImei, ShipmentLine
from orders import services as order_services

IMEI_HEADERS = ("imei", "imei number", "imei 1", "imei1", "serial", "esn")
SKU_HEADERS = ("sku", "item", "item #", "item number", "part number", "supplier sku")


def parse_imei_list(*, content: bytes, filename: str, order: Order) -> list[dict]:
    """The list's rows as {"row", "sku", "imei"}; the SKU column may be left out when the
    order has a single line. Raises ManualRouteError for a file that cannot be read."""
    try:
        rows = list(read_table(content=content, filename=filename))
    except StockListUnreadable as exc:
        raise ManualRouteError(str(exc)) from exc
    if not rows:
        raise ManualRouteError(_("The IMEI list is empty."))
    _number, header = rows[0]
    positions = {text.lower(): index for index, text in reversed(list(enumerate(header)))}
    imei_column = next((positions[name] for name in IMEI_HEADERS if name in positions), None)
    sku_column = next((positions[name] for name in SKU_HEADERS if name in positions), None)
    lines = list(order.lines.all())
    if imei_column is None:
        raise ManualRouteError(_("The IMEI list has no IMEI column (headers: %(headers)s).")
                               % {"headers": ", ".join(header)})
    if sku_column is None and len(lines) != 1:
        raise ManualRouteError(_("The order has several lines: the IMEI list needs a SKU "
                                 "column."))
    parsed = []
    for number, cells in rows[1:]:
        def cell(index):
            return cells[index].strip() if index is not None and index < len(cells) else ""

        parsed.append({"row": number, "imei": cell(imei_column).replace(" ", ""),
                       "sku": cell(sku_column) if sku_column is not None
                       else lines[0].supplier_sku})
    if not parsed:
        raise ManualRouteError(_("The IMEI list has a header but no rows."))
    return parsed


def check_imei_list(*, order: Order, rows: Iterable[dict]) -> list[dict]:
    """What in the list does not match the order, in the shipment issue codes."""
    rows = list(rows)
    lines = {line.supplier_sku: line for line in order.lines.all()}
    shipped_before = dict(ShipmentLine.objects.filter(shipment__order=order)
                          .values("sku").annotate(total=Sum("quantity"))
                          .values_list("sku", "total"))
    on_this_order = set(ShipmentImei.objects.filter(shipment_line__shipment__order=order)
                        .values_list("imei", flat=True))
    imeis = [row["imei"] for row in rows]
    on_other_orders = set(ShipmentImei.objects.filter(imei__in=set(imeis)).exclude(
        shipment_line__shipment__order=order).values_list("imei", flat=True))
    issues = []
    for sku, units in sorted(Counter(row["sku"] for row in rows).items()):
        line = lines.get(sku)
        if line is None:
            issues.append({"code": "unknown_sku", "sku": sku, "imeis": units})
        elif shipped_before.get(sku, 0) + units > line.quantity:
            issues.append({"code": "over_shipped", "sku": sku, "ordered": line.quantity,
                           "shipped": shipped_before.get(sku, 0) + units})
    repeats = Counter(imeis)
    for row in rows:
        imei = row["imei"]
        if not order_services.is_valid_imei(imei):
            issues.append({"code": "invalid_imei", "imei": imei, "row": row["row"]})
        if repeats[imei] > 1 or imei in on_this_order:
            issues.append({"code": "repeated_imei", "imei": imei, "row": row["row"]})
        if imei in on_other_orders:
            issues.append({"code": "imei_on_another_order", "imei": imei, "row": row["row"]})
    return issues


def describe_issue(issue: dict) -> str:
    """One issue in plain words, for staff."""
    code = issue.get("code")
    if code == "unknown_sku":
        return _("SKU %(sku)s is not on the order (%(imeis)d IMEIs).") % issue
    if code == "over_shipped":
        return _("SKU %(sku)s: %(shipped)d units shipped for %(ordered)d ordered.") % issue
    if code == "invalid_imei":
        return _("Row %(row)s: IMEI %(imei)s fails its check digit.") % issue
    if code == "repeated_imei":
        return _("Row %(row)s: IMEI %(imei)s appears more than once on the order.") % issue
    if code == "imei_on_another_order":
        return _("Row %(row)s: IMEI %(imei)s was already shipped on another order.") % issue
    return str(issue)
