"""Forwarding for real: a Celery worker process, the broker, and the sandbox supplier over HTTP.

Each placed order must end at the supplier exactly once, whatever fails on the way.
"""

import os
import signal
import threading
import time
from contextlib import contextmanager

import pytest
from django.db import connection

from inventory.models import SupplierOffer
from orders import services
from orders.errors import OutOfStock
from orders.models import Order
from orders.services import LineRequest
from orders.states import OrderStatus
from phoneexport.celery import app as celery_app
from suppliers.models import SupplierOrder
from suppliers.services import sweep_supplier_orders
from tests.conftest import sandbox_environment, wait_until
from tests.factories import DEMO_SHIP_TO, ProductFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]
State = SupplierOrder.ForwardingState
# Short waits so that a test sees retries and take-overs in seconds.
WORKER_ENV = {"FORWARDING_RETRY_BASE_SECONDS": "0.2", "FORWARDING_RETRY_CAP_SECONDS": "1",
              "FORWARDING_CLAIM_TIMEOUT_SECONDS": "2"}


@pytest.fixture
def sandbox(start_sandbox):
    return start_sandbox(skus=200)


@pytest.fixture
def worker(start_worker, sandbox):
    return start_worker(**sandbox_environment(sandbox), **WORKER_ENV)


@pytest.fixture
def buyer():
    return UserFactory()


def sandbox_product(sandbox, *, index=0, quantity=50):
    item = list(sandbox.catalogue)[index]
    return ProductFactory(sku=item.sku, offer__quantity=quantity,
                          offer__cost_price=item.unit_price)


def place(buyer, product, quantity=1):
    return services.place_order(company=buyer.company, user=buyer, ship_to=DEMO_SHIP_TO,
                                lines=[LineRequest(sku=product.sku, quantity=quantity)])


def forwarded(*orders):
    states = SupplierOrder.objects.filter(order__in=orders).values_list("forwarding_state",
                                                                        flat=True)
    return len(states) == len(orders) and set(states) == {State.FORWARDED}


def orders_at_supplier(sandbox, order):
    return sandbox.snapshot()["orders_by_reference"].get(order.number, [])


@contextmanager
def broker_unreachable():
    """This process (the web side) cannot reach the broker; the worker can."""
    original = celery_app.conf.broker_write_url
    celery_app.conf.broker_write_url = "redis://127.0.0.1:9/0"  # nothing listens on port 9
    celery_app._pool = celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        celery_app.conf.broker_write_url = original
        celery_app._pool = celery_app.amqp._producer_pool = None


def test_a_supplier_outage_delays_orders_but_each_reaches_it_once(sandbox, worker, buyer):
    product = sandbox_product(sandbox)
    sandbox.set_faults(error_rate=1.0, error_kind="503")
    orders = [place(buyer, product) for _ in range(10)]
    keys = list(SupplierOrder.objects.filter(order__in=orders)
                .values_list("idempotency_key", flat=True))
    # Counted at the supplier: an attempt claimed here may not have reached it yet.
    wait_until(lambda: all(sandbox.snapshot()["idempotency_key_hits"].get(key, 0) >= 2
                           for key in keys), timeout=60)
    assert not SupplierOrder.objects.filter(forwarding_state=State.FORWARDED).exists()
    sandbox.set_faults(error_rate=0.0)
    wait_until(lambda: forwarded(*orders), timeout=60)
    state = sandbox.snapshot()
    for order in orders:
        assert len(orders_at_supplier(sandbox, order)) == 1
        key = SupplierOrder.objects.get(order=order).idempotency_key
        assert key in state["orders_by_idempotency_key"]
        assert state["idempotency_key_hits"][key] >= 3  # two refusals, then the order
    assert len(state["orders_by_idempotency_key"]) == 10


def test_a_worker_killed_after_the_supplier_took_the_order_loses_nothing(
        sandbox, start_worker, buyer, settings):
    settings.FORWARDING_CLAIM_TIMEOUT_SECONDS = 2  # the sweeper runs in this process
    product = sandbox_product(sandbox)
    sandbox.set_faults(answer_delay_ms=30_000)  # the order is stored, its answer is slow
    first = start_worker(name="doomed", **sandbox_environment(sandbox), **WORKER_ENV)
    order = place(buyer, product)
    wait_until(lambda: orders_at_supplier(sandbox, order), timeout=30)
    os.kill(first.pid, signal.SIGKILL)  # before the worker could record the answer
    first.wait()
    sandbox.set_faults(answer_delay_ms=0)
    start_worker(name="survivor", **sandbox_environment(sandbox), **WORKER_ENV)

    def swept_and_forwarded():
        sweep_supplier_orders()  # what beat does every minute
        return forwarded(order)

    wait_until(swept_and_forwarded, timeout=60, interval=1)
    supplier_order = SupplierOrder.objects.get(order=order)
    assert orders_at_supplier(sandbox, order) == [supplier_order.supplier_order_id]
    assert sandbox.snapshot()["idempotency_key_hits"][supplier_order.idempotency_key] == 2
    assert supplier_order.attempts == 2


def test_orders_placed_while_the_broker_is_down_are_sent_by_the_sweeper(sandbox, worker, buyer):
    product = sandbox_product(sandbox)
    with broker_unreachable():
        order = place(buyer, product)  # placing still works; the enqueue is lost
    time.sleep(2)
    assert SupplierOrder.objects.get(order=order).forwarding_state == State.PENDING
    assert orders_at_supplier(sandbox, order) == []
    assert sweep_supplier_orders() == 1
    wait_until(lambda: forwarded(order), timeout=30)
    assert len(orders_at_supplier(sandbox, order)) == 1


def test_retry_after_is_honoured(sandbox, worker, buyer):
    product = sandbox_product(sandbox)
    sandbox.set_faults(error_kind="429", fail_next=1, retry_after=2)
    order = place(buyer, product)
    wait_until(lambda: forwarded(order), timeout=30)
    supplier_order = SupplierOrder.objects.get(order=order)
    assert supplier_order.attempts == 2
    waited = (supplier_order.forwarded_at - supplier_order.first_attempted_at).total_seconds()
    assert waited >= 2


def test_a_refused_order_is_rejected_and_its_stock_released(sandbox, worker, buyer):
    unknown = ProductFactory(sku="NOT-IN-THE-SUPPLIERS-CATALOGUE", offer__quantity=5)
    order = place(buyer, unknown, quantity=2)
    wait_until(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.REJECTED,
               timeout=30)
    assert SupplierOffer.objects.get(product=unknown).reserved_quantity == 0
    assert SupplierOrder.objects.get(order=order).forwarding_state == State.REJECTED


@pytest.mark.postgres
def test_twenty_buyers_of_the_last_ten_units_never_oversell():
    product = ProductFactory(offer__quantity=10)
    buyers = [UserFactory() for _ in range(20)]
    outcomes = []
    barrier = threading.Barrier(len(buyers))

    def buy(buyer):
        barrier.wait()
        try:
            place(buyer, product)
            outcomes.append("sold")
        except OutOfStock:
            outcomes.append("out of stock")
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("sold") == 10
    assert outcomes.count("out of stock") == 10
    assert SupplierOffer.objects.get(product=product).reserved_quantity == 10
    assert Order.objects.count() == 10
