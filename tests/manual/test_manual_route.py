"""An order on the manual route: queue, supplier number, shipment with its IMEI list, delivered."""

from datetime import timedelta

import pytest
import responses
from django.core import mail
from django.utils import timezone

from notifications import services as notification_services
from notifications.models import Notification
from orders import services as order_services
from orders.errors import InvalidTransition, ManualRouteError, NotCancellable
from orders.models import OrderEvent, ShipmentImei
from orders.states import OrderStatus
from suppliers import manual
from suppliers import services as forwarding
from suppliers.models import ImeiList, Supplier, SupplierOrder
from tests.manual.conftest import imei_csv, imeis, place

pytestmark = pytest.mark.django_db
S = OrderStatus


def order_events(order) -> list[tuple[str, str]]:
    """Client and staff emails of the order, as (event, recipient), in order of creation."""
    return list(Notification.objects.filter(order=order, kind=Notification.Kind.ORDER_EVENT)
                .order_by("pk").values_list("event", "recipient_email"))


def imei_rows(order, count_per_line=None, start=35000000000000):
    rows, offset = [], 0
    for line in order.lines.all():
        count = line.quantity if count_per_line is None else count_per_line
        rows += [(line.supplier_sku, imei) for imei in imeis(count, start + offset)]
        offset += count
    return rows


def run_manual_route(order, staff):
    supplier_order = order.supplier_order
    manual.record_supplier_number(supplier_order_id=supplier_order.pk,
                                  supplier_number="WSC-M-1", user=staff)
    manual.record_status(supplier_order_id=supplier_order.pk, status=S.CONFIRMED, user=staff)
    manual.record_shipment(supplier_order_id=supplier_order.pk, carrier="UPS",
                           tracking_number="1Z999", user=staff, filename="imeis.csv",
                           content=imei_csv(imei_rows(order)))
    manual.record_status(supplier_order_id=supplier_order.pk, status=S.DELIVERED, user=staff)


def test_the_manual_route_queues_the_order_instead_of_calling_the_supplier(
        manual_supplier, buyer, products, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        order = place(buyer, products)
    supplier_order = order.supplier_order
    assert supplier_order.forwarding_state == SupplierOrder.ForwardingState.MANUAL
    # Only the placement emails wait for the commit: no forwarding task.
    assert all("forward" not in repr(callback) for callback in callbacks)
    assert list(manual.to_place(manual.work_queue())) == [supplier_order]
    sheet = manual.order_sheet(supplier_order)
    assert [(row["sku"], row["quantity"]) for row in sheet] == [
        (line.supplier_sku, line.quantity) for line in order.lines.all()]
    assert all(row["ship_to"].startswith("Acme Mobile LLC, Jane Roe") for row in sheet)
    assert manual.sheet_csv(supplier_order).startswith("Our reference,SKU,Description")
    assert manual.sheet_xlsx(supplier_order)[:2] == b"PK"


def test_queue_supplier_number_shipment_with_imei_list_delivered(
        manual_supplier, buyer, products, admin_user):
    order = place(buyer, products)
    run_manual_route(order, admin_user)

    order.refresh_from_db()
    supplier_order = order.supplier_order
    supplier_order.refresh_from_db()
    assert order.status == S.DELIVERED
    assert supplier_order.supplier_order_id == "WSC-M-1"
    assert supplier_order.supplier_version == 4
    assert supplier_order.forwarding_state == SupplierOrder.ForwardingState.MANUAL
    assert list(manual.work_queue()) == []
    shipment = order.shipments.get()
    assert (shipment.carrier, shipment.tracking_number, shipment.issues) == ("UPS", "1Z999", [])
    assert ShipmentImei.objects.filter(shipment_line__shipment=shipment).count() == 3
    assert [line.quantity_shipped for line in order.lines.all()] == [2, 1]
    statuses = list(order.events.filter(kind=OrderEvent.Kind.STATUS_CHANGE)
                    .values_list("to_status", flat=True))
    assert statuses == [S.PLACED, S.SUBMITTED, S.CONFIRMED, S.SHIPPED, S.DELIVERED]
    events = order_events(order)
    assert len(events) == len(set(events)), "an email was recorded twice"
    assert [event for event, recipient in events if recipient == "buyer@acme.test"] == [
        "placed", "forwarded", "confirmed", "shipped", "delivered"]


API = "https://wsc.test"


def api_order_json(order, *, status, version, shipments=()):
    return {"id": "WSC-A-1", "external_reference": order.number, "status": status,
            "version": version,
            "lines": [{"sku": line.supplier_sku, "quantity": line.quantity,
                       "unit_price": str(line.unit_cost),
                       "quantity_shipped": line.quantity if shipments else 0}
                      for line in order.lines.all()],
            "shipments": list(shipments), "created_at": "2026-11-24T15:04:05Z",
            "updated_at": "2026-11-24T15:04:05Z"}


def test_the_manual_route_sends_the_same_emails_as_the_api_route(
        manual_supplier, buyer, products, admin_user, settings):
    manual_order = place(buyer, products)
    run_manual_route(manual_order, admin_user)

    settings.SUPPLIER_TRANSPORT = "direct"
    settings.WESELLCELLULAR_API_URL = API
    settings.WESELLCELLULAR_API_KEY = "test-key"
    manual_supplier.route = Supplier.Route.DIRECT
    manual_supplier.save()
    api_order = place(buyer, products)
    supplier_order = api_order.supplier_order
    shipment = {"id": "SHP-1", "carrier": "UPS", "tracking_number": "1Z998",
                "shipped_at": "2026-11-25T09:00:00Z",
                "lines": [{"sku": sku, "quantity": 1, "imeis": [imei]}
                          for sku, imei in imei_rows(api_order, start=36000000000000)]}
    # Lines of the same SKU are one shipment line with all its IMEIs.
    merged: dict[str, dict] = {}
    for line in shipment["lines"]:
        merged.setdefault(line["sku"], {"sku": line["sku"], "quantity": 0, "imeis": []})
        merged[line["sku"]]["quantity"] += 1
        merged[line["sku"]]["imeis"] += line["imeis"]
    shipment["lines"] = list(merged.values())
    with responses.RequestsMock() as supplier_api:
        supplier_api.post(f"{API}/v1/orders", status=201,
                          json=api_order_json(api_order, status="received", version=1))
        forwarding.forward_supplier_order(supplier_order_id=supplier_order.pk)
        for status, version, shipments in [("accepted", 2, ()), ("shipped", 3, (shipment,)),
                                           ("delivered", 4, (shipment,)),
                                           ("delivered", 4, (shipment,))]:
            supplier_api.get(f"{API}/v1/orders/WSC-A-1", json=api_order_json(
                api_order, status=status, version=version, shipments=shipments))
            supplier_order.refresh_from_db()
            forwarding.refresh_from_supplier(
                supplier_order=supplier_order,
                actor=forwarding.supplier_actor(manual_supplier))

    api_order.refresh_from_db()
    assert api_order.status == S.DELIVERED
    assert order_events(manual_order) == order_events(api_order)


def test_repeated_staff_records_change_nothing_and_email_nobody_twice(
        manual_supplier, buyer, products, admin_user):
    order = place(buyer, products)
    supplier_order = order.supplier_order
    manual.record_supplier_number(supplier_order_id=supplier_order.pk,
                                  supplier_number="WSC-M-2", user=admin_user)
    emails = Notification.objects.count()

    assert manual.record_supplier_number(supplier_order_id=supplier_order.pk,
                                         supplier_number="WSC-M-2", user=admin_user) is False
    with pytest.raises(ManualRouteError):
        manual.record_supplier_number(supplier_order_id=supplier_order.pk,
                                      supplier_number="WSC-OTHER", user=admin_user)
    with pytest.raises(ManualRouteError):
        manual.record_status(supplier_order_id=supplier_order.pk, status=S.SUBMITTED,
                             user=admin_user)
    with pytest.raises(ManualRouteError):  # placed already
        manual.send_purchase_order(supplier_order_id=supplier_order.pk, user=admin_user)
    assert Notification.objects.count() == emails


def test_a_supplier_number_is_unique_per_supplier(manual_supplier, buyer, products, admin_user):
    first, second = place(buyer, products), place(buyer, products)
    manual.record_supplier_number(supplier_order_id=first.supplier_order.pk,
                                  supplier_number="WSC-M-3", user=admin_user)
    with pytest.raises(ManualRouteError):
        manual.record_supplier_number(supplier_order_id=second.supplier_order.pk,
                                      supplier_number="WSC-M-3", user=admin_user)
    second.refresh_from_db()
    assert second.status == S.PLACED and second.supplier_order.supplier_order_id == ""


def test_status_changes_follow_the_transition_table(manual_supplier, buyer, products,
                                                    admin_user):
    order = place(buyer, products)
    supplier_order = order.supplier_order
    with pytest.raises(ManualRouteError):  # not placed at the supplier yet
        manual.record_status(supplier_order_id=supplier_order.pk, status=S.CONFIRMED,
                             user=admin_user)
    manual.record_supplier_number(supplier_order_id=supplier_order.pk,
                                  supplier_number="WSC-M-4", user=admin_user)
    manual.record_status(supplier_order_id=supplier_order.pk, status=S.ON_HOLD,
                         user=admin_user, reason="Payment check")
    order.refresh_from_db()
    assert (order.status, order.status_reason) == (S.ON_HOLD, "Payment check")
    manual.record_status(supplier_order_id=supplier_order.pk, status=S.CANCELLED,
                         user=admin_user)
    with pytest.raises(InvalidTransition):
        manual.record_status(supplier_order_id=supplier_order.pk, status=S.DELIVERED,
                             user=admin_user)
    order.refresh_from_db()
    assert order.status == S.CANCELLED and not order.stock_reserved


def test_the_purchase_order_is_emailed_once_and_recorded(manual_supplier, buyer, products,
                                                         admin_user):
    order = place(buyer, products)
    supplier_order = order.supplier_order

    assert manual.send_purchase_order(supplier_order_id=supplier_order.pk, user=admin_user)
    assert not manual.send_purchase_order(supplier_order_id=supplier_order.pk, user=admin_user)

    sent = Notification.objects.get(kind=Notification.Kind.SUPPLIER_MESSAGE)
    assert sent.recipient_email == "orders@wsc.test"
    assert order.number in sent.subject
    attachment = sent.attachments[0]
    assert attachment["filename"] == f"{order.number}.csv"
    assert all(line.supplier_sku in attachment["content"] for line in order.lines.all())
    assert order.events.filter(message__startswith="Purchase order emailed").count() == 1
    notification_services.send_notification(notification_id=sent.pk)
    email = mail.outbox[-1]
    assert email.to == ["orders@wsc.test"]
    assert email.attachments[0][0] == f"{order.number}.csv"
    assert order.lines.first().supplier_sku in email.body
    manual.record_supplier_number(supplier_order_id=supplier_order.pk,
                                  supplier_number="WSC-M-5", user=admin_user)
    with pytest.raises(ManualRouteError):
        manual.send_purchase_order(supplier_order_id=supplier_order.pk, user=admin_user)


def test_a_supplier_without_an_order_desk_cannot_be_emailed(manual_supplier, buyer, products,
                                                            admin_user):
    manual_supplier.order_desk_email = ""
    manual_supplier.save()
    order = place(buyer, products)
    with pytest.raises(ManualRouteError):
        manual.send_purchase_order(supplier_order_id=order.supplier_order.pk, user=admin_user)


def test_orders_waiting_too_long_alert_staff_once(manual_supplier, buyer, products, settings):
    settings.MANUAL_QUEUE_ALERT_HOURS = 2
    waiting, recent = place(buyer, products), place(buyer, products)
    SupplierOrder.objects.filter(pk=waiting.supplier_order.pk).update(
        created_at=timezone.now() - timedelta(hours=3))

    assert manual.alert_waiting_manual_orders() == 1
    assert manual.alert_waiting_manual_orders() == 0
    alert = Notification.objects.get(kind=Notification.Kind.STAFF_ALERT)
    assert alert.order == waiting and waiting.number in alert.subject
    assert not Notification.objects.filter(kind=Notification.Kind.STAFF_ALERT,
                                           order=recent).exists()


def test_a_partial_shipment_then_the_rest(manual_supplier, buyer, products, admin_user):
    order = place(buyer, products)
    supplier_order = order.supplier_order
    manual.record_supplier_number(supplier_order_id=supplier_order.pk,
                                  supplier_number="WSC-M-6", user=admin_user)
    first_line, second_line = order.lines.all()
    manual.record_shipment(
        supplier_order_id=supplier_order.pk, carrier="UPS", tracking_number="1Z1",
        user=admin_user, filename="part1.csv",
        content=imei_csv([(first_line.supplier_sku, imei) for imei in imeis(2)]))
    order.refresh_from_db()
    assert order.status == S.PARTIALLY_SHIPPED
    manual.record_shipment(
        supplier_order_id=supplier_order.pk, carrier="UPS", tracking_number="1Z2",
        user=admin_user, filename="part2.csv",
        content=imei_csv([(second_line.supplier_sku, imeis(1, 37000000000000)[0])]))
    order.refresh_from_db()
    assert order.status == S.SHIPPED
    shipped = [event for event, recipient in order_events(order)
               if recipient == "buyer@acme.test" and "shipped" in event]
    assert shipped == ["partially_shipped", "shipped"]
    assert ImeiList.objects.filter(status=ImeiList.Status.APPLIED).count() == 2


def test_a_client_cancels_a_queued_order_but_not_one_placed_by_hand(
        manual_supplier, buyer, products, admin_user):
    queued, placed = place(buyer, products), place(buyer, products)
    manual.record_supplier_number(supplier_order_id=placed.supplier_order.pk,
                                  supplier_number="WSC-M-7", user=admin_user)
    actor = order_services.Actor(user=buyer)

    assert order_services.cancel_order(order=queued, actor=actor).status == S.CANCELLED
    with pytest.raises(NotCancellable):
        order_services.cancel_order(order=placed, actor=actor)
    placed.refresh_from_db()
    assert placed.status == S.SUBMITTED
