"""Time a full inventory sync of a large feed against reading the feed alone and bare loads.

The bare load is the goals' yardstick, as the issue defines it: the feed's rows COPYed into a
stage and upserted (INSERT ... ON CONFLICT) into one temporary table with only a primary key.
Two more references are printed beside it: the same rows upserted into a table shaped like our
offer table (its columns, indexes and checks, logged; no foreign keys), and the rows a fresh
sync writes (products and offers) loaded bare into the real tables, foreign keys checked:
what a fresh sync cannot go below.

Writes to the configured database: meant for a scratch database (see docs/inventory.md).
"""

import csv
import io
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from inventory import selectors, services
from inventory.models import (
    CarrierMapping, GradeMapping, PriceChange, Product, SupplierOffer, SyncRun, WarehouseMapping,
)
from orders.models import OrderLine
from suppliers.adapters import get_adapter
from suppliers.adapters.base import InventoryItem
from suppliers.models import Supplier
from suppliers.sandbox import SandboxConfig, SandboxSupplier

API_KEY = "bench-inventory-api-key"
# Fresh: the sync may spend twice the bare load beyond reading the feed; 1 % changed: once.
GOALS = {"fresh": 2.0, "changed": 1.0}


class Command(BaseCommand):
    help = ("Benchmark the inventory sync: a full sync of a sandbox feed (fresh, then with a "
            "share of items changed) beside reading the feed without writing and, on "
            "PostgreSQL, a bare COPY + INSERT ... ON CONFLICT of the same rows into a table "
            "shaped like the offer table, into a temporary table, and into the real product and "
            "offer tables. Deletes the supplier's offers and products first: use a scratch "
            "database.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--skus", type=int, default=100_000)
        parser.add_argument("--page-size", type=int, default=1000)
        parser.add_argument("--changed", type=float, default=0.01,
                            help="share of items the second sync finds changed")
        parser.add_argument("--repeat", type=int, default=3, help="report the median of N runs")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--supplier", default="wesellcellular")
        parser.add_argument("--wipe", action="store_true",
                            help="required: delete the supplier's offers, products, price history "
                                 "and sync runs before each fresh sync")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["wipe"]:
            raise CommandError("This benchmark deletes the supplier's offers and products: "
                               "run it on a scratch database, with --wipe.")
        if OrderLine.objects.exists():
            raise CommandError("This database holds orders: run the benchmark on a scratch "
                               "database.")
        if not 0 < options["changed"] <= 1 or options["repeat"] < 1 or options["skus"] < 1:
            raise CommandError("--skus and --repeat must be positive, --changed in (0, 1].")
        try:
            supplier = Supplier.objects.get(slug=options["supplier"])
        except Supplier.DoesNotExist:
            raise CommandError(f"No supplier {options['supplier']!r}.") from None
        self.stdout.write(f"Database: {connection.vendor}; sandbox feed of {options['skus']:,} "
                          f"items, pages of {options['page_size']}, {options['repeat']} run(s).")
        config = SandboxConfig(api_key=API_KEY, skus=options["skus"], seed=options["seed"])
        with SandboxSupplier(config) as sandbox, override_settings(
                DEBUG=False, SUPPLIER_TRANSPORT="direct", WESELLCELLULAR_API_URL=sandbox.base_url,
                WESELLCELLULAR_API_KEY=API_KEY, INVENTORY_SYNC_PAGE_SIZE=options["page_size"]):
            timings = [self._one_round(sandbox=sandbox, supplier=supplier, options=options)
                       for _round in range(options["repeat"])]
        self._report({name: statistics.median(timing[name] for timing in timings)
                      for name in timings[0] if timings[0][name] is not None},
                     changed=options["changed"])

    def _one_round(self, *, sandbox: SandboxSupplier, supplier: Supplier,
                   options: dict[str, Any]) -> dict[str, float | None]:
        timing: dict[str, float | None] = {}
        items, timing["fetch_fresh"] = _timed(lambda: _read_feed(options["page_size"]))
        _wipe(supplier)
        timing["real_fresh"] = None
        if connection.vendor == "postgresql":
            timing["real_fresh"] = _real_load(items, supplier)
            _wipe(supplier)
        run, timing["sync_fresh"] = _timed(lambda: services.sync_inventory(supplier=supplier,
                                                                           full=True))
        self._check(run, expected_created=len(items))
        sandbox.mutate_catalogue(options["changed"], notify=False)
        _items, timing["fetch_changed"] = _timed(lambda: _read_feed(options["page_size"]))
        run, timing["sync_changed"] = _timed(lambda: services.sync_inventory(supplier=supplier,
                                                                             full=True))
        self._check(run, expected_created=0)
        timing["bare_fresh"] = timing["bare_again"] = timing["temp_fresh"] = None
        if connection.vendor == "postgresql":
            timing["bare_fresh"], timing["bare_again"] = _bare_load(items, supplier)
            timing["temp_fresh"] = _temp_table_load(items)
        self.stdout.write(f"  round: fresh sync {timing['sync_fresh']:.2f} s, changed "
                          f"{timing['sync_changed']:.2f} s ({run.items_updated:,} updated)")
        return timing

    def _check(self, run: SyncRun, *, expected_created: int) -> None:
        if run.status != SyncRun.Status.SUCCEEDED or run.items_created != expected_created:
            raise CommandError(f"Sync run {run.pk} did not do what the benchmark expects: "
                               f"{run.status}, {run.items_created} created, {run.errors[:3]}")

    def _report(self, timing: dict[str, float], *, changed: float) -> None:
        header = ("case", "sync s", "fetch s", "sync-fetch s", "bare load s", "ratio", "goal",
                  "met", "offer-shaped load s", "ratio to it", "real-table load s", "ratio to it")
        rows = []
        for case, label in (("fresh", "fresh"), ("changed", f"{changed:.0%} changed")):
            sync, fetch = timing[f"sync_{case}"], timing[f"fetch_{case}"]
            work = sync - fetch
            if timing.get("temp_fresh") is None:
                rows.append((label, f"{sync:.2f}", f"{fetch:.2f}", f"{work:.2f}", "-", "-",
                             f"<= {GOALS[case]:.1f}x", "-", "-", "-", "-", "-"))
                continue
            bare, shaped, real = timing["temp_fresh"], timing["bare_fresh"], timing["real_fresh"]
            ratio = work / bare
            rows.append((label, f"{sync:.2f}", f"{fetch:.2f}", f"{work:.2f}", f"{bare:.2f}",
                         f"{ratio:.2f}x", f"<= {GOALS[case]:.1f}x",
                         "yes" if ratio <= GOALS[case] else "no", f"{shaped:.2f}",
                         f"{work / shaped:.2f}x", f"{real:.2f}", f"{work / real:.2f}x"))
        widths = [max(len(str(row[index])) for row in (header, *rows))
                  for index in range(len(header))]
        for row in (header, tuple("-" * width for width in widths), *rows):
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
        if "bare_fresh" not in timing:
            self.stdout.write("Bare load skipped, and the temp-table and real-table loads: COPY "
                              f"needs PostgreSQL (this is {connection.vendor}).")
        else:
            self.stdout.write("Bare load: the feed's columns, COPY + INSERT ... ON CONFLICT into "
                              "one unlogged temporary table with a primary key only.")
            self.stdout.write(f"Offer-shaped load: the feed's rows as offers, COPY + INSERT ... "
                              f"ON CONFLICT into an empty table shaped like the offer table (its "
                              f"columns, indexes and checks, logged, no foreign keys); the same "
                              f"rows again (every one conflicting): {timing['bare_again']:.2f} s.")
            self.stdout.write("Real-table load: the rows a fresh sync writes, COPYed and upserted "
                              "into the empty product and offer tables, with their indexes, "
                              "constraints and foreign-key checks, no sync logic (what a fresh "
                              "sync cannot go below).")


def _timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def _read_feed(page_size: int) -> list[InventoryItem]:
    items: list[InventoryItem] = []
    for page in get_adapter("wesellcellular", route="direct").iter_inventory(page_size=page_size):
        items.extend(page.items)
    return items


def _wipe(supplier: Supplier) -> None:
    with transaction.atomic():
        product_ids = list(SupplierOffer.objects.filter(supplier=supplier, product__isnull=False)
                           .values_list("product_id", flat=True))
        PriceChange.objects.filter(product_id__in=product_ids)._raw_delete(connection.alias)
        SyncRun.objects.filter(supplier=supplier).delete()
        SupplierOffer.objects.filter(supplier=supplier)._raw_delete(connection.alias)
        Product.objects.filter(pk__in=product_ids)._raw_delete(connection.alias)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {SupplierOffer._meta.db_table}, "
                           f"{Product._meta.db_table}, {PriceChange._meta.db_table}")


_TEMP_COLUMNS = (("sku", "varchar(120)"), ("manufacturer", "varchar(80)"),
                 ("model_name", "varchar(120)"), ("storage_gb", "integer"),
                 ("colour", "varchar(60)"), ("grade_code", "varchar(80)"),
                 ("carrier_code", "varchar(80)"), ("warehouse_code", "varchar(80)"),
                 ("quantity", "integer"), ("cost_price", "numeric(12, 2)"),
                 ("currency", "varchar(3)"), ("supplier_updated_at", "timestamptz"))


def _bare_load(items: list[InventoryItem], supplier: Supplier) -> tuple[float, float]:
    """The feed's rows, as the offers a sync stores, upserted into a table shaped like the
    offer table: fresh, then again (every row conflicting). Rolled back."""
    now = timezone.now()
    offers = [[supplier.pk, item.sku, index, item.manufacturer, item.model, item.storage_gb,
               item.colour, item.grade_code, item.carrier_code, item.warehouse_code,
               item.quantity, 0, item.unit_price, item.currency, item.updated_at, None, now, now]
              for index, item in enumerate(items, start=1)]
    with transaction.atomic(), connection.cursor() as cursor:
        # LIKE copies columns, defaults, checks and indexes; not the foreign keys.
        cursor.execute(f"CREATE TABLE bench_offers (LIKE {SupplierOffer._meta.db_table} "
                       f"INCLUDING ALL)")
        try:
            _result, fresh = _timed(lambda: _upsert(cursor, "bench_offers", _REAL_OFFER_COLUMNS,
                                                    offers, key=("supplier_id", "supplier_sku")))
            _result, again = _timed(lambda: _upsert(cursor, "bench_offers", _REAL_OFFER_COLUMNS,
                                                    offers, key=("supplier_id", "supplier_sku")))
        finally:
            transaction.set_rollback(True)
    return fresh, again


def _temp_table_load(items: list[InventoryItem]) -> float:
    """COPY the feed's columns into a stage, then upsert them into a temporary table keyed by
    SKU, with no other index."""
    rows = [(item.sku, item.manufacturer, item.model, item.storage_gb, item.colour,
             item.grade_code, item.carrier_code, item.warehouse_code, item.quantity,
             item.unit_price, item.currency, item.updated_at) for item in items]
    columns = ", ".join(f"{name} {kind}" for name, kind in _TEMP_COLUMNS)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name, _kind in _TEMP_COLUMNS[1:])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE bench_offers ({columns}, "
                       f"PRIMARY KEY (sku)) ON COMMIT DROP")

        def load() -> None:
            cursor.execute(f"CREATE TEMPORARY TABLE bench_stage ({columns}) ON COMMIT DROP")
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            buffer.seek(0)
            cursor.copy_expert("COPY bench_stage FROM STDIN WITH (FORMAT csv)", buffer)
            cursor.execute(f"INSERT INTO bench_offers SELECT * FROM bench_stage "
                           f"ON CONFLICT (sku) DO UPDATE SET {updates}")
            cursor.execute("DROP TABLE bench_stage")

        _result, seconds = _timed(load)
    return seconds


_REAL_PRODUCT_COLUMNS = ("id", "sku", "manufacturer", "model_name", "storage_gb", "colour",
                         "grade_id", "carrier_id", "warehouse_id", "currency", "sell_price",
                         "is_active", "created_at", "updated_at")
_REAL_OFFER_COLUMNS = ("supplier_id", "supplier_sku", "product_id", "manufacturer", "model_name",
                       "storage_gb", "colour", "grade_code", "carrier_code", "warehouse_code",
                       "quantity", "reserved_quantity", "cost_price", "currency",
                       "supplier_updated_at", "feed_digest", "created_at", "updated_at")


def _real_load(items: list[InventoryItem], supplier: Supplier) -> float:
    """COPY + INSERT ... ON CONFLICT of the rows a fresh sync writes, into the real tables.

    Products and offers as the sync makes them (mapped ids, priced), loaded with no sync logic;
    the deferred foreign keys are checked inside the timing, then everything is rolled back.
    """
    grades, carriers, warehouses = (
        dict(model.objects.filter(supplier=supplier).values_list("supplier_code", "target_id"))
        for model in (GradeMapping, CarrierMapping, WarehouseMapping))
    book = selectors.rule_book()
    now = timezone.now()
    products, offers = [], []
    for item in items:
        grade, carrier = grades[item.grade_code], carriers[item.carrier_code]
        warehouse = warehouses[item.warehouse_code]
        products.append([None, item.sku, item.manufacturer, item.model, item.storage_gb,
                         item.colour, grade, carrier, warehouse, item.currency,
                         book.base_price(item.manufacturer, item.model, grade, warehouse,
                                         item.unit_price), True, now, now])
        offers.append([supplier.pk, item.sku, None, item.manufacturer, item.model,
                       item.storage_gb, item.colour, item.grade_code, item.carrier_code,
                       item.warehouse_code, item.quantity, 0, item.unit_price, item.currency,
                       item.updated_at, None, now, now])
    product_table, offer_table = Product._meta.db_table, SupplierOffer._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        def load() -> None:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [product_table])
            cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                           [cursor.fetchone()[0], len(products)])
            for product, offer, (product_id,) in zip(products, offers, cursor.fetchall()):
                product[0] = offer[2] = product_id
            _upsert(cursor, product_table, _REAL_PRODUCT_COLUMNS, products, key=("sku",))
            _upsert(cursor, offer_table, _REAL_OFFER_COLUMNS, offers,
                    key=("supplier_id", "supplier_sku"))
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

        _result, seconds = _timed(load)
        transaction.set_rollback(True)
    return seconds


def _upsert(cursor, table: str, columns: Sequence[str], rows: list[list], *,
            key: Sequence[str]) -> None:
    cursor.execute(f"CREATE TEMPORARY TABLE stage ON COMMIT DROP AS "
                   f"SELECT {', '.join(columns)} FROM {table} WITH NO DATA")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    cursor.copy_expert("COPY stage FROM STDIN WITH (FORMAT csv)", buffer)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in columns if name not in key)
    cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM stage "
                   f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")
    cursor.execute("DROP TABLE stage")
