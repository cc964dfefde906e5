"""Every template renders for every event, status, audience and language."""

import csv
import io

import pytest
from django.utils import translation

from notifications.emails import SHIPMENT_EVENTS, render_order_email, tracking_url
from notifications.models import Event
from orders.states import OrderStatus
from tests.notifications.conftest import ship

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("event", list(Event))
def test_every_template_renders_for_every_status(event, order, settings):
    shipment = ship(order)
    for status in OrderStatus:
        order.status = status
        for language, _name in settings.LANGUAGES:
            for for_staff in (False, True):
                with translation.override(language):
                    email = render_order_email(
                        order=order, event=event, shipment=shipment, reason="A <reason>",
                        for_staff=for_staff, preferences_url="https://x.test/prefs/")
                    status_label = str(order.get_status_display())
                assert order.number in email.subject and "\n" not in email.subject
                assert email.subject.startswith("[") == for_staff
                for body in (email.text, email.html):
                    assert order.number in body and status_label in body
                    assert f"/orders/{order.public_id}/" in body
                    assert "{{" not in body and "{%" not in body
                assert "A <reason>" in email.text and "A &lt;reason&gt;" in email.html
                assert f'<html lang="{language}">' in email.html
                assert bool(email.attachments) == (event in SHIPMENT_EVENTS)


def test_a_shipment_without_imeis_has_no_attachment(order):
    shipment = ship(order, imeis=())
    email = render_order_email(order=order, event=Event.SHIPPED, shipment=shipment)
    assert email.attachments == []
    assert "1Z999AA10123456784" in email.subject


@pytest.mark.parametrize("carrier,number,url", [
    ("UPS", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784"),
    ("FedEx Ground", "123456789012", "https://www.fedex.com/fedextrack/?trknbr=123456789012"),
    ("USPS", "9400 1000", "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400%201000"),
    ("DHL Express", "1234567890",
     "https://www.dhl.com/global-en/home/tracking.html?tracking-id=1234567890"),
    ("Pony Express", "42", ""),
    ("UPS", "", ""),
])
def test_tracking_links_per_carrier(carrier, number, url):
    assert tracking_url(carrier=carrier, tracking_number=number) == url


def test_imei_file_cells_cannot_run_as_spreadsheet_formulas(order):
    shipment = ship(order, carrier="=HYPERLINK(\"x\")")
    [attachment] = render_order_email(order=order, event=Event.SHIPPED,
                                      shipment=shipment).attachments
    rows = list(csv.DictReader(io.StringIO(attachment["content"])))
    assert {row["carrier"] for row in rows} == {"'=HYPERLINK(\"x\")"}
