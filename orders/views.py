"""The client's order pages: list, order, cancel, reorder, IMEI download and live updates."""

import csv
import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from customers.decorators import client_required
from notifications.emails import tracking_url
from orders import selectors, services
from orders.errors import OrderError
from orders.models import Order
from orders.states import CANCELLABLE_STATUSES, OrderStatus

# The session key and format ({sku: quantity}) the cart reads.
CART_SESSION_KEY = "cart"
CART_URL = "/cart/"
MAX_CANCEL_REASON_LENGTH = 500


def _client_order(request, public_id: uuid.UUID) -> Order:
    try:
        return selectors.order_for_client(company=request.user.company, public_id=public_id)
    except Order.DoesNotExist:
        raise Http404 from None


def _actor(request) -> services.Actor:
    return services.Actor(user=request.user, ip_address=request.META.get("REMOTE_ADDR"))


@client_required
@require_GET
def order_list(request):
    status = request.GET.get("status", "")
    if status not in OrderStatus.values:
        status = ""
    search = request.GET.get("q", "").strip()[:100]
    try:
        page = selectors.orders_for_client(company=request.user.company, status=status or None,
                                           search=search, cursor=request.GET.get("after"),
                                           with_live_versions=True)
    except selectors.InvalidCursor:
        return redirect(request.path)
    labels = selectors.status_labels()
    rows = [{"order": order, "live_version": selectors.live_version(order),
             "status_label": labels.get(order.status, order.status)} for order in page.orders]
    return render(request, "orders/list.html", {
        "page": page, "rows": rows, "status": status, "search": search,
        "statuses": labels.items(), "is_first_page": not request.GET.get("after")})


def _detail_context(request, order: Order) -> dict:
    shipments = [{"shipment": shipment,
                  "tracking_url": tracking_url(carrier=shipment.carrier,
                                               tracking_number=shipment.tracking_number)}
                 for shipment in order.shipments.all()]
    live = selectors.live_versions(company=request.user.company, public_ids=[order.public_id])
    return {
        "order": order,
        "shipments": shipments,
        "has_imeis": any(line.imeis.all() for shipment in order.shipments.all()
                         for line in shipment.lines.all()),
        "timeline": selectors.client_timeline(order),
        "can_cancel": request.user.can_order and order.status in CANCELLABLE_STATUSES,
        "can_reorder": request.user.can_order,
        "live_version": live[str(order.public_id)]["version"],
    }


def _order_detail(request, public_id: uuid.UUID) -> Order:
    try:
        return selectors.order_detail(company=request.user.company, public_id=public_id)
    except Order.DoesNotExist:
        raise Http404 from None


@client_required
@require_GET
def order_detail(request, public_id: uuid.UUID):
    order = _order_detail(request, public_id)
    return render(request, "orders/detail.html", {
        **_detail_context(request, order), "warehouses": selectors.order_warehouses(order)})


@client_required
@require_GET
@never_cache
def order_live_fragment(request, public_id: uuid.UUID):
    """The parts of the order page that change (status, timeline, shipments), for the
    live update to swap in."""
    order = _order_detail(request, public_id)
    return render(request, "orders/_live.html", _detail_context(request, order))


@client_required
@require_GET
@never_cache
def live_versions(request):
    """Status and version of the orders a page shows (`?id=...&id=...`), polled by live.js."""
    public_ids = []
    for value in request.GET.getlist("id")[:selectors.MAX_LIVE_ORDERS]:
        try:
            public_ids.append(uuid.UUID(value))
        except ValueError:
            return JsonResponse({"error": {"code": "invalid_id",
                                           "message": _("Not an order id: %(id)s")
                                           % {"id": value[:40]}, "details": []}}, status=400)
    return JsonResponse({"orders": selectors.live_versions(company=request.user.company,
                                                           public_ids=public_ids)})


@client_required
@require_POST
def cancel(request, public_id: uuid.UUID):
    order = _client_order(request, public_id)
    if not request.user.can_order:
        raise PermissionDenied
    reason = request.POST.get("reason", "").strip()
    if len(reason) > MAX_CANCEL_REASON_LENGTH:
        messages.error(request, _("Keep the reason under %(count)d characters.")
                       % {"count": MAX_CANCEL_REASON_LENGTH})
        return redirect("orders:detail", public_id=order.public_id)
    try:
        services.cancel_order(order=order, actor=_actor(request), reason=reason)
    except OrderError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Order %(number)s is cancelled.") % {"number": order.number})
    return redirect("orders:detail", public_id=order.public_id)


@client_required
@require_POST
def reorder(request, public_id: uuid.UUID):
    """Put the order's SKUs and quantities into the cart, on top of what it holds."""
    order = _client_order(request, public_id)
    if not request.user.can_order:
        raise PermissionDenied
    quantities, unavailable = selectors.reorder_quantities(order=order)
    cart = request.session.get(CART_SESSION_KEY)
    cart = dict(cart) if isinstance(cart, dict) else {}
    for sku, quantity in quantities.items():
        held = cart.get(sku)
        cart[sku] = (held if isinstance(held, int) and held > 0 else 0) + quantity
    request.session[CART_SESSION_KEY] = cart
    if unavailable:
        messages.warning(request, _("No longer for sale, so not added: %(skus)s.")
                         % {"skus": ", ".join(unavailable)})
    if quantities:
        messages.success(request, _("The products of order %(number)s are in your cart.")
                         % {"number": order.number})
    return redirect(CART_URL)


def _spreadsheet_safe(value: str) -> str:
    # A spreadsheet runs a cell starting with these as a formula; the data is the supplier's.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


@client_required
@require_GET
def imeis_csv(request, public_id: uuid.UUID):
    """Every phone shipped on the order, one row per IMEI; column names are fixed
    identifiers so that buyers can import the file."""
    order = _client_order(request, public_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{order.number}-imeis.csv"'
    writer = csv.writer(response)
    writer.writerow(["order", "po_reference", "shipment", "carrier", "tracking_number", "sku",
                     "imei", "imei_check_digit_ok"])
    for imei in selectors.order_imeis(order=order):
        shipment = imei.shipment_line.shipment
        writer.writerow([_spreadsheet_safe(value) for value in (
            order.number, order.po_reference, shipment.supplier_shipment_id, shipment.carrier,
            shipment.tracking_number, imei.shipment_line.sku, imei.imei)]
            + ["yes" if imei.is_valid else "no"])
    return response
