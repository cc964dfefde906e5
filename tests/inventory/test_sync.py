"""Syncing the catalogue from the sandbox supplier over real HTTP: full, delta, failures,
short pages, bad items, removals held for staff, and the sync lock."""

import threading
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from inventory import selectors, services
from inventory.errors import RemovalsNotHeld, SyncInProgress
from inventory.models import PriceChange, Product, SupplierOffer, SyncLock, SyncRun
from tests.factories import UserFactory
from tests.inventory.conftest import (
    RawFeedItem, catalogue_items, full_sync, offer, serve_raw_items,
)

pytestmark = pytest.mark.django_db


def feed_state(sandbox) -> dict[str, tuple[int, Decimal]]:
    return {item.sku: (item.quantity, item.unit_price) for item in catalogue_items(sandbox)}


def stored_state() -> dict[str, tuple[int, Decimal]]:
    return {sku: (quantity, cost) for sku, quantity, cost in
            SupplierOffer.objects.values_list("supplier_sku", "quantity", "cost_price")}


# --- Full syncs ----------------------------------------------------------------------------
def test_a_fresh_full_sync_stores_every_item_as_an_offer_and_a_priced_product(sandbox,
                                                                               supplier):
    run = full_sync(supplier)

    assert run.status == SyncRun.Status.SUCCEEDED and run.kind == SyncRun.Kind.FULL
    assert (run.pages, run.items_seen, run.items_created, run.items_updated) == (8, 300, 300, 0)
    assert (run.items_rejected, run.items_out_of_stock, run.items_unmapped) == (0, 0, 0)
    assert run.finished_at >= run.started_at and run.duration.total_seconds() >= 0
    assert stored_state() == feed_state(sandbox)
    item = catalogue_items(sandbox)[0]
    product = Product.objects.select_related("grade", "carrier", "warehouse").get(sku=item.sku)
    assert (product.manufacturer, product.model_name, product.storage_gb, product.colour) == (
        item.manufacturer, item.model, item.storage_gb, item.color)
    assert (product.grade.code, product.carrier.name) == (
        {"A+": "A+", "A": "A", "B+": "B+", "B": "B", "C": "C", "D": "D"}[item.grade],
        item.carrier)
    # The default rule: 8 % on cost.
    assert product.sell_price == (item.unit_price * Decimal("1.08")).quantize(Decimal("0.01"))
    # A product's first price is no change: history starts at the first change.
    assert not PriceChange.objects.exists()


def test_a_second_sync_with_one_percent_changed_writes_only_those(sandbox, supplier):
    full_sync(supplier)
    before = {sku: updated_at for sku, updated_at in
              SupplierOffer.objects.values_list("supplier_sku", "updated_at")}
    changed = {entry["sku"] for entry in sandbox.mutate_catalogue(0.01, notify=False)}

    run = full_sync(supplier)

    assert len(changed) == 3
    assert (run.items_seen, run.items_created, run.items_updated) == (300, 0, 3)
    assert stored_state() == feed_state(sandbox)
    rewritten = {sku for sku, updated_at in
                 SupplierOffer.objects.values_list("supplier_sku", "updated_at")
                 if updated_at != before[sku]}
    assert rewritten == changed
    history = PriceChange.objects.filter(sync_run=run)
    assert {change.product.sku for change in history} == changed
    assert run.prices_changed == 3


def test_a_feed_failing_on_page_three_applies_what_was_read_and_takes_nothing_out(
        sandbox, supplier):
    full_sync(supplier)
    items = catalogue_items(sandbox)
    on_page_one, on_page_five = items[5], items[170]
    gone = items[200]
    sandbox.state.update_item(on_page_one.sku, quantity=on_page_one.quantity + 7)
    sandbox.state.update_item(on_page_five.sku, quantity=on_page_five.quantity + 7)
    sandbox.state.remove_item(gone.sku)
    sandbox.set_faults(inventory_fail_page=3)

    run = full_sync(supplier)

    assert run.status == SyncRun.Status.FAILED
    assert run.pages == 2 and "500" in run.errors[0]
    assert offer(on_page_one.sku).quantity == on_page_one.quantity  # read, so applied
    assert offer(on_page_five.sku).quantity == on_page_five.quantity - 7  # not read
    assert offer(gone.sku).quantity > 0 and run.items_out_of_stock == 0
    # The next complete feed finishes the job.
    sandbox.set_faults(inventory_fail_page=None)
    run = full_sync(supplier)
    assert run.status == SyncRun.Status.SUCCEEDED and run.items_out_of_stock == 1
    assert offer(gone.sku).quantity == 0
    assert offer(on_page_five.sku).quantity == on_page_five.quantity


def test_a_sync_stopped_by_an_error_stops_reading_the_feed(sandbox, supplier):
    def broken_batch(**_arguments):
        raise RuntimeError("the database went away")

    with mock.patch.object(services, "_apply_batch", broken_batch), \
            pytest.raises(RuntimeError):
        full_sync(supplier)

    # The pages read ahead are dropped with the thread that read them.
    for thread in threading.enumerate():
        if thread.name == "inventory-feed-reader":
            thread.join(timeout=10)
            assert not thread.is_alive()
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED and "went away" in run.errors[0]


def test_a_supplier_serving_fewer_items_per_page_than_asked_is_read_to_the_end(
        sandbox, supplier):
    sandbox.set_faults(inventory_page_cap=7)

    run = full_sync(supplier)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.pages, run.items_seen, run.items_created) == (43, 300, 300)
    assert stored_state() == feed_state(sandbox)
    # A second short-paged full feed finds nothing absent.
    run = full_sync(supplier)
    assert (run.items_updated, run.items_out_of_stock) == (0, 0)


def test_bad_items_are_rejected_with_their_reason_and_the_rest_applies(sandbox, supplier):
    good = catalogue_items(sandbox)[10].as_json()
    now = timezone.now()
    serve_raw_items(
        sandbox,
        RawFeedItem("BAD-NEGATIVE", {**good, "sku": "BAD-NEGATIVE", "quantity": -5}, now),
        RawFeedItem("BAD-PRICE", {**good, "sku": "BAD-PRICE", "unit_price": "12.3.4"}, now),
        RawFeedItem("BAD-FLOAT-PRICE", {**good, "sku": "BAD-FLOAT-PRICE", "unit_price": 9.99},
                    now),
        RawFeedItem("", {key: value for key, value in good.items() if key != "sku"}, now),
        RawFeedItem(good["sku"], {**good, "quantity": 999}, now),
        RawFeedItem("X" * 81, {**good, "sku": "X" * 81}, now),
    )

    run = full_sync(supplier)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.items_rejected == 6 and run.items_created == 300
    reasons = {rejection["sku"]: rejection["reason"] for rejection in run.rejections}
    assert "quantity" in reasons["BAD-NEGATIVE"] and "below 0" in reasons["BAD-NEGATIVE"]
    assert "unit_price" in reasons["BAD-PRICE"] and "unit_price" in reasons["BAD-FLOAT-PRICE"]
    assert "sku" in reasons[""]
    assert "twice" in reasons[good["sku"]]
    assert "longer than 80" in reasons["X" * 81]
    assert offer(good["sku"]).quantity == good["quantity"]  # the first of the two applied
    assert not SupplierOffer.objects.filter(supplier_sku__startswith="BAD-").exists()


def test_a_delta_sync_reads_the_changes_since_the_last_successful_sync(sandbox, supplier,
                                                                      settings):
    first = full_sync(supplier)
    changed = {entry["sku"] for entry in sandbox.mutate_catalogue(0.02, notify=False)}
    sandbox.set_faults(inventory_fail_page=1)
    failed = services.sync_inventory(supplier=supplier, full=False)
    sandbox.set_faults(inventory_fail_page=None)

    run = services.sync_inventory(supplier=supplier, full=False)

    overlap = timedelta(seconds=settings.INVENTORY_DELTA_OVERLAP_SECONDS)
    assert failed.status == SyncRun.Status.FAILED
    assert run.kind == SyncRun.Kind.DELTA and run.status == SyncRun.Status.SUCCEEDED
    # The failed delta did not move the baseline.
    assert run.updated_since == first.started_at - overlap
    assert run.items_seen == len(changed) == run.items_updated
    assert stored_state() == feed_state(sandbox)
    assert run.items_out_of_stock == 0
    # The next delta starts from this one.
    assert services.sync_inventory(supplier=supplier, full=False).updated_since == (
        run.started_at - overlap)


def test_a_delta_sync_without_a_previous_sync_reads_everything(sandbox, supplier):
    run = services.sync_inventory(supplier=supplier, full=False)
    assert run.kind == SyncRun.Kind.FULL and run.items_created == 300


# --- Removals --------------------------------------------------------------------------------
def test_items_that_leave_a_complete_feed_go_out_of_stock(sandbox, supplier):
    full_sync(supplier)
    gone = [item.sku for item in catalogue_items(sandbox) if item.quantity > 0][:4]
    for sku in gone:
        sandbox.state.remove_item(sku)

    run = full_sync(supplier)

    assert run.items_out_of_stock == 4 and run.removals_status == SyncRun.Removals.NONE
    assert set(SupplierOffer.objects.filter(supplier_sku__in=gone)
               .values_list("quantity", flat=True)) == {0}
    assert selectors.available_quantities(
        products=Product.objects.filter(sku__in=gone)) == dict.fromkeys(
        Product.objects.filter(sku__in=gone).values_list("pk", flat=True), 0)


def test_a_feed_that_would_empty_a_fifth_of_the_catalogue_is_held_for_staff(sandbox,
                                                                           supplier):
    full_sync(supplier)
    in_stock = [item for item in catalogue_items(sandbox) if item.quantity > 0]
    gone = [item.sku for item in in_stock[:len(in_stock) // 4]]
    for sku in gone:
        sandbox.state.remove_item(sku)
    kept = in_stock[-1]
    sandbox.state.update_item(kept.sku, quantity=kept.quantity + 3)

    run = full_sync(supplier)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.removals_status == SyncRun.Removals.HELD and run.held_removals == len(gone)
    assert run.items_out_of_stock == 0
    assert not SupplierOffer.objects.filter(supplier_sku__in=gone, quantity=0).exists()
    assert offer(kept.sku).quantity == kept.quantity  # the other changes applied

    staff = UserFactory(company=None, role="", is_staff=True)
    assert services.confirm_held_removals(run=run, user=staff) == len(gone)
    run.refresh_from_db()
    assert run.removals_status == SyncRun.Removals.CONFIRMED and run.removals_decided_by == staff
    assert run.items_out_of_stock == len(gone)
    assert set(SupplierOffer.objects.filter(supplier_sku__in=gone)
               .values_list("quantity", flat=True)) == {0}
    with pytest.raises(RemovalsNotHeld):
        services.confirm_held_removals(run=run, user=staff)


def test_held_removals_can_be_discarded_and_a_later_full_sync_supersedes_them(sandbox,
                                                                             supplier):
    full_sync(supplier)
    in_stock = [item for item in catalogue_items(sandbox) if item.quantity > 0]
    for item in in_stock[:len(in_stock) // 3]:
        sandbox.state.remove_item(item.sku)
    held = full_sync(supplier)
    staff = UserFactory(company=None, role="", is_staff=True)
    services.discard_held_removals(run=held, user=staff)
    held.refresh_from_db()
    assert held.removals_status == SyncRun.Removals.DISCARDED

    again = full_sync(supplier)
    also_held = full_sync(supplier)

    again.refresh_from_db()
    assert again.removals_status == SyncRun.Removals.SUPERSEDED
    assert also_held.removals_status == SyncRun.Removals.HELD
    with pytest.raises(RemovalsNotHeld):
        services.confirm_held_removals(run=again, user=staff)


# --- Costs and prices ----------------------------------------------------------------------
def test_a_cost_jump_beyond_the_threshold_is_flagged_for_staff(sandbox, supplier):
    full_sync(supplier)
    jumped, moved = catalogue_items(sandbox)[:2]
    old_jumped, old_moved = jumped.unit_price, moved.unit_price
    sandbox.state.update_item(jumped.sku, unit_price=(old_jumped * Decimal("1.20")).quantize(
        Decimal("0.01")))
    sandbox.state.update_item(moved.sku, unit_price=(old_moved * Decimal("1.05")).quantize(
        Decimal("0.01")))

    run = full_sync(supplier)

    assert run.cost_changes_flagged == 1
    flagged = PriceChange.objects.get(needs_review=True)
    assert flagged.product.sku == jumped.sku and flagged.sync_run == run
    assert flagged.previous_cost_price == old_jumped
    assert flagged.cost_change_percent == pytest.approx(Decimal("20"), abs=Decimal("0.1"))
    assert flagged.previous_sell_price < flagged.sell_price
    assert not PriceChange.objects.get(product__sku=moved.sku).needs_review


# --- One sync at a time ----------------------------------------------------------------------
def test_only_one_sync_runs_at_a_time(sandbox, supplier):
    refused = []

    def try_another(run):
        if run.pages == 1:
            with pytest.raises(SyncInProgress) as refusal:
                services.sync_inventory(supplier=supplier, full=False)
            refused.append(refusal.value.run_id)

    run = services.sync_inventory(supplier=supplier, full=True, on_progress=try_another)

    assert refused == [run.pk]
    assert SyncRun.objects.count() == 1
    assert SyncLock.objects.get(supplier=supplier).run is None  # released


def test_a_sync_whose_worker_died_loses_the_lock_once_it_has_been_silent(sandbox, supplier,
                                                                        settings):
    dead = full_sync(supplier)
    stale = timezone.now() - timedelta(seconds=settings.INVENTORY_SYNC_LOCK_STALE_SECONDS + 1)
    SyncRun.objects.filter(pk=dead.pk).update(status=SyncRun.Status.RUNNING, finished_at=None)
    SyncLock.objects.filter(supplier=supplier).update(run=dead, heartbeat_at=stale)

    run = full_sync(supplier)

    dead.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert dead.status == SyncRun.Status.FAILED and "Abandoned" in dead.errors[0]


def test_a_recent_lock_holder_is_not_taken_over(sandbox, supplier):
    running = full_sync(supplier)
    SyncLock.objects.filter(supplier=supplier).update(run=running, heartbeat_at=timezone.now())
    with pytest.raises(SyncInProgress):
        services.sync_inventory(supplier=supplier, full=True)
