"""The WeSellCellular adapter against the sandbox supplier over real HTTP, on every route."""

from decimal import Decimal

import pytest

from orders.states import OrderStatus
from suppliers.adapters import get_adapter
from suppliers.adapters.base import (
    Address, OrderLineRequest, PlaceOrderRequest, RejectionCode, SupplierRejectedError,
)
from tests.conftest import SUPPLIER_ROUTES

SHIP_TO = Address(company="Acme Mobile LLC", name="Jane Roe", phone="+1 555 0100",
                  line1="1 Main St", line2="", city="Miami", region="FL", postal_code="33101",
                  country="US")


@pytest.fixture(params=SUPPLIER_ROUTES)
def route(request):
    return request.param


def first_items(sandbox, count=2):
    return [item for item in sandbox.catalogue if item.quantity >= 5][:count]


def order_request(sandbox, reference="PE-000001"):
    return PlaceOrderRequest(reference=reference, ship_to=SHIP_TO, lines=tuple(
        OrderLineRequest(sku=item.sku, quantity=2, unit_price=Decimal(item.unit_price))
        for item in first_items(sandbox)))


def test_place_replay_read_find_and_cancel(start_sandbox, route):
    sandbox = start_sandbox(route=route)
    adapter = get_adapter("wesellcellular")
    request = order_request(sandbox)

    placed = adapter.place_order(request, idempotency_key="key-1")
    assert placed.status == OrderStatus.SUBMITTED and not placed.replayed
    replayed = adapter.place_order(request, idempotency_key="key-1")
    assert replayed.replayed and replayed.supplier_order_id == placed.supplier_order_id
    assert sandbox.snapshot()["idempotency_key_hits"]["key-1"] == 2
    assert len(sandbox.snapshot()["orders_by_reference"]["PE-000001"]) == 1

    read = adapter.get_order(placed.supplier_order_id)
    assert read.reference == "PE-000001"
    assert [line.quantity for line in read.lines] == [2, 2]
    found = adapter.find_orders("PE-000001")
    assert [info.supplier_order_id for info in found] == [placed.supplier_order_id]

    cancelled = adapter.cancel_order(placed.supplier_order_id, idempotency_key="key-1-cancel")
    assert cancelled.status == OrderStatus.CANCELLED
    assert cancelled.version > placed.version


def test_the_same_key_with_another_body_conflicts(start_sandbox, route):
    sandbox = start_sandbox(route=route)
    adapter = get_adapter("wesellcellular")
    adapter.place_order(order_request(sandbox), idempotency_key="key-2")
    with pytest.raises(SupplierRejectedError) as refusal:
        adapter.place_order(order_request(sandbox, reference="PE-000002"),
                            idempotency_key="key-2")
    assert refusal.value.code == RejectionCode.IDEMPOTENCY_CONFLICT


def test_a_shipped_order_cannot_be_cancelled(start_sandbox, route):
    sandbox = start_sandbox(route=route)
    adapter = get_adapter("wesellcellular")
    placed = adapter.place_order(order_request(sandbox), idempotency_key="key-3")
    for status in ("accepted", "processing", "shipped"):
        sandbox.advance_order(placed.supplier_order_id, status=status)
    shipped = adapter.get_order(placed.supplier_order_id)
    assert shipped.status == OrderStatus.SHIPPED
    assert sum(len(line.imeis) for shipment in shipped.shipments for line in shipment.lines) == 4
    with pytest.raises(SupplierRejectedError) as refusal:
        adapter.cancel_order(placed.supplier_order_id, idempotency_key="key-3-cancel")
    assert refusal.value.code == RejectionCode.NOT_CANCELLABLE


def test_page_through_a_10000_sku_feed(start_sandbox, route):
    start_sandbox(route=route, skus=10_000)
    adapter = get_adapter("wesellcellular")
    pages = list(adapter.iter_inventory(page_size=1000))
    skus = [item.sku for page in pages for item in page.items]
    assert len(pages) == 10
    assert len(skus) == len(set(skus)) == 10_000
    assert not any(page.rejected for page in pages)


def test_the_phonex_token_is_fetched_once_and_renewed_after_expiry(start_sandbox):
    sandbox = start_sandbox(route="phonex-oauth")
    adapter = get_adapter("wesellcellular")
    for _ in range(5):
        list(adapter.iter_inventory(page_size=1000))
    assert sandbox.tokens_issued == 1
    sandbox.expire_tokens()
    list(adapter.iter_inventory(page_size=1000))
    assert sandbox.tokens_issued == 2
