"""Client pages: the catalogue on 100,000 SKUs and the order list on 1,000,000 orders.

Server time is measured in-process, through Django's full request handling (middleware, view,
queries, template), for a signed-in client, over a spread of filters and pages. Beside it, in
the same run: the bare query and render of the same 50 rows (one SQL statement and a minimal
template), the floor for a page of 50 rows from these tables.
"""

import random
import time

from django.conf import settings
from django.db import connection
from django.template import Context, Template
from django.test import Client
from django.urls import reverse

from customers.models import ClientCompany, User
from inventory.models import Carrier, Grade, Product, Warehouse
from phoneexport.benchmarks.common import percentile, print_table
from suppliers.models import Supplier

PRODUCTS = 100_000
CLIENTS = 1_000
ORDERS_PER_CLIENT = 1_000
REQUESTS = 300
PAGE_ROWS = 50
MODELS = [("Apple", f"iPhone {n}") for n in range(8, 17)] + \
    [("Samsung", f"Galaxy S{n}") for n in range(9, 25)] + \
    [("Google", f"Pixel {n}") for n in range(3, 10)]
STORAGES = [64, 128, 256, 512]
COLOURS = ["Black", "White", "Blue", "Red", "Green", "Purple", "Gold", "Silver"]
CATALOGUE_QUERIES = [
    {}, {"manufacturer": "Apple"}, {"manufacturer": "Samsung", "model": "Galaxy S21"},
    {"grade": "A", "in_stock": "on"}, {"carrier": "unlocked", "sort": "price"},
    {"q": "iPhone 13"}, {"storage": "256", "colour": "Blue"}, {"sort": "-price", "page": "40"},
    {"warehouse": "wsc", "grade": "B", "sort": "price"}, {"page": "500"},
]
BARE_TEMPLATE = Template("<table>{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}"
                         "</td>{% endfor %}</tr>{% endfor %}</table>")


def run() -> None:
    _prepare_catalogue()
    company = _prepare_orders()
    buyer = _buyer(company)
    client = Client(HTTP_HOST=settings.ALLOWED_HOSTS[0])
    client.force_login(buyer)
    catalogue = _timed_pages(client, reverse("catalogue:list"), CATALOGUE_QUERIES)
    order_queries = [{}, {"status": "shipped"}, {"status": "delivered"}, {"q": "PE-00"},
                     {"status": "placed"}]
    orders = _timed_pages(client, reverse("orders:list"), order_queries)
    bare_catalogue = _timed_bare(
        "SELECT p.sku, p.manufacturer, p.model_name, p.storage_gb, p.colour, p.sell_price, "
        "o.quantity - o.reserved_quantity FROM inventory_product p "
        "JOIN inventory_supplieroffer o ON o.product_id = p.id "
        "WHERE p.is_active ORDER BY p.manufacturer, p.model_name, p.id LIMIT %s", [PAGE_ROWS])
    bare_orders = _timed_bare(
        "SELECT number, status, po_reference, total, currency, created_at FROM orders_order "
        "WHERE company_id = %s ORDER BY created_at DESC, id DESC LIMIT %s",
        [company.pk, PAGE_ROWS])
    print_table(
        "Client pages (server time, in-process, signed-in client)",
        ["page", "p50", "p95", "goal"],
        [[f"catalogue, {PRODUCTS:,} SKUs, {len(CATALOGUE_QUERIES)} filter sets",
          _ms(percentile(catalogue, 0.5)), _ms(percentile(catalogue, 0.95)), "p95 < 50 ms"],
         ["  bare query + render of 50 rows", _ms(percentile(bare_catalogue, 0.5)),
          _ms(percentile(bare_catalogue, 0.95)), ""],
         [f"order list, {CLIENTS * ORDERS_PER_CLIENT:,} orders / {CLIENTS:,} clients",
          _ms(percentile(orders, 0.5)), _ms(percentile(orders, 0.95)), "p95 < 25 ms"],
         ["  bare query + render of 50 rows", _ms(percentile(bare_orders, 0.5)),
          _ms(percentile(bare_orders, 0.95)), ""]],
        [f"{REQUESTS} requests per page, filters and pages in turn, after one warm-up round",
         "server time: Django's whole request handling (middleware, view, SQL, template) "
         "through the test client, no network"])
    _remove_orders()


def _remove_orders() -> None:
    """The other benchmarks start from an empty order table: leave it so."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM orders_order WHERE company_id IN (SELECT id FROM "
                       "customers_clientcompany WHERE account_number LIKE 'BENCH-C%%')")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _timed_pages(client: Client, url: str, queries: list[dict]) -> list[float]:
    for query in queries:  # warm-up: connections, template and facet caches
        assert client.get(url, query).status_code == 200
    timings = []
    for number in range(REQUESTS):
        query = queries[number % len(queries)]
        started = time.perf_counter()
        response = client.get(url, query)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, query, response.status_code)
    return timings


def _timed_bare(sql: str, params: list) -> list[float]:
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        BARE_TEMPLATE.render(Context({"rows": rows}))
        timings.append(time.perf_counter() - started)
    return timings


def _prepare_catalogue() -> None:
    """100,000 products with offers, made in SQL; kept between runs when already there (and
    not another benchmark's catalogue of the same size)."""
    if Product.objects.count() == PRODUCTS == Product.objects.filter(
            sku__startswith="BENCH-").count():
        return
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orders_orderline SET product_id = NULL")
        cursor.execute("DELETE FROM inventory_supplieroffer")
        cursor.execute("DELETE FROM inventory_pricechange")
        cursor.execute("DELETE FROM inventory_product")
    grades = list(Grade.objects.values_list("pk", flat=True))
    carriers = list(Carrier.objects.values_list("pk", flat=True))
    warehouses = list(Warehouse.objects.values_list("pk", flat=True))
    supplier = Supplier.objects.get(slug="wesellcellular")
    names = [f"('{maker}', '{model}')" for maker, model in MODELS]
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH models(manufacturer, model_name) AS (VALUES {", ".join(names)}),
            numbered AS (SELECT row_number() OVER () - 1 AS n, * FROM models)
            INSERT INTO inventory_product (sku, manufacturer, model_name, storage_gb, colour,
                grade_id, carrier_id, warehouse_id, sell_price, currency, is_active,
                created_at, updated_at)
            SELECT 'BENCH-' || lpad(i::text, 6, '0'), m.manufacturer, m.model_name,
                   (%(storages)s::int[])[1 + i %% 4], (%(colours)s::text[])[1 + (i / 7) %% 8],
                   (%(grades)s::int[])[1 + (i / 3) %% %(grade_count)s],
                   (%(carriers)s::int[])[1 + (i / 5) %% %(carrier_count)s],
                   (%(warehouses)s::int[])[1 + (i / 11) %% %(warehouse_count)s],
                   round((80 + (i * 7919) %% 900)::numeric + 0.99, 2), 'USD', true, now(), now()
            FROM generate_series(0, %(count)s - 1) AS i
            JOIN numbered m ON m.n = i %% %(model_count)s
        """, {"storages": STORAGES, "colours": COLOURS, "grades": grades,
              "grade_count": len(grades), "carriers": carriers, "carrier_count": len(carriers),
              "warehouses": warehouses, "warehouse_count": len(warehouses), "count": PRODUCTS,
              "model_count": len(MODELS)})
        cursor.execute("""
            INSERT INTO inventory_supplieroffer (supplier_id, supplier_sku, product_id,
                manufacturer, model_name, storage_gb, colour, grade_code, carrier_code,
                warehouse_code, quantity, reserved_quantity, cost_price, currency,
                created_at, updated_at)
            SELECT %s, p.sku, p.id, p.manufacturer, p.model_name, p.storage_gb, p.colour,
                   'A', 'Unlocked', 'wsc-direct', (p.id * 31) %% 40, 0, p.sell_price * 0.9,
                   'USD', now(), now()
            FROM inventory_product p
        """, [supplier.pk])
    _vacuum("inventory_product", "inventory_supplieroffer")


def _prepare_orders() -> ClientCompany:
    """1,000 clients with 1,000 orders each, made in SQL (about half a minute)."""
    _remove_orders()
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO customers_clientcompany (name, account_number, is_active, payment_terms,
                on_hold, hold_reason, created_at, updated_at)
            SELECT 'Bench Client ' || c, 'BENCH-C' || lpad(c::text, 4, '0'), true, 'prepaid',
                   false, '', now(), now()
            FROM generate_series(1, %s) AS c
            ON CONFLICT (account_number) DO NOTHING
        """, [CLIENTS])
        statuses = ["placed", "submitted", "confirmed", "processing", "shipped", "delivered",
                    "delivered", "delivered", "cancelled"]
        cursor.execute("""
            INSERT INTO orders_order (public_id, number, company_id, status, status_changed_at,
                status_reason, stock_reserved, ship_to, shipping_method, po_reference, notes,
                payment_reference, currency, subtotal, total, cost_total, created_at,
                updated_at)
            SELECT gen_random_uuid(), 'PE-B' || lpad((c.id::bigint * %(per)s + o)::text, 9, '0'),
                   c.id, (%(statuses)s::text[])[1 + (o * 7) %% 9], now(), '', false,
                   '{"company": "Bench", "name": "Buyer", "line1": "1 Main St", "city": "Miami",
                     "postal_code": "33101", "country": "US"}'::jsonb,
                   'ground', 'PO-' || o, '', '', 'USD', 900, 900, 810,
                   now() - (o || ' minutes')::interval, now()
            FROM customers_clientcompany c, generate_series(1, %(per)s) AS o
            WHERE c.account_number LIKE 'BENCH-C%%'
        """, {"per": ORDERS_PER_CLIENT, "statuses": statuses})
    _vacuum("orders_order")
    companies = ClientCompany.objects.filter(account_number__startswith="BENCH-C")
    return random.Random(7).choice(list(companies))


def _vacuum(*tables: str) -> None:
    """Leave freshly loaded tables as a production database holds them: compact, analysed,
    and with the visibility map that lets index-only scans skip the table. Each run deletes
    and reloads a million rows; without FULL, the tables and indexes swell run after run
    (three times their size after a few), and the planner turns from the indexes to scans."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (FULL, ANALYZE) {table}")
            cursor.execute(f"VACUUM {table}")  # FULL leaves no visibility map


def _buyer(company: ClientCompany) -> User:
    email = f"buyer@{company.account_number.lower()}.bench.example"
    return User.objects.filter(email=email).first() or User.objects.create_user(
        email=email, company=company, role=User.Role.BUYER)
