"""Placing and forwarding orders, with the supplier's HTTP answers mocked at the adapter boundary."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.utils import timezone

from inventory.models import SupplierOffer
from orders import services
from orders.errors import InvalidAddress, InvalidOrder, NotAllowedToOrder, NotCancellable, OutOfStock
from orders.models import Order
from orders.services import Actor, LineRequest
from orders.states import OrderStatus
from suppliers import services as forwarding
from suppliers.models import Supplier, SupplierOrder
from tests.factories import DEMO_SHIP_TO, ProductFactory, UserFactory
from tests.orders.conftest import SUPPLIER_API

API = SUPPLIER_API
State = SupplierOrder.ForwardingState
pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer():
    return UserFactory()


@pytest.fixture
def product():
    return ProductFactory(offer__quantity=10)


def place(buyer, product, quantity=2, **kwargs):
    return services.place_order(company=buyer.company, user=buyer,
                                lines=[LineRequest(sku=product.sku, quantity=quantity)],
                                ship_to=DEMO_SHIP_TO, **kwargs)


def supplier_order_json(order, *, status="received", version=1, supplier_id="WSC-1"):
    line = order.lines.get()
    return {"id": supplier_id, "external_reference": order.number, "status": status,
            "version": version,
            "lines": [{"sku": line.supplier_sku, "quantity": line.quantity,
                       "unit_price": str(line.unit_cost), "quantity_shipped": 0}],
            "shipments": [], "created_at": "2026-11-24T15:04:05Z",
            "updated_at": "2026-11-24T15:04:05Z"}


def forward(order):
    forwarding.forward_supplier_order(supplier_order_id=order.supplier_order.pk)
    order.refresh_from_db()
    order.supplier_order.refresh_from_db()
    return order.supplier_order


def reserved(product):
    return SupplierOffer.objects.get(product=product).reserved_quantity


def make_due(order):
    SupplierOrder.objects.filter(pk=order.supplier_order.pk).update(next_attempt_at=timezone.now())


# --- place_order ---------------------------------------------------------------------------
def test_place_order_reserves_stock_and_queues_forwarding_after_commit(
        buyer, product, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        order = place(buyer, product, quantity=3, po_reference="PO-77")
    assert callbacks  # forwarding (and the emails) wait for the commit
    assert order.number == f"PE-{order.pk:06d}"
    assert order.status == OrderStatus.PLACED
    assert order.total == Decimal("1350.00") and order.cost_total == Decimal("1237.50")
    assert reserved(product) == 3
    supplier_order = order.supplier_order
    assert supplier_order.forwarding_state == State.PENDING
    assert supplier_order.idempotency_key == f"phoneexport-{order.public_id}-r1"
    assert list(order.events.values_list("to_status", flat=True)) == [OrderStatus.PLACED]


def test_place_order_refuses_more_than_is_available(buyer, product):
    place(buyer, product, quantity=8)
    with pytest.raises(OutOfStock) as refusal:
        place(buyer, product, quantity=3)
    assert refusal.value.details == [{"sku": product.sku, "requested": 3, "available": 2}]
    assert Order.objects.count() == 1


def test_a_repeated_request_key_answers_the_same_order(buyer, product):
    first = place(buyer, product, request_key="po-7781")
    again = place(buyer, product, request_key="po-7781")

    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert SupplierOffer.objects.get().reserved_quantity == 2
    other_company_buyer = UserFactory()
    assert place(other_company_buyer, product, request_key="po-7781").pk != first.pk


def test_a_viewer_cannot_order(product):
    viewer = UserFactory(role="viewer")
    with pytest.raises(NotAllowedToOrder):
        place(viewer, product)


@pytest.mark.parametrize("ship_to,field", [
    ({**DEMO_SHIP_TO, "city": ""}, "city"),
    ({**DEMO_SHIP_TO, "country": "USA"}, "country"),
])
def test_place_order_validates_the_address(buyer, product, ship_to, field):
    with pytest.raises(InvalidAddress) as refusal:
        services.place_order(company=buyer.company, user=buyer, ship_to=ship_to,
                             lines=[LineRequest(sku=product.sku, quantity=1)])
    assert refusal.value.details[0]["field"] == field
    assert not Order.objects.exists()


def test_place_order_refuses_unknown_products_and_bad_quantities(buyer, product):
    with pytest.raises(InvalidOrder):
        services.place_order(company=buyer.company, user=buyer, ship_to=DEMO_SHIP_TO,
                             lines=[LineRequest(sku="NOPE", quantity=1)])
    with pytest.raises(InvalidOrder):
        place(buyer, product, quantity=0)
    assert reserved(product) == 0


# --- forwarding ----------------------------------------------------------------------------
def test_forwarding_records_the_supplier_id_and_status(buyer, product, supplier_api):
    order = place(buyer, product)
    supplier_api.post(f"{API}/v1/orders", status=201, json=supplier_order_json(order))
    supplier_order = forward(order)
    assert supplier_order.forwarding_state == State.FORWARDED
    assert supplier_order.supplier_order_id == "WSC-1"
    assert supplier_order.supplier_version == 1
    assert order.status == OrderStatus.SUBMITTED
    sent = supplier_api.calls[0].request
    assert sent.headers["Idempotency-Key"] == supplier_order.idempotency_key
    body = json.loads(sent.body)
    assert body["external_reference"] == order.number
    assert body["lines"] == [{"sku": product.sku, "quantity": 2, "unit_price": "412.50"}]


def test_transient_errors_retry_with_the_same_key(buyer, product, supplier_api, settings):
    settings.FORWARDING_RETRY_BASE_SECONDS = 1
    order = place(buyer, product)
    supplier_api.post(f"{API}/v1/orders", status=503, json={"error": {"code": "unavailable"}})
    supplier_order = forward(order)
    assert supplier_order.forwarding_state == State.PENDING
    assert supplier_order.attempts == 1
    assert supplier_order.next_attempt_at <= timezone.now() + timedelta(seconds=1)
    supplier_api.replace(responses.POST, f"{API}/v1/orders", status=201,
                         json=supplier_order_json(order))
    make_due(order)
    supplier_order = forward(order)
    assert supplier_order.forwarding_state == State.FORWARDED
    assert supplier_order.attempts == 2
    keys = {call.request.headers["Idempotency-Key"] for call in supplier_api.calls}
    assert keys == {supplier_order.idempotency_key}


def test_retry_after_is_honoured(buyer, product, supplier_api):
    order = place(buyer, product)
    supplier_api.post(f"{API}/v1/orders", status=429, headers={"Retry-After": "120"},
                      json={"error": {"code": "rate_limited"}})
    before = timezone.now()
    supplier_order = forward(order)
    assert supplier_order.next_attempt_at >= before + timedelta(seconds=120)


def test_an_order_not_yet_due_is_not_sent(buyer, product, supplier_api):
    order = place(buyer, product)
    SupplierOrder.objects.filter(pk=order.supplier_order.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5))
    forward(order)
    assert len(supplier_api.calls) == 0


def test_a_claimed_order_is_not_sent_twice(buyer, product, supplier_api):
    order = place(buyer, product)
    SupplierOrder.objects.filter(pk=order.supplier_order.pk).update(
        forwarding_state=State.IN_FLIGHT, claimed_at=timezone.now())
    forward(order)
    assert len(supplier_api.calls) == 0


def test_after_the_deadline_the_order_needs_attention(buyer, product, supplier_api, settings):
    order = place(buyer, product)
    SupplierOrder.objects.filter(pk=order.supplier_order.pk).update(
        first_attempted_at=timezone.now() - timedelta(seconds=settings.FORWARDING_DEADLINE_SECONDS))
    supplier_api.post(f"{API}/v1/orders", status=500)
    supplier_order = forward(order)
    assert supplier_order.forwarding_state == State.NEEDS_ATTENTION
    assert order.status == OrderStatus.NEEDS_ATTENTION


def test_a_rejection_releases_stock(buyer, product, supplier_api):
    order = place(buyer, product)
    supplier_api.post(f"{API}/v1/orders", status=422, json={"error": {
        "code": "unknown_sku", "message": "SKU withdrawn", "details": [{"sku": product.sku}]}})
    supplier_order = forward(order)
    assert supplier_order.forwarding_state == State.REJECTED
    assert order.status == OrderStatus.REJECTED
    assert order.status_reason == "SKU withdrawn"
    assert reserved(product) == 0


def test_a_small_price_change_is_resent_at_the_new_cost_with_a_new_key(
        buyer, product, supplier_api):
    order = place(buyer, product)
    first_key = order.supplier_order.idempotency_key
    supplier_api.post(f"{API}/v1/orders", status=422, json={"error": {
        "code": "price_changed", "message": "Price moved",
        "details": [{"sku": product.sku, "available": 10, "unit_price": "415.00"}]}})
    supplier_order = forward(order)
    assert supplier_order.forwarding_state == State.PENDING
    assert supplier_order.revision == 2
    assert supplier_order.idempotency_key != first_key
    assert order.lines.get().unit_cost == Decimal("415.00")
    assert order.status == OrderStatus.PLACED


def test_a_price_change_that_eats_the_margin_waits_for_staff(buyer, product, supplier_api):
    order = place(buyer, product)
    supplier_api.post(f"{API}/v1/orders", status=422, json={"error": {
        "code": "price_changed", "message": "Price moved",
        "details": [{"sku": product.sku, "available": 10, "unit_price": "449.00"}]}})
    supplier_order = forward(order)
    assert supplier_order.forwarding_state == State.NEEDS_ATTENTION
    assert order.status == OrderStatus.NEEDS_ATTENTION
    event = order.events.get(to_status=OrderStatus.NEEDS_ATTENTION)
    assert event.payload["details"][0]["unit_price"] == "449.00"
    assert event.payload["lines"][0]["unit_cost"] == "412.50"
    assert reserved(product) == 2


def test_insufficient_stock_shows_what_is_available(buyer, product, supplier_api):
    order = place(buyer, product)
    supplier_api.post(f"{API}/v1/orders", status=422, json={"error": {
        "code": "insufficient_stock", "message": "Only 1 left",
        "details": [{"sku": product.sku, "available": 1}]}})
    forward(order)
    event = order.events.get(to_status=OrderStatus.NEEDS_ATTENTION)
    assert event.payload["details"] == [{"sku": product.sku, "available": 1, "unit_price": None}]


def test_bad_credentials_pause_the_supplier_without_burning_attempts(
        buyer, product, supplier_api, settings):
    order = place(buyer, product)
    supplier_api.post(f"{API}/v1/orders", status=401, json={"error": {"code": "unauthorized"}})
    supplier_order = forward(order)
    assert supplier_order.forwarding_state == State.PENDING
    assert supplier_order.attempts == 0
    supplier = Supplier.objects.get(slug="wesellcellular")
    assert supplier.forwarding_paused_at is not None
    # While paused, the sweeper sends nothing; after the probe interval, one order probes.
    assert forwarding.sweep_supplier_orders() == 0
    forward(order)
    assert len(supplier_api.calls) == 1
    Supplier.objects.filter(pk=supplier.pk).update(
        forwarding_paused_at=timezone.now() - timedelta(
            seconds=settings.FORWARDING_PAUSE_PROBE_SECONDS + 1))
    supplier_api.replace(responses.POST, f"{API}/v1/orders", status=201,
                         json=supplier_order_json(order))
    forwarding.forward_supplier_order(supplier_order_id=supplier_order.pk, probe=True)
    supplier.refresh_from_db()
    assert supplier.forwarding_paused_at is None
    assert SupplierOrder.objects.get(pk=supplier_order.pk).forwarding_state == State.FORWARDED


def test_an_answer_older_than_a_webhook_only_sets_the_supplier_id(buyer, product, supplier_api):
    order = place(buyer, product)
    # A webhook (version 3, confirmed) was applied before our POST's answer came back.
    SupplierOrder.objects.filter(pk=order.supplier_order.pk).update(
        supplier_version=3, supplier_status="accepted")
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CONFIRMED)
    supplier_api.post(f"{API}/v1/orders", status=201, json=supplier_order_json(order))
    supplier_order = forward(order)
    assert supplier_order.supplier_order_id == "WSC-1"
    assert supplier_order.supplier_version == 3
    assert order.status == OrderStatus.CONFIRMED


def test_after_a_long_silence_the_order_is_looked_up_before_placing_again(
        buyer, product, supplier_api, settings):
    order = place(buyer, product)
    SupplierOrder.objects.filter(pk=order.supplier_order.pk).update(
        attempts=3, first_attempted_at=timezone.now() - timedelta(
            seconds=settings.FORWARDING_LOOKUP_AFTER_SECONDS + 1))
    supplier_api.get(f"{API}/v1/orders", json={"items": [supplier_order_json(order)]})
    supplier_order = forward(order)
    assert supplier_order.forwarding_state == State.FORWARDED
    assert [call.request.method for call in supplier_api.calls] == ["GET"]


def test_the_sweeper_takes_back_abandoned_claims(buyer, product, settings):
    order = place(buyer, product)
    SupplierOrder.objects.filter(pk=order.supplier_order.pk).update(
        forwarding_state=State.IN_FLIGHT, claimed_at=timezone.now() - timedelta(
            seconds=settings.FORWARDING_CLAIM_TIMEOUT_SECONDS + 1))
    assert forwarding.sweep_supplier_orders() == 1
    order.supplier_order.refresh_from_db()
    assert order.supplier_order.forwarding_state == State.PENDING


# --- cancellation --------------------------------------------------------------------------
def test_cancel_before_forwarding_releases_stock_and_stops_forwarding(buyer, product):
    order = place(buyer, product)
    order = services.cancel_order(order=order, actor=Actor(user=buyer), reason="Changed mind")
    assert order.status == OrderStatus.CANCELLED
    assert order.supplier_order.forwarding_state == State.CANCELLED
    assert reserved(product) == 0
    assert forwarding.sweep_supplier_orders() == 0


def test_cancel_after_forwarding_cancels_at_the_supplier(buyer, product, supplier_api):
    order = place(buyer, product)
    supplier_api.post(f"{API}/v1/orders", status=201, json=supplier_order_json(order))
    forward(order)
    supplier_api.post(f"{API}/v1/orders/WSC-1/cancel",
                      json=supplier_order_json(order, status="cancelled", version=2))
    order = services.cancel_order(order=order, actor=Actor(user=buyer))
    assert order.status == OrderStatus.CANCELLED
    assert reserved(product) == 0
    cancel_call = supplier_api.calls[-1].request
    assert cancel_call.headers["Idempotency-Key"].endswith("-cancel")


def test_cancel_refused_by_the_supplier_once_shipped(buyer, product, supplier_api):
    order = place(buyer, product)
    supplier_api.post(f"{API}/v1/orders", status=201, json=supplier_order_json(order))
    forward(order)
    supplier_api.post(f"{API}/v1/orders/WSC-1/cancel", status=409,
                      json={"error": {"code": "not_cancellable", "message": "Shipped"}})
    with pytest.raises(NotCancellable):
        services.cancel_order(order=order, actor=Actor(user=buyer))
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_a_shipped_order_cannot_be_cancelled(buyer, product):
    order = place(buyer, product)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.SHIPPED)
    order.refresh_from_db()
    with pytest.raises(NotCancellable):
        services.cancel_order(order=order, actor=Actor(user=buyer))
