"""Supplier webhooks: strict at the door, stored once, applied once and in version order."""

import json
import random
import time
import uuid
from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest
from django.utils import timezone as django_timezone
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from standardwebhooks.webhooks import Webhook

from orders import services
from orders.models import OrderEvent, ShipmentImei
from orders.services import LineRequest
from orders.states import OrderStatus
from suppliers import services as supplier_services
from suppliers import webhooks
from suppliers.models import SupplierOrder, WebhookEvent
from phoneexport.queueing import drain_slot
from suppliers.webhooks import (
    DRAIN_SLOTS, process_due_webhook_events, process_webhook_event, sweep_webhook_events,
)
from tests.conftest import wait_until
from tests.factories import DEMO_SHIP_TO, ProductFactory, UserFactory

URL = "/webhooks/suppliers/wesellcellular/"
SECRET = "whsec_" + "dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm"
OLD_SECRET = "whsec_" + "b2xkLXdlYmhvb2stc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY="
VALID_IMEIS = ["356789012345672", "356789012345680", "356789012345698", "356789012345706"]
pytestmark = pytest.mark.django_db

# The supplier's lifecycle of one order as events: (type, status, version).
LIFECYCLE = [("order.accepted", "accepted", 2), ("order.processing", "processing", 3),
             ("order.partially_shipped", "partially_shipped", 4), ("order.shipped", "shipped", 5),
             ("order.delivered", "delivered", 6)]
FINAL_STATUS = {"accepted": OrderStatus.CONFIRMED, "processing": OrderStatus.PROCESSING,
                "partially_shipped": OrderStatus.PARTIALLY_SHIPPED,
                "shipped": OrderStatus.SHIPPED, "delivered": OrderStatus.DELIVERED}


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.WESELLCELLULAR_WEBHOOK_SECRET = SECRET


@pytest.fixture
def order():
    return make_order()


def make_order(quantity=2):
    buyer = UserFactory()
    product = ProductFactory()
    return services.place_order(company=buyer.company, user=buyer, ship_to=DEMO_SHIP_TO,
                                lines=[LineRequest(sku=product.sku, quantity=quantity)])


def shipment(number, imeis, sku):
    return {"id": f"SHP-{number}", "carrier": "UPS", "tracking_number": f"1Z999AA1{number:08d}",
            "shipped_at": "2026-11-24T16:00:00Z",
            "lines": [{"sku": sku, "quantity": len(imeis), "imeis": imeis}]}


def order_snapshot(order, *, status, version, supplier_id=None):
    line = order.lines.get()
    shipments = []
    if version >= 4:
        shipments.append(shipment(1, VALID_IMEIS[:1], line.supplier_sku))
    if version >= 5:
        shipments.append(shipment(2, VALID_IMEIS[1:line.quantity], line.supplier_sku))
    shipped = sum(len(s["lines"][0]["imeis"]) for s in shipments)
    return {"id": supplier_id or f"WSC-{order.pk}", "external_reference": order.number,
            "status": status, "version": version,
            "lines": [{"sku": line.supplier_sku, "quantity": line.quantity,
                       "unit_price": str(line.unit_cost), "quantity_shipped": shipped}],
            "shipments": shipments, "created_at": "2026-11-24T15:04:05Z",
            "updated_at": "2026-11-24T15:04:05Z"}


def event_body(event_type, data):
    return json.dumps({"type": event_type, "timestamp": "2026-11-24T16:00:00Z",
                       "data": data}).encode()


def signed_headers(body, *, webhook_id=None, secret=SECRET, at=None):
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(timezone.utc)
    signature = Webhook(secret).sign(webhook_id, at, body.decode())
    return {"HTTP_WEBHOOK_ID": webhook_id, "HTTP_WEBHOOK_TIMESTAMP": str(int(at.timestamp())),
            "HTTP_WEBHOOK_SIGNATURE": signature}


def deliver(client, body, **headers):
    return client.post(URL, data=body, content_type="application/json", **headers)


def deliver_and_process(client, body, **headers):
    response = deliver(client, body, **headers)
    if response.status_code == 200:
        event = WebhookEvent.objects.get(webhook_id=headers["HTTP_WEBHOOK_ID"])
        process_webhook_event(event_id=event.pk)
    return response


def lifecycle_events(order):
    return [(f"msg_{order.pk}_{version}",
             event_body(event_type, {"order": order_snapshot(order, status=status,
                                                             version=version)}))
            for event_type, status, version in LIFECYCLE]


def order_state(order):
    order.refresh_from_db()
    return {"status": order.status,
            "version": SupplierOrder.objects.get(order=order).supplier_version,
            "shipments": sorted(order.shipments.values_list("supplier_shipment_id", flat=True)),
            "imeis": sorted(ShipmentImei.objects.filter(
                shipment_line__shipment__order=order).values_list("imei", flat=True)),
            "shipped": list(order.lines.values_list("quantity_shipped", flat=True))}


# --- At the door ---------------------------------------------------------------------------
def test_a_signed_event_is_stored_and_applied(client, order):
    body = event_body("order.accepted", {"order": order_snapshot(order, status="accepted",
                                                                 version=2)})
    headers = signed_headers(body)
    response = deliver_and_process(client, body, **headers)
    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.APPLIED
    assert event.headers["webhook-id"] == headers["HTTP_WEBHOOK_ID"]
    assert event.order == order
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    assert order.events.get(to_status=OrderStatus.CONFIRMED).webhook_event == event


def test_webhooks_skip_the_middleware_made_for_people(client, order):
    body = event_body("order.accepted", {"order": order_snapshot(order, status="accepted",
                                                                 version=2)})
    client.cookies["sessionid"] = "a-browser-session"
    response = deliver(client, body, HTTP_ACCEPT_LANGUAGE="es", **signed_headers(body))
    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    # No language negotiation, session or CSRF machinery ran; security headers still did.
    assert "Content-Language" not in response and "Cookie" not in response.get("Vary", "")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(response.content))  # keeps keep-alive
    assert client.post("/webhooks/suppliers/").status_code == 404


def test_a_burst_of_webhooks_wakes_one_drain_after_commit(client, order,
                                                         django_capture_on_commit_callbacks):
    with mock.patch("suppliers.tasks.process_due_webhook_events.apply_async") as publish:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            for version in (2, 3, 4):
                body = event_body("order.processing", {"order": order_snapshot(
                    order, status="processing", version=version)})
                assert deliver(client, body, **signed_headers(body)).status_code == 200
        time.sleep(webhooks.DRAIN_WAKE_INTERVAL_SECONDS * 5)
        publish.assert_not_called()

        for callback in callbacks:
            callback()
        wait_until(lambda: publish.called, timeout=5, interval=0.01)
        # Later calls of the waker find the drain queued, and publish nothing more.
        time.sleep(webhooks.DRAIN_WAKE_INTERVAL_SECONDS * 5)
    publish.assert_called_once()


def test_the_same_event_ten_times_changes_the_order_once(client, order):
    body = event_body("order.accepted", {"order": order_snapshot(order, status="accepted",
                                                                 version=2)})
    headers = signed_headers(body)
    answers = [deliver_and_process(client, body, **headers).json()["status"]
               for _ in range(10)]
    assert answers == ["accepted"] + ["duplicate"] * 9
    assert WebhookEvent.objects.count() == 1
    assert order.events.filter(to_status=OrderStatus.CONFIRMED).count() == 1


@pytest.mark.parametrize("tamper", ["wrong_secret", "tampered_body", "stale", "future",
                                    "no_headers", "no_signature", "garbage_signature"])
def test_unproven_webhooks_are_refused_and_nothing_is_stored(client, order, tamper):
    body = event_body("order.accepted", {"order": order_snapshot(order, status="accepted",
                                                                 version=2)})
    now = datetime.now(timezone.utc)
    headers = {
        "wrong_secret": lambda: signed_headers(body, secret=OLD_SECRET),
        "tampered_body": lambda: signed_headers(body),
        "stale": lambda: signed_headers(body, at=now - timedelta(minutes=6)),
        "future": lambda: signed_headers(body, at=now + timedelta(minutes=6)),
        "no_headers": lambda: {},
        "no_signature": lambda: {k: v for k, v in signed_headers(body).items()
                                 if k != "HTTP_WEBHOOK_SIGNATURE"},
        "garbage_signature": lambda: {**signed_headers(body),
                                      "HTTP_WEBHOOK_SIGNATURE": "v1,not-base64!!"},
    }[tamper]()
    sent = body.replace(b"accepted", b"delivered") if tamper == "tampered_body" else body
    response = deliver(client, sent, **headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"]
    assert not WebhookEvent.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def test_a_rotated_secret_is_accepted_while_both_are_configured(client, order, settings):
    settings.WESELLCELLULAR_WEBHOOK_SECRET = f"{SECRET} {OLD_SECRET}"
    body = event_body("order.accepted", {"order": order_snapshot(order, status="accepted",
                                                                 version=2)})
    assert deliver(client, body, **signed_headers(body, secret=OLD_SECRET)).status_code == 200


@pytest.mark.parametrize("body", [
    b"not json at all",
    b"[]",
    json.dumps({"type": "order.shipped", "data": {}}).encode(),
    json.dumps({"type": "order.shipped", "timestamp": "2026-11-24T16:00:00Z",
                "data": {"order": {"id": "WSC-1", "status": "shipped"}}}).encode(),
])
def test_signed_but_malformed_bodies_are_kept_for_staff_and_change_nothing(client, order, body):
    response = deliver(client, body, **signed_headers(body))
    assert response.status_code == 400
    assert response.json()["error"]["code"]
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.INVALID
    assert event.raw_body == body.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def test_a_body_over_one_mebibyte_is_refused(client, order):
    body = b"{" + b" " * (1024 * 1024) + b"}"
    assert deliver(client, body, **signed_headers(body)).status_code == 413


def test_an_unknown_event_type_is_stored_and_marked(client, order):
    body = event_body("order.teleported", {"order": order_snapshot(order, status="accepted",
                                                                   version=2)})
    assert deliver_and_process(client, body, **signed_headers(body)).status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.UNKNOWN_TYPE
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def test_an_unknown_supplier_status_is_stored_and_shown_to_staff(client, order):
    body = event_body("order.accepted", {"order": order_snapshot(order, status="teleported",
                                                                 version=2)})
    deliver_and_process(client, body, **signed_headers(body))
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED
    assert "teleported" in order.events.get(kind=OrderEvent.Kind.SUPPLIER).message


# --- Processing ----------------------------------------------------------------------------
def test_an_event_before_the_forwarding_answer_is_applied(client, order):
    assert order.supplier_order.supplier_order_id == ""
    body = event_body("order.accepted", {"order": order_snapshot(
        order, status="accepted", version=2, supplier_id="WSC-RACE")})
    deliver_and_process(client, body, **signed_headers(body))
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    assert SupplierOrder.objects.get(order=order).supplier_order_id == "WSC-RACE"


def test_an_event_for_an_unknown_order_is_retried_later_not_lost(client):
    stranger = make_order()
    snapshot = order_snapshot(stranger, status="accepted", version=2)
    snapshot["external_reference"] = "PE-999999"
    snapshot["id"] = "WSC-LATER"
    body = event_body("order.accepted", {"order": snapshot})
    deliver_and_process(client, body, **signed_headers(body))
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.UNKNOWN_ORDER
    assert event.next_attempt_at is not None
    # The order becomes known; once due again, the sweeper processes the event.
    SupplierOrder.objects.filter(order=stranger).update(supplier_order_id="WSC-LATER")
    WebhookEvent.objects.filter(pk=event.pk).update(next_attempt_at=django_timezone.now())
    assert sweep_webhook_events() == 1
    process_webhook_event(event_id=event.pk)
    event.refresh_from_db()
    assert event.outcome == WebhookEvent.Outcome.APPLIED


def test_a_drain_applies_each_orders_events_of_a_batch_in_version_order(client):
    orders = [make_order(), make_order()]
    for order in orders:
        for webhook_id, body in reversed(lifecycle_events(order)):
            assert deliver(client, body, **signed_headers(body, webhook_id=webhook_id)
                           ).status_code == 200
    assert process_due_webhook_events() == 2 * len(LIFECYCLE)  # one batch
    # Newest received first, yet each applied in turn: none was stale, every status is on
    # the timeline.
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {
        WebhookEvent.Outcome.APPLIED}
    for order in orders:
        assert order_state(order)["status"] == OrderStatus.DELIVERED
        assert list(order.events.filter(kind=OrderEvent.Kind.STATUS_CHANGE).values_list(
            "to_status", flat=True)) == [OrderStatus.PLACED, *(
                FINAL_STATUS[status] for _type, status, _version in LIFECYCLE)]
    assert process_due_webhook_events() == 0


def test_an_event_failing_in_a_batch_is_rolled_back_alone_and_stays_claimed(client,
                                                                           monkeypatch):
    good, bad = make_order(), make_order()
    for order in (good, bad):
        for webhook_id, body in lifecycle_events(order)[:2]:  # accepted, then processing
            deliver(client, body, **signed_headers(body, webhook_id=webhook_id))
    apply = services.apply_locked_supplier_update

    def fails_on_the_bad_orders_acceptance(*, supplier_order, info, **kwargs):
        applied = apply(supplier_order=supplier_order, info=info, **kwargs)
        if supplier_order.order_id == bad.pk and info.version == 2:
            raise RuntimeError("applying failed after the order was changed in memory")
        return applied

    monkeypatch.setattr(services, "apply_locked_supplier_update",
                        fails_on_the_bad_orders_acceptance)
    assert process_due_webhook_events() == 4  # one batch
    assert order_state(good)["status"] == OrderStatus.PROCESSING
    failed = WebhookEvent.objects.get(webhook_id=f"msg_{bad.pk}_2")
    assert failed.outcome == WebhookEvent.Outcome.PENDING
    assert failed.next_attempt_at > django_timezone.now()  # claimed until the claim expires
    # The bad order's next event started from the stored order, not from the rolled-back one.
    assert WebhookEvent.objects.get(webhook_id=f"msg_{bad.pk}_3").outcome == \
        WebhookEvent.Outcome.APPLIED
    assert list(bad.events.filter(kind=OrderEvent.Kind.STATUS_CHANGE).values_list(
        "from_status", "to_status")) == [("", OrderStatus.PLACED),
                                          (OrderStatus.PLACED, OrderStatus.PROCESSING)]


def test_a_batch_that_fails_as_a_whole_is_applied_one_event_at_a_time(client, order,
                                                                      monkeypatch):
    for webhook_id, body in lifecycle_events(order)[:2]:
        deliver(client, body, **signed_headers(body, webhook_id=webhook_id))

    lock = webhooks._LockedSupplierOrders.lock

    def deadlocked_for_a_batch(batch):
        if len(batch) > 1:
            raise RuntimeError("deadlock detected")
        return lock(batch)

    monkeypatch.setattr(webhooks._LockedSupplierOrders, "lock", deadlocked_for_a_batch)
    assert process_due_webhook_events() == 2
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {
        WebhookEvent.Outcome.APPLIED}
    assert order_state(order)["status"] == OrderStatus.PROCESSING


def test_a_drain_beyond_the_workers_share_leaves_the_events_to_those_at_work(client, order,
                                                                           settings):
    settings.WEBHOOK_DRAINS_PER_WORKER = 1
    body = event_body("order.accepted", {"order": order_snapshot(order, status="accepted",
                                                                 version=2)})
    deliver(client, body, **signed_headers(body))
    with drain_slot(DRAIN_SLOTS, slots=1) as has_slot:
        assert has_slot
        assert process_due_webhook_events() == 0
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.PENDING
    assert sweep_webhook_events() == 1
    assert process_due_webhook_events() == 1
    assert order_state(order)["status"] == OrderStatus.CONFIRMED


def test_shuffled_and_duplicated_events_end_like_the_ordered_stream(client):
    orders = [make_order(quantity=3) for _ in range(20)]
    in_order = {order.pk: None for order in orders}
    stream = []
    for order in orders:
        events = lifecycle_events(order)
        stream.extend(events)
    # The reference: the same events, in order, applied to twin orders.
    twins = {order.pk: make_order(quantity=3) for order in orders}
    for order in orders:
        twin = twins[order.pk]
        for webhook_id, body in lifecycle_events(twin):
            deliver_and_process(client, body, **signed_headers(body, webhook_id=webhook_id))
        in_order[order.pk] = order_state(twin)
    rng = random.Random(20261124)
    deliveries = stream + rng.sample(stream, k=int(len(stream) * 0.3))
    rng.shuffle(deliveries)
    for webhook_id, body in deliveries:
        deliver_and_process(client, body, **signed_headers(body, webhook_id=webhook_id))
    for order in orders:
        state = order_state(order)
        twin_state = in_order[order.pk]
        assert state["status"] == twin_state["status"] == OrderStatus.DELIVERED
        assert state["version"] == twin_state["version"] == 6
        assert state["shipments"] == twin_state["shipments"] == ["SHP-1", "SHP-2"]
        assert state["imeis"] == twin_state["imeis"]
        assert state["shipped"] == twin_state["shipped"] == [3]


@hypothesis_settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(min_value=0, max_value=len(LIFECYCLE) - 1), min_size=1,
                      max_size=12))
def test_any_order_of_events_with_duplicates_ends_at_the_newest_version(client, picks):
    order = make_order(quantity=3)
    events = lifecycle_events(order)
    for index in picks:
        webhook_id, body = events[index]
        deliver_and_process(client, body, **signed_headers(body, webhook_id=webhook_id))
    newest_type, newest_status, newest_version = LIFECYCLE[max(picks)]
    state = order_state(order)
    assert state["status"] == FINAL_STATUS[newest_status]
    assert state["version"] == newest_version
    # Every shipment any delivered event carried is kept, even if a newer one omitted it.
    assert len(state["shipments"]) == (2 if newest_version >= 5 else
                                       1 if newest_version >= 4 else 0)


def test_imei_checks_flag_the_shipment_and_keep_every_imei(client):
    first = make_order(quantity=2)
    second = make_order(quantity=2)
    line = first.lines.get()
    snapshot = order_snapshot(first, status="shipped", version=5)
    bad_luhn = "356789012345673"
    snapshot["shipments"] = [shipment(1, [VALID_IMEIS[0], bad_luhn, VALID_IMEIS[0]],
                                      line.supplier_sku)]
    body = event_body("order.shipped", {"order": snapshot})
    deliver_and_process(client, body, **signed_headers(body))
    issues = {issue["code"] for issue in first.shipments.get().issues}
    assert issues == {"invalid_imei", "repeated_imei", "over_shipped"}
    assert ShipmentImei.objects.filter(shipment_line__shipment__order=first).count() == 3
    assert ShipmentImei.objects.filter(imei=bad_luhn, is_valid=False).exists()
    # The same IMEI shipped again on another order is flagged there.
    other = order_snapshot(second, status="shipped", version=5)
    other["shipments"] = [shipment(7, VALID_IMEIS[:1] + VALID_IMEIS[2:3],
                                   second.lines.get().supplier_sku)]
    body = event_body("order.shipped", {"order": other})
    deliver_and_process(client, body, **signed_headers(body))
    assert {issue["code"] for issue in second.shipments.get().issues} == {
        "imei_on_another_order"}


def test_on_hold_shows_the_suppliers_reason_and_leaves_through_the_table(client, order):
    snapshot = order_snapshot(order, status="on_hold", version=2)
    snapshot.update(hold_reason="awaiting_payment", hold_message="Wire transfer pending")
    body = event_body("order.on_hold", {"order": snapshot})
    deliver_and_process(client, body, **signed_headers(body))
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD
    assert order.status_reason == "Wire transfer pending"
    body = event_body("order.processing", {"order": order_snapshot(order, status="processing",
                                                                   version=3)})
    deliver_and_process(client, body, **signed_headers(body))
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING


def test_reconciliation_recovers_dropped_webhooks(start_sandbox, order, settings):
    sandbox = start_sandbox()
    sandbox.set_faults(webhook_drop_rate=1.0)  # every event the supplier sends is lost
    settings.RECONCILE_AFTER_SECONDS = 0
    line = order.lines.get()
    item = next(iter(sandbox.catalogue))
    # Make the order one the sandbox sells, then forward it for real.
    type(line).objects.filter(pk=line.pk).update(supplier_sku=item.sku,
                                                 unit_cost=item.unit_price)
    supplier_services.forward_supplier_order(supplier_order_id=order.supplier_order.pk)
    supplier_order = SupplierOrder.objects.get(order=order)
    assert supplier_order.forwarding_state == SupplierOrder.ForwardingState.FORWARDED
    for status in ("accepted", "processing", "shipped"):
        sandbox.advance_order(supplier_order.supplier_order_id, status=status)
    assert supplier_services.reconcile_supplier_orders() == 1
    supplier_services.reconcile_supplier_order(supplier_order_id=supplier_order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert order.shipments.count() == 1


def test_staff_can_process_a_stored_event_again(client, admin_client, order):
    body = event_body("order.accepted", {"order": order_snapshot(order, status="accepted",
                                                                 version=2)})
    deliver_and_process(client, body, **signed_headers(body))
    event = WebhookEvent.objects.get()
    response = admin_client.post("/admin/suppliers/webhookevent/",
                                 {"action": "reprocess", "_selected_action": [event.pk]})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.outcome == WebhookEvent.Outcome.PENDING
    process_webhook_event(event_id=event.pk)
    event.refresh_from_db()
    assert event.outcome == WebhookEvent.Outcome.STALE  # already applied: nothing changes twice
    assert order.events.filter(to_status=OrderStatus.CONFIRMED).count() == 1
