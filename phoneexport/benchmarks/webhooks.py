"""Supplier webhook ingestion under gunicorn, and how fast the worker applies the events.

A load generator in its own process replays signed events over keep-alive connections, twice
per server: as fast as the server answers (its capacity), then paced at the goal's rate (the
latency a supplier sees at that rate; under the first load each latency is mostly the wait
behind the other connections). The baseline, in the same run, is a bare WSGI endpoint that
only checks an HMAC and inserts a row, served by the same gunicorn settings on the same
database; beside it, the same work inside Django and DRF (loaded as fast as answered only), the
most any endpoint built on them answers here.
"""

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import Max, Min
from standardwebhooks.webhooks import Webhook

from customers.models import ClientCompany, User
from orders.models import Order, OrderLine, format_order_number
from orders.states import OrderStatus
from phoneexport.benchmarks.common import (
    ROOT, WORKER_PROCESSES, print_table, start_workers, stop_workers, wait_for,
)
from suppliers.models import Supplier, SupplierOrder, WebhookEvent

ORDERS = 2500
CONNECTIONS = 32
GOAL_RATE = 1000  # webhooks per second
GUNICORN = ["--workers", "2", "--worker-class", "gthread", "--threads", "4"]
WORKER_CONCURRENCY = 16
# Each order's life as the supplier tells it: (event type, status, version).
LIFECYCLE = [("order.accepted", "accepted", 2), ("order.processing", "processing", 3),
             ("order.shipped", "shipped", 4), ("order.delivered", "delivered", 5)]


def run() -> None:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    orders = _prepare_orders()
    requests = {name: _write_requests(orders, secret, name=name, lifecycle=LIFECYCLE)
                for name in ("measured", "paced")}
    requests["warmup"] = _write_requests(orders[:100], secret, name="warmup",
                                         lifecycle=LIFECYCLE[:1])
    bare = _serve_and_load("phoneexport.benchmarks.bare_webhook:application", requests,
                           path="/", env=_bare_environment(secret))
    framework = _serve_and_load("phoneexport.benchmarks.bare_django_webhook:application",
                                requests, path="/webhooks/suppliers/wesellcellular/",
                                env={**_bare_environment(secret), "ALLOWED_HOSTS": "127.0.0.1"},
                                paced=False)
    ours = _serve_and_load("phoneexport.wsgi:application", requests,
                           path="/webhooks/suppliers/wesellcellular/",
                           env={"WESELLCELLULAR_WEBHOOK_SECRET": secret,
                                "ALLOWED_HOSTS": "127.0.0.1"})
    # The paced copies only measured receiving: the workers apply the measured events alone.
    WebhookEvent.objects.filter(webhook_id__startswith="paced_").delete()
    applied_rate = _applied_rate(secret, expected=ours["measured"]["statuses"].get("200", 0))
    bare_rate, ours_rate = _rate(bare["measured"]), _rate(ours["measured"])
    framework_rate = _rate(framework["measured"])
    print_table(
        "Supplier webhook ingestion (gunicorn, load generator in a second process)",
        ["endpoint", "load", "requests/s", "p50", "p99", "answers", "goal"],
        [_row("bare: HMAC check + insert", "as fast as answered", bare["measured"]),
         _row("", f"paced, {GOAL_RATE}/s", bare["paced"]),
         _row("the same work inside Django and DRF", "as fast as answered",
              framework["measured"]),
         ["  share of the bare endpoint", "as fast as answered",
          f"{framework_rate / bare_rate:.0%}", "", "", "", ""],
         _row("PhoneExport: verify + store + enqueue", "as fast as answered", ours["measured"]),
         _row("", f"paced, {GOAL_RATE}/s", ours["paced"],
              goal=f">= {GOAL_RATE}/s, p99 < 30 ms"),
         ["  share of the bare endpoint", "as fast as answered", f"{ours_rate / bare_rate:.0%}",
          "", "", "", ">= 70 %"],
         ["events applied by the worker (events/s)", "", f"{applied_rate:.0f}", "", "", "",
          ">= 500/s"]],
        [f"{len(LIFECYCLE) * ORDERS} signed events for {ORDERS} orders per load; "
         f"{CONNECTIONS} keep-alive connections; a paced latency counts from the moment its "
         "request was due",
         f"gunicorn {' '.join(GUNICORN)}; workers: {WORKER_PROCESSES} processes, each "
         f"--pool threads --concurrency "
         f"{WORKER_CONCURRENCY}, prefetch multiplier {settings.CELERY_WORKER_PREFETCH_MULTIPLIER}, "
         f"at most {settings.WEBHOOK_DRAINS_PER_WORKER} webhook drains each, "
         f"{settings.WEBHOOK_DRAIN_BATCH} events a batch",
         f"machine: {os.cpu_count()} cores, PostgreSQL and Redis on it"])


def _rate(result: dict) -> float:
    return result["requests"] / result["seconds"]


def _row(endpoint: str, load: str, result: dict, *, goal: str = "") -> list[str]:
    return [endpoint, load, f"{_rate(result):.0f}", f"{result['p50_ms']} ms",
            f"{result['p99_ms']} ms", _statuses(result), goal]


def _statuses(result: dict) -> str:
    return ", ".join(f"{count}×{status}" for status, count in sorted(result["statuses"].items()))


def _prepare_orders() -> list[Order]:
    """Orders already at the supplier, waiting for its news; nothing left from earlier runs."""
    WebhookEvent.objects.all().delete()
    Order.objects.all().delete()
    supplier = Supplier.objects.get(slug="wesellcellular")
    company, _ = ClientCompany.objects.get_or_create(account_number="BENCH-1",
                                                     defaults={"name": "Bench Mobile LLC"})
    buyer = User.objects.filter(email="bench-buyer@bench.example").first() or \
        User.objects.create_user(email="bench-buyer@bench.example", company=company,
                                 role=User.Role.BUYER)
    ship_to = {"company": "Bench Mobile LLC", "name": "Bench Buyer", "phone": "+1 555 0100",
               "line1": "1 Main St", "line2": "", "city": "Miami", "region": "FL",
               "postal_code": "33101", "country": "US"}
    orders = Order.objects.bulk_create([
        Order(company=company, placed_by=buyer, status=OrderStatus.SUBMITTED, ship_to=ship_to,
              total=Decimal("900.00"), subtotal=Decimal("900.00"), cost_total=Decimal("825.00"))
        for _ in range(ORDERS)])
    for order in orders:
        order.number = format_order_number(order.pk)
    Order.objects.bulk_update(orders, ["number"])
    OrderLine.objects.bulk_create([
        OrderLine(order=order, sku="APL-IP13-128-BLK-A-UNL", supplier_sku="APL-IP13-128-BLK-A-UNL",
                  description="Apple iPhone 13 128GB Black, A, Unlocked", quantity=2,
                  unit_price=Decimal("450.00"), unit_cost=Decimal("412.50"))
        for order in orders])
    SupplierOrder.objects.bulk_create([
        SupplierOrder(order=order, supplier=supplier, idempotency_key=f"bench-{order.public_id}",
                      forwarding_state=SupplierOrder.ForwardingState.FORWARDED,
                      supplier_order_id=f"WSC-B{order.pk}", supplier_status="received",
                      supplier_version=1)
        for order in orders])
    return orders


def _snapshot(order: Order, status: str, version: int, imei_base: int) -> dict:
    shipments = []
    if version >= 4:
        shipments = [{"id": f"SHP-{order.pk}", "carrier": "UPS",
                      "tracking_number": f"1Z999AA1{order.pk:08d}",
                      "shipped_at": "2026-11-24T16:00:00Z",
                      "lines": [{"sku": "APL-IP13-128-BLK-A-UNL", "quantity": 2,
                                 "imeis": [_imei(imei_base), _imei(imei_base + 1)]}]}]
    return {"id": f"WSC-B{order.pk}", "external_reference": order.number, "status": status,
            "version": version,
            "lines": [{"sku": "APL-IP13-128-BLK-A-UNL", "quantity": 2, "unit_price": "412.50",
                       "quantity_shipped": 2 if version >= 4 else 0}],
            "shipments": shipments, "created_at": "2026-11-24T15:04:05Z",
            "updated_at": "2026-11-24T16:00:00Z"}


def _imei(serial: int) -> str:
    body = f"35{serial:012d}"
    total = sum(int(d) if i % 2 == 0 else sum(divmod(int(d) * 2, 10))
                for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _write_requests(orders: list[Order], secret: str, *, name: str,
                    lifecycle: list[tuple[str, str, int]]) -> Path:
    """Signed events, each order's in sequence, interleaved across orders."""
    webhook = Webhook(secret)
    now = datetime.now(timezone.utc)
    path = Path(settings.VAR_DIR) / f"bench-webhooks-{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as requests_file:
        for event_type, status, version in lifecycle:
            for order in orders:
                body = json.dumps({"type": event_type, "timestamp": "2026-11-24T16:00:00Z",
                                   "data": {"order": _snapshot(order, status, version,
                                                               order.pk * 2)}})
                webhook_id = f"{name}_{uuid.uuid4().hex}"
                requests_file.write(json.dumps({"body": body, "headers": {
                    "webhook-id": webhook_id,
                    "webhook-timestamp": str(int(now.timestamp())),
                    "webhook-signature": webhook.sign(webhook_id, now, body)}}) + "\n")
    return path


def _bare_environment(secret: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_webhook")
        cursor.execute("CREATE TABLE bench_bare_webhook (id bigserial PRIMARY KEY, "
                       "webhook_id text NOT NULL, body text NOT NULL, "
                       "received_at timestamptz NOT NULL DEFAULT now())")
    db = connection.settings_dict
    dsn = (f"dbname={db['NAME']} user={db['USER']} host={db['HOST'] or 'localhost'} "
           f"port={db['PORT'] or 5432}" + (f" password={db['PASSWORD']}" if db["PASSWORD"] else ""))
    return {"BARE_WEBHOOK_SECRET": secret, "BARE_WEBHOOK_DSN": dsn}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve_and_load(app: str, requests: dict[str, Path], *, path: str,
                    env: dict[str, str], paced: bool = True) -> dict[str, dict]:
    """Serve `app`; the load generator's results for the measured and the paced requests."""
    port = _free_port()
    log = open(Path(settings.VAR_DIR) / "bench-gunicorn.log", "ab")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", *GUNICORN],
        cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _listening(port), timeout=30)
        _load(port, requests["warmup"], path=path)  # connections, imports and caches warm up
        results = {"measured": _load(port, requests["measured"], path=path)}
        if paced:
            results["paced"] = _load(port, requests["paced"], path=path, rate=GOAL_RATE)
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _load(port: int, requests_file: Path, *, path: str, rate: float | None = None) -> dict:
    pacing = ["--rate", str(rate)] if rate else []
    result = subprocess.run(
        [sys.executable, "-m", "phoneexport.benchmarks.loadgen", "--port", str(port),
         "--connections", str(CONNECTIONS), "--path", path, *pacing, str(requests_file)],
        cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def _applied_rate(secret: str, *, expected: int) -> float:
    """Start a worker on the events the endpoint queued; time it applying all of them."""
    workers = start_workers(env={"WESELLCELLULAR_WEBHOOK_SECRET": secret},
                          concurrency=WORKER_CONCURRENCY, log_name="bench-webhook-worker")
    events = WebhookEvent.objects.filter(webhook_id__startswith="measured_")
    try:
        wait_for(lambda: events.filter(processed_at__isnull=False).count() >= expected,
                 timeout=1200, interval=0.5)
    finally:
        stop_workers(workers)
    span = events.aggregate(first=Min("processed_at"), last=Max("processed_at"))
    return expected / max((span["last"] - span["first"]).total_seconds(), 0.001)
