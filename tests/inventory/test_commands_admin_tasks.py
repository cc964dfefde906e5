"""The sync as staff and operators reach it: the command, beat's tasks and admin."""

import io
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customers.models import User
from inventory import tasks
from inventory.models import (
    GradeMapping, PricingRule, Product, SupplierOffer, SyncLock, SyncRun,
)
from tests.inventory.conftest import catalogue_items, full_sync

pytestmark = pytest.mark.django_db


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# --- manage.py sync_inventory ----------------------------------------------------------------
def test_the_command_syncs_and_prints_the_counts(sandbox, supplier):
    out = io.StringIO()
    call_command("sync_inventory", "--full", stdout=out)
    text = out.getvalue()
    run = SyncRun.objects.get()
    assert run.kind == SyncRun.Kind.FULL and run.status == SyncRun.Status.SUCCEEDED
    assert f"sync run {run.pk} (Full): Succeeded" in text
    assert "items seen" in text and "      300" in text and "items created" in text


def test_the_command_draws_a_progress_bar_on_a_terminal(sandbox, supplier):
    full_sync(supplier)  # so the next one knows how many items to expect
    out = Terminal()
    call_command("sync_inventory", "--full", stdout=out)
    assert "\r[" in out.getvalue() and "100%" in out.getvalue()
    assert "page 8: 300 items" in out.getvalue()


def test_the_command_reads_changes_since_a_given_time(sandbox, supplier):
    full_sync(supplier)
    sandbox.mutate_catalogue(0.01, notify=False)
    since = timezone.now() - timedelta(minutes=10)
    call_command("sync_inventory", "--since", since.isoformat(), stdout=io.StringIO())
    run = SyncRun.objects.latest("started_at")
    assert run.kind == SyncRun.Kind.DELTA and run.updated_since == since
    assert run.items_seen == run.items_updated == 3


def test_the_command_fails_loudly_when_the_sync_fails(sandbox, supplier):
    sandbox.set_faults(inventory_fail_page=2)
    out = io.StringIO()
    with pytest.raises(CommandError, match="failed"):
        call_command("sync_inventory", "--full", stdout=out)
    assert "The feed failed after 1 page(s)" in out.getvalue()


def test_the_command_refuses_contradictions_and_a_busy_supplier(sandbox, supplier):
    with pytest.raises(CommandError, match="--since"):
        call_command("sync_inventory", "--full", "--since", "2026-11-24T00:00:00Z")
    running = full_sync(supplier)
    SyncLock.objects.filter(supplier=supplier).update(run=running, heartbeat_at=timezone.now())
    with pytest.raises(CommandError, match="running"):
        call_command("sync_inventory", stdout=io.StringIO())


# --- manage.py bench_inventory_sync --------------------------------------------------------------
def bench(*extra: str) -> str:
    out = io.StringIO()
    call_command("bench_inventory_sync", "--wipe", "--skus", "250", "--page-size", "100",
                 "--repeat", "1", *extra, stdout=out)
    return out.getvalue()


def test_the_benchmark_needs_its_wipe_flag(db):
    with pytest.raises(CommandError, match="--wipe"):
        call_command("bench_inventory_sync")


@pytest.mark.django_db(transaction=True)  # VACUUM needs autocommit
@pytest.mark.usefixtures("reference_data")
def test_the_benchmark_prints_fresh_and_changed_syncs_beside_the_fetch():
    text = bench()
    assert "fresh" in text and "1% changed" in text and "fetch s" in text
    # The bare load is PostgreSQL's COPY; elsewhere the table says it was skipped.
    assert ("Bare load skipped" in text) == (connection.vendor != "postgresql")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # VACUUM needs autocommit
@pytest.mark.usefixtures("reference_data")
def test_the_benchmark_compares_the_sync_with_a_bare_load_on_postgresql():
    text = bench()
    assert "bare load s" in text and "every one conflicting" in text
    assert "real-table load s" in text and "ratio to it" in text
    assert "offer-shaped load s" in text and "temporary table" in text
    assert SupplierOffer.objects.count() == 250


# --- Beat's tasks ----------------------------------------------------------------------------
def test_beat_runs_a_delta_sync_every_few_minutes_and_a_full_sync_hourly():
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["inventory-delta-sync"]["task"] == "inventory.tasks.sync_inventory_delta"
    assert schedule["inventory-full-sync"]["task"] == "inventory.tasks.sync_inventory_full"
    assert schedule["inventory-delta-sync"]["schedule"] <= timedelta(minutes=10)
    assert schedule["inventory-full-sync"]["schedule"] == timedelta(hours=1)


def test_the_tasks_sync_every_supplier_and_skip_one_already_syncing(sandbox, supplier):
    tasks.sync_inventory_delta()  # nothing synced yet: a full sync
    tasks.sync_inventory_full()
    assert list(SyncRun.objects.order_by("pk").values_list("kind", flat=True)) == [
        SyncRun.Kind.FULL, SyncRun.Kind.FULL]
    running = SyncRun.objects.first()
    SyncLock.objects.filter(supplier=supplier).update(run=running, heartbeat_at=timezone.now())
    tasks.sync_inventory_delta()
    assert SyncRun.objects.count() == 2


def test_the_recompute_task_prices_products_again(sandbox, supplier):
    full_sync(supplier)
    Product.objects.update(sell_price=None)
    tasks.recompute_prices()
    assert not Product.objects.filter(sell_price__isnull=True).exists()


def test_a_full_sync_derives_products_again_when_a_recompute_was_lost(sandbox, supplier):
    full_sync(supplier)
    # A rule changed and its recompute never ran: the stored version no longer matches.
    PricingRule.objects.filter(name="Standard markup").update(markup_percent=10)
    run = full_sync(supplier)
    item = catalogue_items(sandbox)[0]
    assert run.items_updated == 0
    assert Product.objects.get(sku=item.sku).sell_price == round(item.unit_price * 110 / 100, 2)


# --- Admin -----------------------------------------------------------------------------------
@pytest.fixture
def staff_client(client, db):
    client.force_login(User.objects.create_superuser(email="staff@phoneexport.example",
                                                     password="x" * 12))
    return client


def test_admin_shows_a_running_sync_with_its_progress(staff_client, supplier):
    run = SyncRun.objects.create(supplier=supplier, kind=SyncRun.Kind.FULL, pages=12,
                                 items_seen=6000, expected_items=24000,
                                 heartbeat_at=timezone.now())
    changelist = staff_client.get(reverse("admin:inventory_syncrun_changelist"))
    page = staff_client.get(reverse("admin:inventory_syncrun_change", args=[run.pk]))
    assert "page 12, 6000 items of about 24000 (25 %)" in changelist.content.decode()
    assert 'http-equiv="refresh"' in page.content.decode()


def test_staff_confirm_held_removals_from_admin(staff_client, sandbox, supplier):
    full_sync(supplier)
    in_stock = [item for item in catalogue_items(sandbox) if item.quantity > 0]
    gone = [item.sku for item in in_stock[:len(in_stock) // 2]]
    for sku in gone:
        sandbox.state.remove_item(sku)
    held = full_sync(supplier)
    assert held.removals_status == SyncRun.Removals.HELD
    detail = staff_client.get(reverse("admin:inventory_syncrun_change", args=[held.pk]))
    assert sum(sku in detail.content.decode() for sku in gone) == 20  # a sample of them

    response = staff_client.post(reverse("admin:inventory_syncrun_changelist"), {
        "action": "confirm_removals", "_selected_action": [held.pk]}, follow=True)

    assert response.status_code == 200
    held.refresh_from_db()
    assert held.removals_status == SyncRun.Removals.CONFIRMED
    assert not SupplierOffer.objects.filter(supplier_sku__in=gone, quantity__gt=0).exists()


def test_staff_map_codes_from_the_mapping_list(staff_client, start_sandbox, supplier):
    start_sandbox(unusual_grades=True)
    full_sync(supplier)
    waiting = GradeMapping.objects.get(supplier_code="Functional")
    listing = staff_client.get(reverse("admin:inventory_grademapping_changelist"),
                               {"mapped": "no"})
    assert "Functional" in listing.content.decode()
    mappings = list(GradeMapping.objects.order_by("supplier", "supplier_code"))
    form = {"form-TOTAL_FORMS": len(mappings), "form-INITIAL_FORMS": len(mappings),
            "_save": "Save"}
    for index, mapping in enumerate(mappings):
        form[f"form-{index}-id"] = mapping.pk
        form[f"form-{index}-target"] = (
            GradeMapping.objects.get(supplier_code="D").target_id if mapping == waiting
            else mapping.target_id or "")

    response = staff_client.post(reverse("admin:inventory_grademapping_changelist"), form)

    assert response.status_code == 302
    functional = SupplierOffer.objects.filter(grade_code="Functional")
    assert functional.exists() and not functional.filter(product__isnull=True).exists()


def test_admin_pages_render_with_synced_data(staff_client, start_sandbox, supplier):
    sandbox = start_sandbox(unusual_grades=True)
    full_sync(supplier)
    item = catalogue_items(sandbox)[0]
    sandbox.state.update_item(item.sku, unit_price=item.unit_price * 2)
    full_sync(supplier)
    product = Product.objects.get(sku=item.sku)
    pages = [reverse("admin:inventory_product_change", args=[product.pk]),
             reverse("admin:inventory_supplieroffer_change", args=[product.offer.pk]),
             reverse("admin:inventory_pricechange_changelist") + "?review=needed",
             reverse("admin:inventory_pricingrule_changelist"),
             reverse("admin:inventory_pricingrule_preview") + f"?sku={item.sku}",
             reverse("admin:inventory_supplieroffer_changelist") + "?held_back=yes",
             reverse("admin:inventory_product_changelist") + "?o=10"]
    for url in pages:
        response = staff_client.get(url)
        assert response.status_code == 200, url
    assert "How this price is made" in staff_client.get(pages[0]).content.decode()
    assert item.sku in staff_client.get(pages[2]).content.decode()
