"""The staff pages of the manual route and of stock lists, through HTTP."""

import csv
import io

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from inventory.models import StockListImport, Warehouse
from orders.states import OrderStatus
from suppliers.models import ImeiList
from tests.manual.conftest import imei_csv, imeis, place

pytestmark = pytest.mark.django_db


def desk_url(order):
    return reverse("admin:suppliers_manualqueueorder_change", args=[order.supplier_order.pk])


def test_the_queue_lists_orders_to_place_and_the_desk_records_the_supplier_number(
        admin_client, manual_supplier, buyer, products):
    order = place(buyer, products)

    queue = admin_client.get(reverse("admin:suppliers_manualqueueorder_changelist"))
    assert queue.status_code == 200 and order.number in queue.content.decode()
    desk = admin_client.get(desk_url(order))
    assert desk.status_code == 200
    assert all(line.supplier_sku in desk.content.decode() for line in order.lines.all())

    answer = admin_client.post(desk_url(order), {"action": "supplier_number",
                                                 "supplier_number": "WSC-9"})
    assert answer.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    assert order.supplier_order.supplier_order_id == "WSC-9"
    placed_only = admin_client.get(reverse("admin:suppliers_manualqueueorder_changelist"),
                                   {"step": "to_place"})
    assert order.number not in placed_only.content.decode()


def test_the_desk_reports_refusals_without_changing_the_order(admin_client, manual_supplier,
                                                              buyer, products):
    order = place(buyer, products)
    answer = admin_client.post(desk_url(order), {"action": "status", "status": "delivered"},
                               follow=True)
    assert "Record the supplier" in answer.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def test_the_desk_records_a_shipment_and_holds_a_mismatched_list(admin_client, manual_supplier,
                                                                 buyer, products):
    order = place(buyer, products)
    admin_client.post(desk_url(order), {"action": "supplier_number", "supplier_number": "W-1"})
    first = order.lines.first()
    upload = io.BytesIO(imei_csv([(first.supplier_sku, imei) for imei in imeis(5)]))
    upload.name = "imeis.csv"

    answer = admin_client.post(desk_url(order), {
        "action": "shipment", "carrier": "UPS", "tracking_number": "1Z5", "imei_list": upload},
        follow=True)

    assert "held for review" in answer.content.decode()
    held = ImeiList.objects.get()
    assert held.status == ImeiList.Status.HELD
    admin_client.post(desk_url(order), {"action": "release", "imei_list": held.pk})
    held.refresh_from_db()
    order.refresh_from_db()
    assert held.status == ImeiList.Status.APPLIED
    assert order.status == OrderStatus.PARTIALLY_SHIPPED


def test_the_sheet_downloads(admin_client, manual_supplier, buyer, products):
    order = place(buyer, products)
    url = reverse("admin:suppliers_manualqueueorder_sheet", args=[order.supplier_order.pk, "csv"])
    rows = list(csv.reader(io.StringIO(admin_client.get(url).content.decode())))
    assert [row[1] for row in rows[1:]] == [line.supplier_sku for line in order.lines.all()]
    xlsx = admin_client.get(url.replace(".csv", ".xlsx"))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_a_client_user_cannot_open_the_queue(client, manual_supplier, buyer, products):
    order = place(buyer, products)
    client.force_login(buyer)
    assert client.get(desk_url(order)).status_code == 302  # to the admin login


def test_staff_upload_a_stock_list(admin_client, manual_supplier):
    content = io.BytesIO(
        b"SKU,Manufacturer,Model,Storage,Colour,Grade,Carrier,Warehouse,Qty,Price\n"
        b"UP-1,Apple,iPhone 11,64,Red,A,Unlocked,wsc-direct,4,199.00\n"
        b"UP-2,Apple,iPhone 11,64,Red,A,Unlocked,wsc-direct,none,199.00\n")
    content.name = "stock.csv"
    answer = admin_client.post(reverse("admin:inventory_stocklistimport_upload"), {
        "supplier": manual_supplier.pk, "kind": "delta", "file": content})
    assert answer.status_code == 302
    record = StockListImport.objects.get()
    assert (record.kind, record.rows, record.bad_row_count) == ("delta", 2, 1)
    listing = admin_client.get(reverse("admin:inventory_stocklistimport_changelist"))
    assert "stock.csv" in listing.content.decode()
    report = admin_client.get(reverse("admin:inventory_stocklistimport_report",
                                      args=[record.pk]))
    assert "UP-2" in report.content.decode()


def test_the_warehouse_policy_renders_for_clients(db):
    warehouse = Warehouse.objects.get(code="wsc")
    warehouse.is_cancellable = False
    warehouse.is_returnable = True
    warehouse.return_days = 14
    warehouse.lead_time_min_days, warehouse.lead_time_max_days = 1, 3
    warehouse.warranty_days = 90
    html = render_to_string("inventory/_warehouse_policy.html", {"warehouse": warehouse})
    assert "Cannot be cancelled" in html
    assert "within 14 days" in html
    assert "1–3 business days" in html
    assert "90-day warranty" in html
    warehouse.is_returnable, warehouse.warranty_days = False, 0
    html = render_to_string("inventory/_warehouse_policy.html", {"warehouse": warehouse})
    assert "no returns" in html and "No warranty" in html


def test_a_forged_imei_list_id_is_not_found(admin_client, manual_supplier, buyer, products):
    order = place(buyer, products)
    for forged in ("abc", "999999"):
        answer = admin_client.post(desk_url(order), {"action": "release",
                                                     "imei_list": forged})
        assert answer.status_code == 404
