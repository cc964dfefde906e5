"""Forwarding drains: due orders claimed and sent in batches, each recorded as if sent alone."""

import json
from datetime import timedelta
from unittest import mock

import pytest
import responses
from django.utils import timezone

from notifications.models import Notification
from orders.states import OrderStatus
from suppliers import services as forwarding
from suppliers.models import Supplier, SupplierOrder
from tests.orders.test_forwarding import API, place, reserved, supplier_order_json

State = SupplierOrder.ForwardingState
pytestmark = pytest.mark.django_db


def answer_by_reference(supplier_api, orders, refusals=None):
    """The supplier answers each order by its reference: the refusal given, else acceptance.

    Answers are prepared here: the calls run in threads that must not touch the database.
    """
    answers = {order.number: (201, supplier_order_json(order, supplier_id=f"WSC-{order.pk}"))
               for order in orders}
    answers.update(refusals or {})

    def respond(request):
        status, body = answers[json.loads(request.body)["external_reference"]]
        return status, {}, json.dumps(body)

    supplier_api.add_callback(responses.POST, f"{API}/v1/orders", callback=respond,
                              content_type="application/json")


def states(*orders):
    return [SupplierOrder.objects.get(order=order).forwarding_state for order in orders]


def test_a_drain_sends_every_due_order_once_and_records_each(
        buyer, product, supplier_api, settings):
    settings.FORWARDING_BATCH = 4
    orders = [place(buyer, product, quantity=1) for _ in range(10)]
    later = place(buyer, product, quantity=1)
    SupplierOrder.objects.filter(order=later).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5))
    answer_by_reference(supplier_api, orders)

    assert forwarding.forward_due_supplier_orders() == 10

    sent = [json.loads(call.request.body)["external_reference"] for call in supplier_api.calls]
    assert sorted(sent) == sorted(order.number for order in orders)
    assert states(*orders) == [State.FORWARDED] * 10
    assert states(later) == [State.PENDING]
    for order in orders:
        order.refresh_from_db()
        supplier_order = order.supplier_order
        assert (order.status, supplier_order.supplier_order_id, supplier_order.attempts) == (
            OrderStatus.SUBMITTED, f"WSC-{order.pk}", 1)
        assert order.events.filter(to_status=OrderStatus.SUBMITTED).count() == 1
        assert order.events.filter(message__startswith="Accepted by").count() == 1
        assert Notification.objects.filter(order=order, event="forwarded").count() == 2


def test_a_batch_records_refusals_and_failures_each_as_if_sent_alone(
        buyer, product, supplier_api):
    accepted, rejected, unavailable = (place(buyer, product, quantity=1) for _ in range(3))
    answer_by_reference(supplier_api, [accepted], {
        rejected.number: (422, {"error": {"code": "unknown_sku", "message": "SKU withdrawn",
                                          "details": [{"sku": product.sku}]}}),
        unavailable.number: (503, {"error": {"code": "unavailable"}}),
    })

    forwarding.forward_due_supplier_orders()

    assert states(accepted, rejected, unavailable) == [
        State.FORWARDED, State.REJECTED, State.PENDING]
    rejected.refresh_from_db()
    assert rejected.status == OrderStatus.REJECTED and rejected.status_reason == "SKU withdrawn"
    assert reserved(product) == 2  # the rejected order's unit is back on sale
    retry = SupplierOrder.objects.get(order=unavailable)
    assert (retry.attempts, retry.last_error_code, retry.next_attempt_at is not None) == (
        1, "transient", True)


def test_a_paused_supplier_s_orders_stay_where_they_are(buyer, product, supplier_api):
    order = place(buyer, product, quantity=1)
    Supplier.objects.update(forwarding_paused_at=timezone.now())

    assert forwarding.forward_due_supplier_orders() == 0
    assert len(supplier_api.calls) == 0
    assert states(order) == [State.PENDING]


def test_an_acceptance_that_fails_to_record_is_rolled_back_alone(
        buyer, product, supplier_api):
    first, failing, last = (place(buyer, product, quantity=1) for _ in range(3))
    answer_by_reference(supplier_api, [first, failing, last])
    accept = forwarding._accept

    def accept_but_fail_one(*, supplier_order, info):
        accept(supplier_order=supplier_order, info=info)
        if supplier_order.order_id == failing.pk:
            raise RuntimeError("the database refused this one")

    with mock.patch.object(forwarding, "_accept", side_effect=accept_but_fail_one):
        forwarding.forward_due_supplier_orders()

    assert states(first, failing, last) == [State.FORWARDED, State.IN_FLIGHT, State.FORWARDED]
    failing.refresh_from_db()
    assert failing.status == OrderStatus.PLACED
    assert not failing.events.filter(message__startswith="Accepted by").exists()
    # The sweeper takes the claim back; sent again with the same key, the order is recorded.
    SupplierOrder.objects.filter(order=failing).update(
        claimed_at=timezone.now() - timedelta(days=1))
    assert forwarding.sweep_supplier_orders() == 1
    forwarding.forward_due_supplier_orders()
    assert states(failing) == [State.FORWARDED]
    keys = {call.request.headers["Idempotency-Key"] for call in supplier_api.calls
            if json.loads(call.request.body)["external_reference"] == failing.number}
    assert keys == {SupplierOrder.objects.get(order=failing).idempotency_key}


def test_a_batch_that_fails_as_a_whole_is_recorded_one_order_at_a_time(
        buyer, product, supplier_api):
    orders = [place(buyer, product, quantity=1) for _ in range(3)]
    answer_by_reference(supplier_api, orders)

    with mock.patch.object(forwarding.order_services, "lock_supplier_orders",
                           side_effect=RuntimeError("deadlock detected")):
        forwarding.forward_due_supplier_orders()

    assert states(*orders) == [State.FORWARDED] * 3
    for order in orders:
        assert order.events.filter(message__startswith="Accepted by").count() == 1


def test_an_answer_for_a_claim_taken_over_meanwhile_records_nothing(
        buyer, product, supplier_api):
    order = place(buyer, product, quantity=1)
    answer_by_reference(supplier_api, [order])
    taken_over_at = timezone.now() + timedelta(seconds=1)
    record = forwarding._record_acceptances

    def taken_over_before_recording(accepted):
        # Meanwhile the sweeper took the claim back and another drain claimed the order.
        SupplierOrder.objects.filter(order=order).update(claimed_at=taken_over_at)
        record(accepted)

    with mock.patch.object(forwarding, "_record_acceptances",
                           side_effect=taken_over_before_recording):
        forwarding.forward_due_supplier_orders()

    supplier_order = SupplierOrder.objects.get(order=order)
    assert (supplier_order.forwarding_state, supplier_order.claimed_at) == (
        State.IN_FLIGHT, taken_over_at)
    assert not order.events.filter(message__startswith="Accepted by").exists()


def test_placing_an_order_wakes_a_drain_after_commit(
        buyer, product, django_capture_on_commit_callbacks):
    with mock.patch("suppliers.tasks.forward_due_supplier_orders.apply_async") as publish:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            place(buyer, product, quantity=1)
        publish.assert_not_called()
        for callback in callbacks:
            callback()
    publish.assert_called_once()


def test_the_sweeper_wakes_a_drain_for_each_batch_of_due_orders(buyer, product, settings):
    settings.FORWARDING_BATCH = 2
    for _ in range(5):
        place(buyer, product, quantity=1)
    with mock.patch("suppliers.tasks.forward_due_supplier_orders.delay") as publish:
        assert forwarding.sweep_supplier_orders() == 5
    assert publish.call_count == 3
