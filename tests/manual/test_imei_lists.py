"""A supplier's IMEI list that does not match the order is held before the client is told."""

import io

import pytest
from openpyxl import Workbook

from notifications.models import Notification
from orders.errors import ManualRouteError
from orders.models import OrderEvent, ShipmentImei
from orders.states import OrderStatus
from suppliers import manual
from suppliers.models import ImeiList
from tests.manual.conftest import imei_csv, imeis, place

pytestmark = pytest.mark.django_db
S = OrderStatus


@pytest.fixture
def placed(manual_supplier, buyer, products, admin_user):
    order = place(buyer, products)
    manual.record_supplier_number(supplier_order_id=order.supplier_order.pk,
                                  supplier_number="WSC-I-1", user=admin_user)
    return order


def shipped_emails(order):
    return Notification.objects.filter(order=order, event__in=["shipped", "partially_shipped"])


def ship(order, user, content, filename="imeis.csv", **kwargs):
    return manual.record_shipment(supplier_order_id=order.supplier_order.pk, carrier="FedEx",
                                  tracking_number="7777", user=user, content=content,
                                  filename=filename, **kwargs)


def test_a_mismatched_list_is_held_and_nothing_is_lost(placed, admin_user):
    first, second = placed.lines.all()
    good = imeis(3)
    bad_check_digit = good[2][:-1] + str((int(good[2][-1]) + 1) % 10)
    rows = [(first.supplier_sku, good[0]), (first.supplier_sku, good[0]),  # repeated
            (first.supplier_sku, good[1]),  # a third unit of a line of two
            (second.supplier_sku, bad_check_digit),
            ("NOT-ON-ORDER", imeis(1, 38000000000000)[0])]

    imei_list = ship(placed, admin_user, imei_csv(rows))

    placed.refresh_from_db()
    assert imei_list.status == ImeiList.Status.HELD
    assert [row["imei"] for row in imei_list.rows] == [imei for _sku, imei in rows]
    codes = {issue["code"] for issue in imei_list.issues}
    assert codes == {"repeated_imei", "over_shipped", "invalid_imei", "unknown_sku"}
    # The client is told nothing yet; staff are.
    assert placed.status == S.SUBMITTED and not placed.shipments.exists()
    assert not shipped_emails(placed).exists()
    assert Notification.objects.filter(kind=Notification.Kind.STAFF_ALERT,
                                       order=placed).count() == 1
    assert placed.events.filter(kind=OrderEvent.Kind.NOTE,
                                payload__imei_list=imei_list.pk).exists()

    # Staff checked it with the supplier: recorded as it is, every row kept and flagged.
    assert manual.release_imei_list(imei_list_id=imei_list.pk, user=admin_user)
    assert not manual.release_imei_list(imei_list_id=imei_list.pk, user=admin_user)
    placed.refresh_from_db()
    shipment = placed.shipments.get()
    assert ShipmentImei.objects.filter(shipment_line__shipment=shipment).count() == len(rows)
    assert {issue["code"] for issue in shipment.issues} >= {"repeated_imei", "invalid_imei",
                                                            "unknown_sku"}
    assert shipped_emails(placed).filter(recipient_email="buyer@acme.test").count() == 1


def test_an_imei_already_shipped_on_another_order_is_flagged(placed, admin_user, buyer,
                                                             products):
    first, second = placed.lines.all()
    units = imeis(3)
    ship(placed, admin_user, imei_csv([(first.supplier_sku, units[0]),
                                       (first.supplier_sku, units[1]),
                                       (second.supplier_sku, units[2])]))
    other = place(buyer, products[:1], quantities=(1,))
    manual.record_supplier_number(supplier_order_id=other.supplier_order.pk,
                                  supplier_number="WSC-I-2", user=admin_user)

    held = ship(other, admin_user, imei_csv([(other.lines.get().supplier_sku, units[0])]))

    assert held.status == ImeiList.Status.HELD
    assert held.issues == [{"code": "imei_on_another_order", "imei": units[0], "row": 2}]
    assert manual.discard_imei_list(imei_list_id=held.pk, user=admin_user)
    held.refresh_from_db()
    assert held.status == ImeiList.Status.DISCARDED and held.rows  # kept on file
    corrected = ship(other, admin_user, imei_csv([(other.lines.get().supplier_sku,
                                                   imeis(1, 39000000000000)[0])]),
                     filename="corrected.csv")
    assert corrected.status == ImeiList.Status.APPLIED
    other.refresh_from_db()
    assert other.status == S.SHIPPED


def test_an_xlsx_list_without_a_sku_column_fits_a_single_line_order(
        manual_supplier, buyer, products, admin_user):
    order = place(buyer, products[:1], quantities=(2,))
    manual.record_supplier_number(supplier_order_id=order.supplier_order.pk,
                                  supplier_number="WSC-I-3", user=admin_user)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["IMEI"])
    for imei in imeis(2):
        sheet.append([int(imei)])  # spreadsheets often hold IMEIs as numbers
    content = io.BytesIO()
    workbook.save(content)

    imei_list = ship(order, admin_user, content.getvalue(), filename="imeis.xlsx")

    assert imei_list.status == ImeiList.Status.APPLIED and imei_list.issues == []
    order.refresh_from_db()
    assert order.status == S.SHIPPED


def test_an_unreadable_list_is_refused_and_changes_nothing(placed, admin_user):
    with pytest.raises(ManualRouteError):
        ship(placed, admin_user, b"serial;colour\n1;black\n")
    with pytest.raises(ManualRouteError):
        ship(placed, admin_user, b"not a workbook", filename="imeis.xlsx")
    assert not ImeiList.objects.exists()
    placed.refresh_from_db()
    assert placed.status == S.SUBMITTED
