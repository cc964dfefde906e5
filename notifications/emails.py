"""Rendering notifications into emails: subject, plain text, HTML and attachments.

Each order event has three templates under `notifications/email/order/`: `<event>_subject.txt`,
`<event>.txt` and `<event>.html`; the bodies extend one layout per format. Rendering happens in
the caller's active language: wrap it in `translation.override(recipient language)`.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from notifications.models import Event, Notification
from orders.models import Order, Shipment
from orders.states import OrderStatus

# The one place that knows how each shipping company tracks a parcel.
TRACKING_URLS = {
    "ups": "https://www.ups.com/track?tracknum={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}",
}
SHIPMENT_EVENTS = frozenset({Event.PARTIALLY_SHIPPED, Event.SHIPPED})
HEADERS = {"Auto-Submitted": "auto-generated"}  # RFC 3834: no out-of-office replies to us


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    attachments: list[dict] = field(default_factory=list)


def tracking_url(*, carrier: str, tracking_number: str) -> str:
    """The carrier's public tracking page for the number, or "" for a carrier we do not know.

    Matches on the carrier's name as suppliers spell it: "UPS", "FedEx Ground", "DHL Express".
    """
    name = re.sub(r"[^a-z]", "", carrier.lower())
    number = tracking_number.strip()
    for prefix, url in TRACKING_URLS.items():
        if number and name.startswith(prefix):
            return url.format(number=quote(number, safe=""))
    return ""


def order_url(order: Order) -> str:
    return f"{settings.SITE_URL}/orders/{order.public_id}/"


def _admin_url(name: str, object_id: int) -> str:
    return settings.SITE_URL + reverse(name, args=[object_id])


def _order_reference(order: Order) -> str:
    """What a buyer scans for in an inbox: our number and, when given, their PO."""
    if order.po_reference:
        return _("%(number)s (PO %(po)s)") % {"number": order.number, "po": order.po_reference}
    return order.number


def _shipments(order: Order, highlighted: Shipment | None) -> list[dict]:
    return [{
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "tracking_url": tracking_url(carrier=shipment.carrier,
                                     tracking_number=shipment.tracking_number),
        "shipped_at": shipment.shipped_at,
        "units": sum(line.quantity for line in shipment.lines.all()),
        "imei_count": sum(len(line.imeis.all()) for line in shipment.lines.all()),
        "is_this_shipment": highlighted is not None and shipment.pk == highlighted.pk,
    } for shipment in order.shipments.all()]


def _safe_cell(value: str) -> str:
    # A spreadsheet runs a cell starting with these as a formula; the data is the supplier's.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def imei_csv(*, order: Order, shipment: Shipment) -> dict | None:
    """The shipment's IMEIs as a CSV attachment, one row per phone; None without IMEIs.

    Column names are fixed identifiers, not prose, so that buyers can import the file.
    """
    rows = [[_safe_cell(value) for value in (
        order.number, order.po_reference, shipment.supplier_shipment_id, shipment.carrier,
        shipment.tracking_number, line.sku, imei.imei)] + ["yes" if imei.is_valid else "no"]
        for line in shipment.lines.all() for imei in line.imeis.all()]
    if not rows:
        return None
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["order", "po_reference", "shipment", "carrier", "tracking_number", "sku",
                     "imei", "imei_check_digit_ok"])
    writer.writerows(rows)
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{order.number}-{shipment.supplier_shipment_id}")
    return {"filename": f"{name}-imeis.csv", "mimetype": "text/csv",
            "content": buffer.getvalue()}


def _tidy_text(text: str) -> str:
    """Template tags leave stray blank lines and indentation in plain text; fold them."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _one_line(text: str) -> str:
    # A header must be a single line; 255 is the column's size.
    return " ".join(text.split())[:255]


def render_order_email(*, order: Order, event: str, shipment: Shipment | None = None,
                       status: str | None = None, reason: str = "", for_staff: bool = False,
                       preferences_url: str = "") -> RenderedEmail:
    """The email for one order event, in the active language.

    `shipment` is the one this event is about (its tracking is highlighted and its IMEIs
    attached); every shipment of the order is listed. `status` is the order's status when
    the event happened (by default, its status now).
    """
    event = Event(event)
    lines = list(order.lines.all())
    context = {
        "order": order,
        "order_ref": _order_reference(order),
        "company_name": order.company.name,
        "account_number": order.company.account_number,
        "status_label": OrderStatus(status or order.status).label,
        "reason": reason,
        "lines": lines,
        "units": sum(line.quantity for line in lines),
        "shipments": _shipments(order, shipment),
        "shipment": shipment,
        "order_url": order_url(order),
        "admin_url": _admin_url("admin:orders_order_change", order.pk) if for_staff else "",
        "preferences_url": preferences_url,
        "for_staff": for_staff,
        "language": get_language(),
    }
    attachment = (imei_csv(order=order, shipment=shipment)
                  if event in SHIPMENT_EVENTS and shipment is not None else None)
    context["imei_attachment"] = attachment and attachment["filename"]
    subject = _one_line(render_to_string(f"notifications/email/order/{event}_subject.txt",
                                         context))
    if for_staff:
        subject = _one_line(f"[{order.company.name}] {subject}")
    context["subject"] = subject
    return RenderedEmail(
        subject=subject,
        text=_tidy_text(render_to_string(f"notifications/email/order/{event}.txt", context)),
        html=render_to_string(f"notifications/email/order/{event}.html", context),
        attachments=[attachment] if attachment else [])


def render_alert_email(*, kind_label: str, subject: str, message: str,
                       order: Order | None = None) -> RenderedEmail:
    """A staff alert, in the active language, with a link to the order when there is one."""
    subject = _one_line(_("Alert: %(subject)s") % {"subject": subject})
    context = {
        "subject": subject,
        "kind_label": kind_label,
        "message": message,
        "order": order,
        "order_ref": order and _order_reference(order),
        "admin_url": order and _admin_url("admin:orders_order_change", order.pk),
        "language": get_language(),
    }
    return RenderedEmail(
        subject=subject,
        text=_tidy_text(render_to_string("notifications/email/alert.txt", context)),
        html=render_to_string("notifications/email/alert.html", context))


def build_message(notification: Notification) -> EmailMultiAlternatives:
    """The stored notification as an email: text, an HTML alternative, its attachments."""
    message = EmailMultiAlternatives(
        subject=notification.subject, body=notification.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL, to=[notification.recipient_email],
        headers=HEADERS)
    message.attach_alternative(notification.body_html, "text/html")
    for attachment in notification.attachments:
        message.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    return message
