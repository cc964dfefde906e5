"""Order forwarding: how fast a worker drains queued orders, and how long an order waits.

Orders go to the sandbox supplier over HTTP with 50 ms of added latency, the way a remote
supplier answers. The baseline is a bare task that only sleeps 50 ms, drained by the same pool
in the same run: the ceiling for work that waits 50 ms on the network.
"""

import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Max, Min

from customers.models import ClientCompany, User
from inventory.models import (
    CarrierMapping, GradeMapping, Product, SupplierOffer, WarehouseMapping,
)
from notifications.models import Notification
from orders.models import Order
from orders.services import LineRequest, place_order
from phoneexport.benchmarks import tasks as benchmark_tasks
from phoneexport.benchmarks.common import (
    WORKER_PROCESSES, median, percentile, print_table, start_workers, stop_workers, wait_for,
)
from suppliers.models import Supplier, SupplierOrder
from suppliers.sandbox import Faults, SandboxConfig, SandboxSupplier

CONCURRENCY = 16
BARE_TASKS = 2000
QUEUED_ORDERS = 5000
STEADY_RATE = 50  # orders per second
STEADY_SECONDS = 20
SUPPLIER_LATENCY_MS = 50
SHIP_TO = {"company": "Bench Mobile LLC", "name": "Bench Buyer", "phone": "+1 555 0100",
           "line1": "1 Main St", "line2": "", "city": "Miami", "region": "FL",
           "postal_code": "33101", "country": "US"}


def run() -> None:
    credentials = {"api_key": secrets.token_urlsafe(16)}
    sandbox = SandboxSupplier(SandboxConfig(
        api_key=credentials["api_key"], skus=3000, seed=11,
        faults=Faults(latency_ms=SUPPLIER_LATENCY_MS))).start()
    worker_env = {"SUPPLIER_TRANSPORT": "direct", "WESELLCELLULAR_API_URL": sandbox.base_url,
                  "WESELLCELLULAR_API_KEY": credentials["api_key"]}
    os.environ.update(worker_env)  # this process places orders with the same settings
    try:
        buyer, skus = _prepare(sandbox)
        bare_rate = _bare_task_rate(worker_env)
        drain_rate, retried = _drain_rate(worker_env, buyer, skus)
        latencies = _steady_latencies(worker_env, buyer, skus)
    finally:
        sandbox.stop()
    print_table(
        "Order forwarding (sandbox supplier with 50 ms latency)",
        ["measure", "value", "goal"],
        [["bare 50 ms task, drained (tasks/s)", f"{bare_rate:.0f}", ""],
         [f"orders forwarded per second ({QUEUED_ORDERS} queued)", f"{drain_rate:.0f}",
          ">= 200"],
         ["  share of the bare task rate", f"{drain_rate / bare_rate:.0%}", ""],
         [f"placement -> acceptance p50 at {STEADY_RATE} orders/s", f"{median(latencies):.3f} s",
          ""],
         [f"placement -> acceptance p95 at {STEADY_RATE} orders/s",
          f"{percentile(latencies, 0.95):.3f} s", "< 2 s"]],
        [f"workers: {WORKER_PROCESSES} processes, each --pool threads --concurrency "
         f"{CONCURRENCY}, prefetch multiplier "
         f"{settings.CELERY_WORKER_PREFETCH_MULTIPLIER}, late acknowledgement; "
         "PostgreSQL and Redis on this machine",
         f"forwarding drains: at most {settings.FORWARDING_DRAINS_PER_WORKER} per process, "
         f"each sending up to {settings.FORWARDING_BATCH} orders at the same time",
         f"orders that needed more than one attempt: {retried}",
         "the steady phase starts with no emails waiting (the drain phase's unsent ones are "
         "discarded); its own emails are sent as it runs",
         f"machine: {os.cpu_count()} cores"])


def _prepare(sandbox: SandboxSupplier) -> tuple[User, list[str]]:
    """A clean bench database: one buyer and the sandbox's well-stocked items on sale."""
    Order.objects.all().delete()
    SupplierOffer.objects.all().delete()
    Product.objects.all().delete()
    supplier = Supplier.objects.get(slug="wesellcellular")
    Supplier.objects.filter(pk=supplier.pk).update(forwarding_paused_at=None)
    company, _ = ClientCompany.objects.get_or_create(account_number="BENCH-1",
                                                     defaults={"name": "Bench Mobile LLC"})
    buyer = User.objects.filter(email="bench-buyer@bench.example").first() or \
        User.objects.create_user(email="bench-buyer@bench.example", company=company,
                                 role=User.Role.BUYER)
    grades = {m.supplier_code: m.target for m in GradeMapping.objects.filter(supplier=supplier)}
    carriers = {m.supplier_code: m.target
                for m in CarrierMapping.objects.filter(supplier=supplier)}
    warehouses = {m.supplier_code: m.target
                  for m in WarehouseMapping.objects.filter(supplier=supplier)}
    items = [item for item in sandbox.catalogue if item.quantity >= 100
             and grades.get(item.grade) and carriers.get(item.carrier)
             and warehouses.get(item.warehouse)]
    products = Product.objects.bulk_create([Product(
        sku=item.sku, manufacturer=item.manufacturer, model_name=item.model,
        storage_gb=item.storage_gb, colour=item.color, grade=grades[item.grade],
        carrier=carriers[item.carrier], warehouse=warehouses[item.warehouse],
        sell_price=(item.unit_price * Decimal("1.10")).quantize(Decimal("0.01")))
        for item in items])
    SupplierOffer.objects.bulk_create([SupplierOffer(
        supplier=supplier, supplier_sku=item.sku, product=product,
        manufacturer=item.manufacturer, model_name=item.model, storage_gb=item.storage_gb,
        colour=item.color, grade_code=item.grade, carrier_code=item.carrier,
        warehouse_code=item.warehouse, quantity=item.quantity, cost_price=item.unit_price)
        for item, product in zip(items, products)])
    return buyer, [item.sku for item in items]


def _bare_task_rate(worker_env: dict[str, str]) -> float:
    cache.set(benchmark_tasks.DONE_KEY, 0, timeout=None)
    workers = start_workers(env=worker_env, concurrency=CONCURRENCY,
                          include="phoneexport.benchmarks.tasks")
    try:
        started = time.time()
        for _ in range(BARE_TASKS):
            benchmark_tasks.sleep_50ms.delay()
        finished = wait_for(lambda: cache.get(benchmark_tasks.DONE_KEY) >= BARE_TASKS,
                            timeout=600)
    finally:
        stop_workers(workers)
    return BARE_TASKS / (finished - started)


def _place(buyer: User, sku: str) -> Order:
    try:
        return place_order(company=buyer.company, user=buyer, ship_to=SHIP_TO,
                           lines=[LineRequest(sku=sku, quantity=1)])
    finally:
        connection.close()


def _drain_rate(worker_env: dict[str, str], buyer: User, skus: list[str]) -> tuple[float, int]:
    """Queue the orders with no worker running, then time one worker draining them."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        orders = list(pool.map(lambda n: _place(buyer, skus[n % len(skus)]),
                               range(QUEUED_ORDERS)))
    workers = start_workers(env=worker_env, concurrency=CONCURRENCY)
    try:
        queued = SupplierOrder.objects.filter(order__in=orders)
        wait_for(lambda: queued.filter(forwarding_state="forwarded").count() == len(orders),
                 timeout=1200, interval=0.5)
    finally:
        stop_workers(workers)
    span = queued.aggregate(first=Min("first_attempted_at"), last=Max("forwarded_at"))
    retried = queued.filter(attempts__gt=1).count()
    return len(orders) / (span["last"] - span["first"]).total_seconds(), retried


def _steady_latencies(worker_env: dict[str, str], buyer: User, skus: list[str]) -> list[float]:
    """Place orders at a steady rate while the worker runs; time placement to acceptance.

    Starts with no emails waiting: the 20,000 the drain phase left unsent would be a backlog
    of another time, not the steady state this phase measures.
    """
    Notification.objects.filter(status=Notification.Status.PENDING).delete()
    workers = start_workers(env=worker_env, concurrency=CONCURRENCY)
    try:
        orders = []
        started = time.monotonic()
        for number in range(STEADY_RATE * STEADY_SECONDS):
            time.sleep(max(0.0, started + number / STEADY_RATE - time.monotonic()))
            orders.append(_place(buyer, skus[(number * 7) % len(skus)]))
        queued = SupplierOrder.objects.filter(order__in=orders)
        wait_for(lambda: queued.filter(forwarding_state="forwarded").count() == len(orders),
                 timeout=600, interval=0.5)
    finally:
        stop_workers(workers)
    return [(forwarded_at - created_at).total_seconds()
            for forwarded_at, created_at in queued.values_list("forwarded_at", "order__created_at")]
