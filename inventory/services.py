"""Inventory and prices: the supplier's feed into offers and products, in bulk, priced by rules.

Every writer of feed data (full and delta syncs, inventory webhooks, code mappings, price
recomputes) applies its rows in batches. A batch is one short transaction that first locks the
supplier's SyncLock row, so batches never interleave; it compares its rows with the offers and
products as they stand inside that transaction and writes only what changed, column by column
(inventory.bulk). `reserved_quantity` belongs to checkouts and is never written here.

A sync run also holds the SyncLock for its whole length: one sync per supplier at a time.
"""

from __future__ import annotations

import enum
import hashlib
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from queue import Full, Queue
from typing import Any, NamedTuple

import structlog
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import User
from inventory import bulk, selectors
from inventory import tasks as inventory_tasks
from inventory.errors import RemovalsNotHeld, SyncInProgress, SyncLockLost
from inventory.models import (
    CarrierMapping, GradeMapping, PriceChange, PricingRule, Product, SupplierOffer, SyncLock,
    SyncRun, WarehouseMapping,
)
from inventory.pricing import CENT, RuleBook
from notifications import services as notifications
from suppliers.adapters import get_adapter
from suppliers.adapters.base import (
    InventoryItem, InventoryPage, RejectedInventoryItem, SupplierAdapter, SupplierError,
)
from suppliers.models import Supplier

logger = structlog.get_logger(__name__)

Mapping = GradeMapping | CarrierMapping | WarehouseMapping

# What the feed says about an offer, in the order compared and written.
OFFER_FEED_FIELDS = ("manufacturer", "model_name", "storage_gb", "colour", "grade_code",
                     "carrier_code", "warehouse_code", "quantity", "cost_price", "currency",
                     "supplier_updated_at")
_MANUFACTURER, _MODEL, _STORAGE, _COLOUR, _GRADE_CODE, _CARRIER_CODE, _WAREHOUSE_CODE = range(7)
_COST, _CURRENCY, _SUPPLIER_UPDATED_AT = 8, 9, 10
# What a product takes from its offer, the mappings and the rules.
PRODUCT_FIELDS = ("manufacturer", "model_name", "storage_gb", "colour", "grade_id",
                  "carrier_id", "warehouse_id", "currency", "sell_price")
_SELL_PRICE = 8
_STATE_FIELDS = ("id", "supplier_sku", "product_id", *OFFER_FEED_FIELDS, "feed_digest",
                 "updated_at", *(f"product__{name}" for name in PRODUCT_FIELDS))
_NEW_OFFER_FIELDS = ("supplier_id", "supplier_sku", "product_id", *OFFER_FEED_FIELDS,
                     "feed_digest", "reserved_quantity", "created_at", "updated_at")
_NEW_PRODUCT_FIELDS = ("sku", *PRODUCT_FIELDS, "is_active", "created_at", "updated_at")
_HISTORY_FIELDS = ("product_id", "recorded_at", "reason", "cost_price", "previous_cost_price",
                   "sell_price", "previous_sell_price", "cost_change_percent", "needs_review",
                   "sync_run_id")
# Run fields written at every batch, so admin shows a running sync's progress.
_PROGRESS_FIELDS = ("pages", "items_seen", "items_created", "items_updated",
                    "items_out_of_stock", "items_rejected", "items_unmapped", "products_created",
                    "prices_changed", "cost_changes_flagged", "rejections", "errors")
# What the sync's, the removals' and the checkouts' lookups filter and join on.
_LOOKUP_OFFER_FIELDS = ("supplier", "supplier_sku", "product", "quantity", "updated_at")
_LOOKUP_PRODUCT_FIELDS = ("sku", "is_active")
_MAX_INTEGER = 2_147_483_647  # PositiveIntegerField on every database
_MAX_MONEY = Decimal("9999999999.99")  # max_digits=12, decimal_places=2
_MAX_PERCENT = Decimal("9999999.99")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
# Well-formed codes met so far: a set lookup for each item instead of the pattern.
_CURRENCIES_SEEN: set[str] = set()
_LOGGED_SAMPLES = 10
_ANALYZE_AFTER_CREATED = 1000
_UNSEEN = object()
_PROGRESS_SECONDS = 5.0
_READ_AHEAD_POLL_SECONDS = 0.5


@dataclass
class BatchCounts:
    """What applying rows did; sync runs add these up."""

    items_created: int = 0
    items_updated: int = 0
    items_unmapped: int = 0
    items_superseded: int = 0  # skipped: we already hold newer news of the item
    products_created: int = 0
    products_linked: int = 0  # offers put on sale: new products and existing ones relinked
    products_unlinked: int = 0  # offers taken off sale because a code lost its mapping
    prices_changed: int = 0
    cost_changes_flagged: int = 0

    def add(self, other: BatchCounts) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


# --- Syncs -----------------------------------------------------------------------------------
def sync_inventory(*, supplier: Supplier, full: bool, since: datetime | None = None,
                   page_size: int | None = None,
                   on_progress: Callable[[SyncRun], None] | None = None) -> SyncRun:
    """Read the supplier's feed and apply it; the run records what happened.

    Full: the whole catalogue; once every page is read, offers absent from it go out of stock,
    unless that would take more than INVENTORY_MAX_REMOVAL_PERCENT of the products on sale out
    at once: then the removals wait for staff (confirm_held_removals) and the rest applies.
    Otherwise the changes since `since`, or since the last successful sync (a full sync when
    there is none). A feed that fails part-way keeps what was read, marks nothing out of stock
    and fails the run. `on_progress` is called with the run after each page. Raises
    SyncInProgress while another sync of the supplier runs.
    """
    if not full and since is None:
        since = _delta_baseline(supplier)
        full = since is None
    run = _start_run(supplier=supplier, kind=SyncRun.Kind.FULL if full else SyncRun.Kind.DELTA,
                     updated_since=None if full else since)
    reader = _FeedReader(run=run, mode=_Mode.FEED, holds_lock=True, on_progress=on_progress)

    def read() -> str | None:
        if full:
            _derive_again_if_stale(supplier_id=supplier.pk)
            reader.known = _known_offers(supplier_id=supplier.pk)
        size = page_size or settings.INVENTORY_SYNC_PAGE_SIZE
        pages = _feed_adapter(supplier).iter_inventory(updated_since=None if full else since,
                                                       page_size=size)
        # Two batches' worth of pages ahead: the feed keeps coming while a whole batch writes.
        ahead = max(2, -(-2 * settings.INVENTORY_SYNC_BATCH_SIZE // size))
        return _read_all(run=run, reader=reader, pages=_read_ahead(pages, ahead=ahead),
                         full=full)

    try:
        _conclude(run, read)
    finally:
        SyncLock.objects.filter(supplier=supplier, run=run).update(run=None)
    return run


def sync_suppliers(*, full: bool) -> list[SyncRun]:
    """Sync every active supplier that has an adapter; one already syncing is left to it."""
    runs = []
    for supplier in Supplier.objects.filter(is_active=True, slug__in=settings.SUPPLIER_ADAPTERS):
        try:
            runs.append(sync_inventory(supplier=supplier, full=full))
        except SyncInProgress as exc:
            logger.info("inventory_sync_skipped", supplier=supplier.slug, running_run=exc.run_id)
    return runs


def apply_inventory_items(*, supplier: Supplier, items: Iterable[InventoryItem],
                          rejected: Iterable[RejectedInventoryItem] = (),
                          webhook_id: str = "") -> SyncRun:
    """Apply items the supplier pushed (an `inventory.updated` webhook) at once.

    An item older than what we hold (by the supplier's `updated_at`) is skipped, so events
    arriving out of order do no harm. Bad items are rejected on the run, the rest applies.
    Runs beside a sync: the batch lock orders their writes.
    """
    run = SyncRun.objects.create(supplier=supplier, kind=SyncRun.Kind.WEBHOOK,
                                 webhook_id=webhook_id[:255], heartbeat_at=timezone.now())
    reader = _FeedReader(run=run, mode=_Mode.WEBHOOK, holds_lock=False)
    page = InventoryPage(items=tuple(items), rejected=tuple(rejected), next_cursor=None)

    def apply() -> None:
        reader.add_page(page)
        reader.flush()

    _conclude(run, apply)
    return run


def confirm_held_removals(*, run: SyncRun, user: User | None) -> int:
    """Take the offers a held full sync found absent out of stock; returns how many.

    Offers written since that sync started (a later webhook or delta saw them) stay as they are.
    """
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=run.pk)
        if run.removals_status != SyncRun.Removals.HELD:
            raise RemovalsNotHeld()
        _lock_writers(run.supplier_id)
        still_absent = []
        for chunk in bulk.chunks(run.held_offer_ids):
            still_absent += SupplierOffer.objects.filter(
                bulk.among("pk", chunk), quantity__gt=0, updated_at__lt=run.started_at
            ).values_list("pk", flat=True)
        _take_out_of_stock(offer_ids=still_absent, now=timezone.now())
        run.items_out_of_stock += len(still_absent)
        _decide_removals(run=run, status=SyncRun.Removals.CONFIRMED, user=user,
                         extra_fields=["items_out_of_stock"])
    logger.info("inventory_removals_confirmed", sync_run=run.pk, out_of_stock=len(still_absent))
    return len(still_absent)


def discard_held_removals(*, run: SyncRun, user: User | None) -> None:
    """Keep selling what a held full sync found absent (staff judged the feed broken)."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=run.pk)
        if run.removals_status != SyncRun.Removals.HELD:
            raise RemovalsNotHeld()
        _decide_removals(run=run, status=SyncRun.Removals.DISCARDED, user=user)
    logger.info("inventory_removals_discarded", sync_run=run.pk)


# --- Mappings and prices ---------------------------------------------------------------------
def apply_code_mapping(*, mapping: Mapping) -> BatchCounts:
    """Put the offers that use this supplier code on sale now (or take them off sale).

    Called when staff set or change a mapping's target: products are created (or updated to
    the new grade, carrier or warehouse) and priced at once, without waiting for a sync.
    """
    skus = list(SupplierOffer.objects.filter(
        supplier_id=mapping.supplier_id, **{mapping.offer_code_field: mapping.supplier_code}
    ).order_by().values_list("supplier_sku", flat=True))
    counts = _refresh(supplier_id=mapping.supplier_id, skus=skus,
                      reason=PriceChange.Reason.MAPPING)
    logger.info("inventory_mapping_applied", mapping=str(mapping),
                vocabulary=mapping._meta.model_name, on_sale=counts.products_linked,
                off_sale=counts.products_unlinked)
    return counts


def recompute_prices(*, supplier: Supplier | None = None) -> BatchCounts:
    """Price every product again from its offer's cost and the rules as they stand."""
    counts = BatchCounts()
    suppliers = [supplier] if supplier else Supplier.objects.all()
    for each in suppliers:
        # Taken before: a change made during the recompute leaves the version stale.
        version = derivation_version(supplier_id=each.pk)
        counts.add(_refresh(supplier_id=each.pk, skus=_all_skus(supplier_id=each.pk),
                            reason=PriceChange.Reason.RULES))
        SyncLock.objects.filter(supplier=each).update(derivation_version=version)
    logger.info("inventory_prices_recomputed", prices_changed=counts.prices_changed)
    return counts


def schedule_price_recompute() -> None:
    """Recompute prices in the worker once the current transaction (a rule change) commits."""
    transaction.on_commit(lambda: inventory_tasks.recompute_prices.delay())


def review_price_changes(*, changes: models.QuerySet[PriceChange], user: User | None) -> int:
    """Mark flagged cost changes as seen by staff."""
    return changes.filter(needs_review=True, reviewed_at__isnull=True).update(
        reviewed_at=timezone.now(), reviewed_by=user)


# --- Reading a feed --------------------------------------------------------------------------
class _Mode(enum.Enum):
    FEED = "feed"  # a sync: a page is the truth as of when it was read
    WEBHOOK = "webhook"  # pushed items: newer than what we hold only if their time says so
    REFRESH = "refresh"  # no new data: products and prices derived again from stored offers


class _Entry(NamedTuple):
    sku: str
    item: InventoryItem | None  # None when refreshing from the stored offer
    read_at: datetime


class _FeedReader:
    """Takes pages, rejects bad items, and applies valid ones in batches on the run.

    `known` (a full sync) holds each offer's digest and whether it has a product, as they
    were when the sync started: an item whose digest is the same has not changed, and costs
    no more than computing that digest.
    """

    def __init__(self, *, run: SyncRun, mode: _Mode, holds_lock: bool,
                 on_progress: Callable[[SyncRun], None] | None = None):
        self.run = run
        self.mode = mode
        self.holds_lock = holds_lock
        self.known: dict[str, tuple[int | None, bool]] | None = None
        self.on_progress = on_progress
        self.seen: set[str] = set()
        self.pending: list[_Entry] = []
        self.flushed_at = time.monotonic()

    def add_page(self, page: InventoryPage, *, read_at: datetime | None = None) -> None:
        """Take a page received at `read_at` (now when not given)."""
        run = self.run
        run.pages += 1
        run.items_seen += len(page.items) + len(page.rejected)
        read_at = read_at or timezone.now()
        for rejected in page.rejected:
            self._reject(rejected.sku, rejected.reason)
        seen, pending, known = self.seen, self.pending, self.known
        for item in page.items:
            sku = item.sku
            if known is not None and type(sku) is str and sku not in seen:
                # Unchanged since the sync started (products too: _derive_again_if_stale).
                # Equal to values stored after their checks, so not checked again.
                stored = known.get(sku)
                if stored is not None and stored[0] == _digest_or_none(item):
                    seen.add(sku)
                    run.items_unmapped += not stored[1]
                    continue
            reason = invalid_item_reason(item)
            if reason is None and sku in seen:
                reason = _("the SKU appears twice in the feed")
            if reason is not None:
                self._reject(sku if isinstance(sku, str) else "", reason)
                continue
            seen.add(sku)
            pending.append(_Entry(sku, item, read_at))
        # Progress is saved with each batch, and now and then when little changes.
        if (len(pending) >= settings.INVENTORY_SYNC_BATCH_SIZE
                or time.monotonic() - self.flushed_at >= _PROGRESS_SECONDS):
            self.flush()
        if self.on_progress:
            self.on_progress(run)

    def flush(self) -> None:
        """Apply the pending items and record the run's progress, in one transaction."""
        entries, self.pending = self.pending, []
        with transaction.atomic():
            if entries:
                self._count(_apply_batch(supplier_id=self.run.supplier_id, entries=entries,
                                         mode=self.mode, run=self.run,
                                         reason=PriceChange.Reason.FEED))
            _save_progress(self.run, holds_lock=self.holds_lock)
        self.flushed_at = time.monotonic()

    def _count(self, outcome: _BatchOutcome) -> None:
        run, counts = self.run, outcome.counts
        for name in ("items_created", "items_updated", "items_unmapped", "products_created",
                     "prices_changed", "cost_changes_flagged"):
            setattr(run, name, getattr(run, name) + getattr(counts, name))
        if counts.items_superseded:
            logger.info("inventory_items_superseded", sync_run=run.pk,
                        count=counts.items_superseded)
        for sku in outcome.sku_conflicts:
            _record_error(run, _("SKU %(sku)s: our product with this SKU is sold from another "
                                 "supplier's offer; this offer stays off sale.") % {"sku": sku})

    def _reject(self, sku: str, reason: str) -> None:
        run = self.run
        run.items_rejected += 1
        if len(run.rejections) < settings.INVENTORY_MAX_RECORDED_REJECTIONS:
            run.rejections.append({"sku": sku, "reason": reason, "page": run.pages})


# The item's texts, in this order, and the model fields that store them.
_ITEM_TEXT_FIELDS = (Product._meta.get_field("sku"), Product._meta.get_field("manufacturer"),
                     Product._meta.get_field("model_name"), Product._meta.get_field("colour"),
                     SupplierOffer._meta.get_field("grade_code"),
                     SupplierOffer._meta.get_field("carrier_code"),
                     SupplierOffer._meta.get_field("warehouse_code"))
(_SKU_MAX, _MANUFACTURER_MAX, _MODEL_MAX, _COLOUR_MAX, _GRADE_MAX, _CARRIER_MAX,
 _WAREHOUSE_MAX) = (field.max_length for field in _ITEM_TEXT_FIELDS)


def invalid_item_reason(item: InventoryItem) -> str | None:
    """Why an item cannot be stored as it is, or None; checked again whoever parsed it."""
    texts = (item.sku, item.manufacturer, item.model, item.colour, item.grade_code,
             item.carrier_code, item.warehouse_code)
    sku, manufacturer, model, colour, grade, carrier, warehouse = texts
    # Spelt out: this runs for every item of every feed. The loop says what is wrong.
    if not (type(sku) is str and type(manufacturer) is str and type(model) is str
            and type(colour) is str and type(grade) is str and type(carrier) is str
            and type(warehouse) is str
            and 0 < len(sku) <= _SKU_MAX and 0 < len(manufacturer) <= _MANUFACTURER_MAX
            and 0 < len(model) <= _MODEL_MAX and 0 < len(colour) <= _COLOUR_MAX
            and 0 < len(grade) <= _GRADE_MAX and 0 < len(carrier) <= _CARRIER_MAX
            and 0 < len(warehouse) <= _WAREHOUSE_MAX
            and not (sku.isspace() or manufacturer.isspace() or model.isspace()
                     or colour.isspace() or grade.isspace() or carrier.isspace()
                     or warehouse.isspace())):
        for value, field in zip(texts, _ITEM_TEXT_FIELDS):
            limit = field.max_length
            if type(value) is not str or not value or value.isspace():
                return (_("missing SKU") if field.name == "sku"
                        else _("missing %(field)s") % {"field": field.verbose_name})
            if len(value) > limit:
                return _("%(field)s longer than %(max)d characters") % {
                    "field": field.verbose_name, "max": limit}
    quantity, storage = item.quantity, item.storage_gb
    if type(quantity) is not int or not 0 <= quantity <= _MAX_INTEGER:
        return _("quantity %(value)r is not a whole number of 0 or more") % {"value": quantity}
    if type(storage) is not int or not 1 <= storage <= _MAX_INTEGER:
        return _("storage %(value)r is not a whole number of gigabytes") % {"value": storage}
    price = item.unit_price
    if not (type(price) is Decimal and price.is_finite() and 0 < price <= _MAX_MONEY
            and price == price.quantize(CENT)):
        return _("malformed price %(value)r") % {"value": str(price)}
    currency = item.currency
    if not (type(currency) is str and currency in _CURRENCIES_SEEN):
        if type(currency) is not str or not _CURRENCY_CODE.fullmatch(currency):
            return _("malformed currency %(value)r") % {"value": currency}
        _CURRENCIES_SEEN.add(currency)
    if not isinstance(item.updated_at, datetime) or item.updated_at.tzinfo is None:
        return _("malformed update time")
    return None


def _read_all(*, run: SyncRun, reader: _FeedReader,
              pages: Generator[tuple[InventoryPage, datetime], None, None],
              full: bool) -> str | None:
    """Apply every page; the feed's error, if it failed part-way (what was read applies)."""
    feed_error = None
    try:
        for page, read_at in pages:
            reader.add_page(page, read_at=read_at)
    except SupplierError as exc:
        feed_error = _("The feed failed after %(pages)d page(s): %(error)s") % {
            "pages": run.pages, "error": exc.message}
    finally:
        pages.close()  # stops the reading thread now, whatever stopped the sync
    reader.flush()
    if run.items_created > max(_ANALYZE_AFTER_CREATED, run.items_seen // 10):
        # The planner's statistics predate this bulk load; without them it picks slow plans.
        bulk.analyze({SupplierOffer: _LOOKUP_OFFER_FIELDS, Product: _LOOKUP_PRODUCT_FIELDS})
    if feed_error is None and full:
        _remove_absent(run=run, seen=reader.seen, known=reader.known or ())
    return feed_error


def _read_ahead(pages: Iterator[InventoryPage], *,
                ahead: int) -> Generator[tuple[InventoryPage, datetime], None, None]:
    """The feed's pages with the time each arrived, read up to `ahead` pages ahead in a thread.

    The thread only talks to the supplier, never to the database: while a batch waits for the
    database, the next pages are already on their way. A feed error is raised here after the
    pages read before it, as reading in line would.
    """
    queue: Queue[tuple[InventoryPage, datetime] | BaseException | None] = Queue(
        maxsize=ahead)
    stop = threading.Event()

    def hand_over(entry: tuple[InventoryPage, datetime] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=_READ_AHEAD_POLL_SECONDS)
                return True
            except Full:
                continue
        return False

    def read() -> None:
        try:
            for page in pages:
                if not hand_over((page, timezone.now())):
                    return
            hand_over(None)
        except BaseException as exc:  # handed over, and raised by the sync
            hand_over(exc)

    reader = threading.Thread(target=read, name="inventory-feed-reader", daemon=True)
    reader.start()
    try:
        while (entry := queue.get()) is not None:
            if isinstance(entry, BaseException):
                raise entry
            yield entry
    finally:
        stop.set()
        reader.join(timeout=_READ_AHEAD_POLL_SECONDS * 2)


def _conclude(run: SyncRun, work: Callable[[], str | None]) -> None:
    """Run `work` and record how the run ended: failed on its error or on any exception."""
    try:
        error = work()
    except BaseException as exc:
        # Recorded for staff, then raised: a bug, a database failure or an interrupted worker.
        _finish(run, error=f"{type(exc).__name__}: {exc}")
        raise
    _finish(run, error=error)


# --- Applying a batch ------------------------------------------------------------------------
class _OfferState(NamedTuple):
    id: int
    product_id: int | None
    feed: tuple  # values in OFFER_FEED_FIELDS order
    digest: int | None
    updated_at: datetime
    product: tuple | None  # values in PRODUCT_FIELDS order


class _ProductNeed(NamedTuple):
    """An offer whose codes are all mapped but which has no product yet."""

    sku: str
    offer_id: int | None  # None: the offer is new in this batch
    desired: tuple  # values in PRODUCT_FIELDS order
    cost: Decimal
    previous_cost: Decimal | None


@dataclass
class _BatchOutcome:
    counts: BatchCounts
    sku_conflicts: list[str]


def _apply_batch(*, supplier_id: int, entries: Sequence[_Entry], mode: _Mode,
                 run: SyncRun | None, reason: str) -> _BatchOutcome:
    with transaction.atomic():
        _lock_writers(supplier_id)
        plan = _BatchPlan(supplier_id=supplier_id, run=run, mode=mode, reason=reason)
        states = _offer_states(supplier_id=supplier_id, skus=[entry.sku for entry in entries])
        for entry in entries:
            plan.add(entry, states.get(entry.sku))
        plan.write()
    return _BatchOutcome(counts=plan.counts, sku_conflicts=plan.sku_conflicts)


def _lock_writers(supplier_id: int) -> None:
    """Serialise feed writers of one supplier (on SQLite, the write transaction already does)."""
    SyncLock.objects.select_for_update().get_or_create(supplier_id=supplier_id)


def _offer_states(*, supplier_id: int, skus: Sequence[str]) -> dict[str, _OfferState]:
    states = {}
    for chunk in bulk.chunks(skus):
        rows = (SupplierOffer.objects.filter(bulk.among("supplier_sku", chunk),
                                             supplier_id=supplier_id)
                .order_by().values_list(*_STATE_FIELDS))
        for row in rows:
            product_id = row[2]
            states[row[1]] = _OfferState(id=row[0], product_id=product_id, feed=row[3:14],
                                         digest=row[14], updated_at=row[15],
                                         product=row[16:] if product_id is not None else None)
    return states


class _Mappings:
    """Supplier code to our grade, carrier and warehouse ids, as they stand in the batch."""

    MODELS = (GradeMapping, CarrierMapping, WarehouseMapping)

    def __init__(self, supplier_id: int):
        self.supplier_id = supplier_id
        self.grades, self.carriers, self.warehouses = (
            dict(model.objects.filter(supplier_id=supplier_id)
                 .values_list("supplier_code", "target_id"))
            for model in self.MODELS)
        self.unseen: list[set[str]] = [set(), set(), set()]

    def targets(self, feed: tuple) -> tuple[int, int, int] | None:
        """Our (grade, carrier, warehouse) ids for the feed's codes; None if one is unmapped."""
        grade = self.grades.get(feed[_GRADE_CODE], _UNSEEN)
        carrier = self.carriers.get(feed[_CARRIER_CODE], _UNSEEN)
        warehouse = self.warehouses.get(feed[_WAREHOUSE_CODE], _UNSEEN)
        if grade is None or carrier is None or warehouse is None:
            return None
        if _UNSEEN in (grade, carrier, warehouse):
            self._note_unseen(feed)
            return None
        return grade, carrier, warehouse

    def _note_unseen(self, feed: tuple) -> None:
        for index, (known, code) in enumerate(zip(
                (self.grades, self.carriers, self.warehouses),
                (feed[_GRADE_CODE], feed[_CARRIER_CODE], feed[_WAREHOUSE_CODE]))):
            if code not in known:
                self.unseen[index].add(code)
                known[code] = None

    def save_unseen(self) -> None:
        """Record codes met for the first time, unmapped, for staff to map in admin."""
        for model, codes in zip(self.MODELS, self.unseen):
            if not codes:
                continue
            model.objects.bulk_create([model(supplier_id=self.supplier_id, supplier_code=code)
                                       for code in sorted(codes)], ignore_conflicts=True)
            logger.warning("inventory_codes_unmapped", vocabulary=model._meta.model_name,
                           codes=sorted(codes))
            listed = ", ".join(sorted(codes))
            notifications.alert_staff(
                kind=notifications.AlertKind.NEEDS_ATTENTION,
                dedup_key=f"unmapped:{model._meta.model_name}:{listed}",
                subject=_("New supplier codes to map: %(codes)s") % {"codes": listed},
                message=_("Items with these codes are stored but not on sale until the codes "
                          "are mapped in admin."))


class _BatchPlan:
    """What one batch will write, worked out row by row, then written in bulk."""

    def __init__(self, *, supplier_id: int, run: SyncRun | None, mode: _Mode, reason: str):
        self.supplier_id = supplier_id
        self.run_id = run.pk if run else None
        self.mode = mode
        self.reason = reason
        self.now = timezone.now()
        self.mappings = _Mappings(supplier_id)
        self.book: RuleBook = selectors.rule_book()
        self.threshold = settings.INVENTORY_COST_CHANGE_ALERT_PERCENT
        self.new_offers: dict[str, tuple[tuple, int]] = {}
        self.offer_changes: dict[int, dict[str, Any]] = {}
        self.product_changes: dict[int, dict[str, Any]] = {}
        self.product_needs: list[_ProductNeed] = []
        self.history: list[tuple] = []
        self.flagged: list[dict[str, Any]] = []
        self.sku_conflicts: list[str] = []
        self.counts = BatchCounts()

    # --- Working out -----------------------------------------------------------------------
    def desired_product(self, feed: tuple) -> tuple | None:
        """The product the feed's values make (PRODUCT_FIELDS order); None while unmapped."""
        targets = self.mappings.targets(feed)
        if targets is None:
            return None
        grade_id, carrier_id, warehouse_id = targets
        manufacturer, model_name = feed[_MANUFACTURER], feed[_MODEL]
        return (manufacturer, model_name, feed[_STORAGE], feed[_COLOUR], grade_id, carrier_id,
                warehouse_id, feed[_CURRENCY],
                self.book.base_price(manufacturer, model_name, grade_id, warehouse_id,
                                     feed[_COST]))

    def add(self, entry: _Entry, state: _OfferState | None) -> None:
        if self.mode is _Mode.REFRESH:
            if state is None:
                return
            feed = state.feed
        else:
            feed = _feed_values(entry.item)
            if state is not None and self._holds_newer(entry, feed, state):
                self.counts.items_superseded += 1
                return
        desired = self.desired_product(feed)
        self._plan_offer(entry.sku, feed, _digest(feed), state)
        if desired is None:
            self._plan_unmapped(state)
        elif state is None or state.product_id is None:
            self.product_needs.append(_ProductNeed(
                entry.sku, state.id if state else None, desired, feed[_COST],
                state.feed[_COST] if state else None))
        else:
            self._plan_product_change(state.product_id, state.product, desired, feed[_COST],
                                      state.feed[_COST])

    def _holds_newer(self, entry: _Entry, feed: tuple, state: _OfferState) -> bool:
        if self.mode is _Mode.WEBHOOK:
            stored = state.feed[_SUPPLIER_UPDATED_AT]
            return stored is not None and feed[_SUPPLIER_UPDATED_AT] < stored
        # Written after this page was read (a webhook in between): that news is newer.
        return state.updated_at > entry.read_at

    def _plan_offer(self, sku: str, feed: tuple, digest: int, state: _OfferState | None) -> None:
        if state is None:
            self.new_offers[sku] = (feed, digest)
            self.counts.items_created += 1
            return
        changed = {}
        if self.mode is not _Mode.REFRESH:
            changed = {name: value for name, value, old
                       in zip(OFFER_FEED_FIELDS, feed, state.feed) if value != old}
            if changed:
                self.counts.items_updated += 1
        if digest != state.digest:
            changed["feed_digest"] = digest
        if changed:
            self.offer_changes[state.id] = changed

    def _plan_unmapped(self, state: _OfferState | None) -> None:
        self.counts.items_unmapped += 1
        if state is not None and state.product_id is not None:
            self.offer_changes.setdefault(state.id, {})["product_id"] = None
            self.counts.products_unlinked += 1

    def _plan_product_change(self, product_id: int, current: tuple, desired: tuple,
                             cost: Decimal, previous_cost: Decimal | None) -> None:
        changed = {name: value for name, value, old
                   in zip(PRODUCT_FIELDS, desired, current) if value != old}
        if changed:
            self.product_changes[product_id] = changed
        sell_price, previous_sell_price = desired[_SELL_PRICE], current[_SELL_PRICE]
        if sell_price != previous_sell_price:
            self.counts.prices_changed += 1
        if sell_price != previous_sell_price or cost != previous_cost:
            self._record_price(product_id, cost=cost, previous_cost=previous_cost,
                               sell_price=sell_price, previous_sell_price=previous_sell_price)

    def _record_price(self, product_id: int, *, cost: Decimal, previous_cost: Decimal | None,
                      sell_price: Decimal | None, previous_sell_price: Decimal | None) -> None:
        percent, flagged = None, False
        if previous_cost is not None and cost != previous_cost:
            if previous_cost > 0:
                percent = ((cost - previous_cost) * 100 / previous_cost).quantize(CENT)
                percent = max(-_MAX_PERCENT, min(percent, _MAX_PERCENT))
            flagged = percent is None or abs(percent) > self.threshold
        if flagged:
            self.counts.cost_changes_flagged += 1
            self.flagged.append({"product_id": product_id, "previous_cost": str(previous_cost),
                                 "cost": str(cost), "percent": str(percent)})
        self.history.append((product_id, self.now, self.reason, cost, previous_cost,
                             sell_price, previous_sell_price, percent, flagged, self.run_id))

    # --- Writing ---------------------------------------------------------------------------
    def write(self) -> None:
        self.mappings.save_unseen()
        product_ids = self._resolve_products()
        bulk.insert_rows(SupplierOffer, _NEW_OFFER_FIELDS, [
            (self.supplier_id, sku, product_ids.get(sku), *feed, digest, 0, self.now, self.now)
            for sku, (feed, digest) in self.new_offers.items()])
        for need in self.product_needs:
            if need.offer_id is not None and need.sku in product_ids:
                self.offer_changes.setdefault(need.offer_id, {})["product_id"] = (
                    product_ids[need.sku])
        bulk.lock_rows(SupplierOffer, list(self.offer_changes))
        # Our own bookkeeping is not news from the feed: it leaves `updated_at`, which tells
        # a sync whether an offer was written after its page was read, alone.
        self._update(SupplierOffer, self.offer_changes,
                     touch=lambda change: not change.keys() <= {"product_id", "feed_digest"})
        self._update(Product, self.product_changes, touch=lambda change: True)
        bulk.insert_rows(PriceChange, _HISTORY_FIELDS, self.history)
        if self.flagged:
            logger.warning("inventory_cost_changes_flagged", count=len(self.flagged),
                           threshold_percent=str(self.threshold),
                           samples=self.flagged[:_LOGGED_SAMPLES])
            notifications.alert_staff(
                kind=notifications.AlertKind.NEEDS_ATTENTION,
                dedup_key=f"cost-changes:{uuid.uuid4()}",
                subject=_("%(count)d supplier costs moved by more than %(threshold)s %%")
                % {"count": len(self.flagged), "threshold": self.threshold},
                message="\n".join(str(sample) for sample in self.flagged[:_LOGGED_SAMPLES]))

    def _resolve_products(self) -> dict[str, int]:
        """Product ids for the offers that need one: existing products by SKU, or new ones."""
        if not self.product_needs:
            return {}
        existing: dict[str, tuple[int, int | None, tuple]] = {}
        for chunk in bulk.chunks([need.sku for need in self.product_needs]):
            for sku, product_id, offer_id, *current in (
                    Product.objects.filter(bulk.among("sku", chunk)).order_by()
                    .values_list("sku", "id", "offer__id", *PRODUCT_FIELDS)):
                existing[sku] = (product_id, offer_id, tuple(current))
        product_ids, to_create = {}, []
        for need in self.product_needs:
            if need.sku not in existing:
                to_create.append(need)
                continue
            product_id, linked_offer_id, current = existing[need.sku]
            if linked_offer_id is not None:
                self.sku_conflicts.append(need.sku)
                logger.warning("inventory_sku_taken", sku=need.sku, product_id=product_id)
                continue
            product_ids[need.sku] = product_id
            self.counts.products_linked += 1
            self._plan_product_change(product_id, current, need.desired, need.cost,
                                      need.previous_cost)
        product_ids.update(bulk.insert_rows_with_ids(Product, _NEW_PRODUCT_FIELDS, [
            (need.sku, *need.desired, True, self.now, self.now) for need in to_create],
            key="sku"))
        self.counts.products_created += len(to_create)
        self.counts.products_linked += len(to_create)
        return product_ids

    def _update(self, model: type[models.Model], changes: dict[int, dict[str, Any]],
                touch: Callable[[dict[str, Any]], bool]) -> None:
        """One UPDATE per set of changed columns: only what changed is written."""
        groups: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
        for pk, change in changes.items():
            if touch(change):
                change["updated_at"] = self.now
            names = tuple(sorted(change))
            groups[names].append((pk, *(change[name] for name in names)))
        for names, rows in groups.items():
            bulk.update_rows(model, names, rows)


def _feed_values(item: InventoryItem) -> tuple:
    # Prices in cents always, so equal prices digest alike whoever wrote them.
    return (item.manufacturer, item.model, item.storage_gb, item.colour, item.grade_code,
            item.carrier_code, item.warehouse_code, item.quantity,
            item.unit_price.quantize(CENT), item.currency, item.updated_at)


def _digest_or_none(item: InventoryItem) -> int | None:
    """The item's digest, or None when its values are too malformed to have one."""
    try:
        return _digest(_feed_values(item))
    except (AttributeError, TypeError, ValueError, ArithmeticError):
        return None


def _digest(feed: tuple) -> int:
    """A stable 64-bit hash of an offer's feed values (OFFER_FEED_FIELDS order)."""
    updated_at = feed[_SUPPLIER_UPDATED_AT]
    # A timestamp formats several times faster than a datetime.
    text = (f"{feed[0]}\x1f{feed[1]}\x1f{feed[2]}\x1f{feed[3]}\x1f{feed[4]}\x1f{feed[5]}\x1f"
            f"{feed[6]}\x1f{feed[7]}\x1f{feed[8]}\x1f{feed[9]}\x1f"
            f"{updated_at.timestamp() if updated_at else ''}")
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big",
                          signed=True)


def _known_offers(*, supplier_id: int) -> dict[str, tuple[int | None, bool]]:
    return {sku: (digest, product_id is not None) for sku, digest, product_id in
            SupplierOffer.objects.filter(supplier_id=supplier_id).order_by()
            .values_list("supplier_sku", "feed_digest", "product_id")}


def derivation_version(*, supplier_id: int) -> int:
    """A hash of what products are derived with: the supplier's mapped codes and the rules
    for clients without rules of their own. Equal versions derive equal products."""
    mapped = [sorted(model.objects.filter(supplier_id=supplier_id, target__isnull=False)
                     .values_list("supplier_code", "target_id"))
              for model in _Mappings.MODELS]
    rules = sorted(PricingRule.objects.filter(is_active=True, company__isnull=True,
                                              tier__isnull=True)
                   .values_list("pk", "manufacturer", "model_name", "grade_id",
                                "warehouse_id", "priority", "markup_percent", "markup_amount",
                                "fixed_price", "floor_price", "cap_price", "rounding"))
    text = repr((mapped, rules)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


def _derive_again_if_stale(*, supplier_id: int) -> None:
    """Derive every product again if mappings or rules changed since that was last done.

    Staff changes trigger it at once (apply_code_mapping, recompute_prices); this catches a
    recompute that never ran, so a full sync can skip unchanged items safely.
    """
    version = derivation_version(supplier_id=supplier_id)
    if SyncLock.objects.filter(supplier_id=supplier_id, derivation_version=version).exists():
        return
    _refresh(supplier_id=supplier_id, skus=_all_skus(supplier_id=supplier_id),
             reason=PriceChange.Reason.RULES)
    SyncLock.objects.filter(supplier_id=supplier_id).update(derivation_version=version)


def _all_skus(*, supplier_id: int) -> list[str]:
    return list(SupplierOffer.objects.filter(supplier_id=supplier_id).order_by("pk")
                .values_list("supplier_sku", flat=True))


def _refresh(*, supplier_id: int, skus: Sequence[str], reason: str) -> BatchCounts:
    counts = BatchCounts()
    batch_size = settings.INVENTORY_SYNC_BATCH_SIZE
    for start in range(0, len(skus), batch_size):
        now = timezone.now()
        entries = [_Entry(sku, None, now) for sku in skus[start:start + batch_size]]
        counts.add(_apply_batch(supplier_id=supplier_id, entries=entries, mode=_Mode.REFRESH,
                                run=None, reason=reason).counts)
    return counts


# --- Runs, the lock, removals ----------------------------------------------------------------
def _feed_adapter(supplier: Supplier) -> SupplierAdapter:
    route = supplier.effective_route
    # Staff placing a supplier's orders by hand does not stop us reading its feed.
    if route == Supplier.Route.MANUAL:
        route = settings.SUPPLIER_TRANSPORT
    return get_adapter(supplier.slug, route=route)


def _delta_baseline(supplier: Supplier) -> datetime | None:
    last = selectors.last_successful_sync(supplier=supplier)
    if last is None:
        return None
    # The supplier's clock and ours differ a little: read a little more than strictly new.
    return last.started_at - timedelta(seconds=settings.INVENTORY_DELTA_OVERLAP_SECONDS)


def _start_run(*, supplier: Supplier, kind: str, updated_since: datetime | None) -> SyncRun:
    """Create the run and take the supplier's sync lock, or raise SyncInProgress."""
    SyncLock.objects.get_or_create(supplier=supplier)
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.INVENTORY_SYNC_LOCK_STALE_SECONDS)
    with transaction.atomic():
        lock = SyncLock.objects.select_for_update().get(supplier=supplier)
        if lock.run_id is not None and lock.heartbeat_at and lock.heartbeat_at >= stale_before:
            raise SyncInProgress(lock.run_id)
        if lock.run_id is not None:
            # Its worker died mid-sync (no progress for a long time): the lock is free again.
            _abandon(run_id=lock.run_id, silent_since=lock.heartbeat_at, now=now)
        run = SyncRun.objects.create(
            supplier=supplier, kind=kind, updated_since=updated_since, started_at=now,
            heartbeat_at=now,
            expected_items=selectors.expected_feed_size(supplier=supplier)
            if kind == SyncRun.Kind.FULL else None)
        SyncLock.objects.filter(supplier=supplier).update(run=run, acquired_at=now,
                                                          heartbeat_at=now)
    logger.info("inventory_sync_started", supplier=supplier.slug, kind=kind, sync_run=run.pk,
                updated_since=updated_since.isoformat() if updated_since else None)
    return run


def _abandon(*, run_id: int, silent_since: datetime | None, now: datetime) -> None:
    dead = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.RUNNING).first()
    if dead is None:
        return
    dead.status, dead.finished_at = SyncRun.Status.FAILED, now
    _record_error(dead, _("Abandoned: no progress since %(time)s.") % {
        "time": silent_since.isoformat() if silent_since else "?"})
    dead.save(update_fields=["status", "finished_at", "errors"])
    logger.error("inventory_sync_abandoned", sync_run=run_id)
    notifications.alert_staff(
        kind=notifications.AlertKind.INVENTORY_SYNC_FAILURE, dedup_key=f"sync-abandoned:{run_id}",
        subject=_("Inventory sync %(run)d stopped mid-way") % {"run": run_id},
        message=_("Its worker stopped; the next sync starts afresh."))


def _save_progress(run: SyncRun, *, holds_lock: bool) -> None:
    now = timezone.now()
    if holds_lock and not SyncLock.objects.filter(supplier_id=run.supplier_id, run=run).update(
            heartbeat_at=now):
        raise SyncLockLost()
    run.heartbeat_at = now
    SyncRun.objects.filter(pk=run.pk).update(
        heartbeat_at=now, **{name: getattr(run, name) for name in _PROGRESS_FIELDS})


def _record_error(run: SyncRun, message: str) -> None:
    if len(run.errors) < settings.INVENTORY_MAX_RECORDED_REJECTIONS:
        run.errors.append(message)


def _finish(run: SyncRun, *, error: str | None) -> None:
    run.finished_at = timezone.now()
    run.status = SyncRun.Status.FAILED if error else SyncRun.Status.SUCCEEDED
    if error:
        _record_error(run, error)
    run.save(update_fields=[*_PROGRESS_FIELDS, "status", "finished_at", "heartbeat_at"])
    summary = {name: getattr(run, name) for name in _PROGRESS_FIELDS
               if name not in ("rejections", "errors")}
    duration = (run.finished_at - run.started_at).total_seconds()
    if error:
        logger.error("inventory_sync_failed", sync_run=run.pk, kind=run.kind, error=error,
                     duration_seconds=duration, **summary)
        notifications.alert_staff(
            kind=notifications.AlertKind.INVENTORY_SYNC_FAILURE, dedup_key=f"sync-failed:{run.pk}",
            subject=_("Inventory sync %(run)d failed") % {"run": run.pk}, message=error)
    else:
        logger.info("inventory_sync_finished", sync_run=run.pk, kind=run.kind,
                    duration_seconds=duration, **summary)


def _remove_absent(*, run: SyncRun, seen: set[str], known: Iterable[str]) -> None:
    """After a complete full feed: offers it did not list go out of stock, or are held.

    `known` are the SKUs of the offers at the start of the sync; an offer created since then
    came from a webhook, which is newer news than the feed.
    """
    # A complete feed: an earlier one's held absences are no longer the latest word.
    SyncRun.objects.filter(supplier_id=run.supplier_id, removals_status=SyncRun.Removals.HELD
                           ).exclude(pk=run.pk).update(removals_status=SyncRun.Removals.SUPERSEDED)
    candidates = [sku for sku in known if sku not in seen]
    if not candidates:
        return
    now = timezone.now()
    with transaction.atomic():
        _lock_writers(run.supplier_id)
        absent, absent_on_sale = [], 0
        for chunk in bulk.chunks(candidates):
            for offer_id, product_is_active in (
                    SupplierOffer.objects.filter(
                        bulk.among("supplier_sku", chunk), supplier_id=run.supplier_id,
                        quantity__gt=0,
                        # Written since this sync started (a webhook): newer than the feed.
                        updated_at__lt=run.started_at)
                    .order_by().values_list("pk", "product__is_active")):
                absent.append(offer_id)
                absent_on_sale += bool(product_is_active)
        if not absent:
            return
        on_sale = SupplierOffer.objects.filter(supplier_id=run.supplier_id, quantity__gt=0,
                                               product__is_active=True).count()
        if absent_on_sale * 100 > settings.INVENTORY_MAX_REMOVAL_PERCENT * on_sale:
            run.removals_status = SyncRun.Removals.HELD
            run.held_removals = len(absent)
            run.held_offer_ids = absent
            SyncRun.objects.filter(pk=run.pk).update(removals_status=run.removals_status,
                                                     held_removals=len(absent),
                                                     held_offer_ids=absent)
            notifications.alert_staff(
                kind=notifications.AlertKind.INVENTORY_SYNC_FAILURE,
                dedup_key=f"removals-held:{run.pk}",
                subject=_("Inventory sync %(run)d holds %(count)d removals for review")
                % {"run": run.pk, "count": len(absent)},
                message=_("The feed would take more products out of stock than allowed at "
                          "once. Confirm or discard the removals in admin."))
            logger.warning("inventory_removals_held", sync_run=run.pk, absent=len(absent),
                           absent_on_sale=absent_on_sale, on_sale=on_sale,
                           threshold_percent=str(settings.INVENTORY_MAX_REMOVAL_PERCENT))
            return
        _take_out_of_stock(offer_ids=absent, now=now)
        run.items_out_of_stock += len(absent)


def _take_out_of_stock(*, offer_ids: list[int], now: datetime) -> None:
    offer_ids = sorted(offer_ids)
    bulk.lock_rows(SupplierOffer, offer_ids)
    # No digest: the feed did not say 0, so the next full sync compares every value.
    bulk.update_rows(SupplierOffer, ("quantity", "feed_digest", "updated_at"),
                     [(offer_id, 0, None, now) for offer_id in offer_ids])


def _decide_removals(*, run: SyncRun, status: str, user: User | None,
                     extra_fields: Sequence[str] = ()) -> None:
    run.removals_status = status
    run.removals_decided_at = timezone.now()
    run.removals_decided_by = user
    run.save(update_fields=["removals_status", "removals_decided_at", "removals_decided_by",
                            *extra_fields])
