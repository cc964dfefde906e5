"""Inventory webhooks applied through the sync service, and supplier codes waiting for a
mapping: stored, not sold, listed for staff, on sale as soon as they are mapped."""

import dataclasses
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import User
from inventory import selectors, services
from inventory.models import (
    CarrierMapping, Grade, GradeMapping, PriceChange, Product, SupplierOffer, SyncRun,
)
from orders.errors import InvalidOrder
from orders.services import LineRequest, place_order
from suppliers.adapters import get_adapter
from tests.factories import DEMO_SHIP_TO, UserFactory
from tests.inventory.conftest import catalogue_items, full_sync, offer

pytestmark = pytest.mark.django_db


def received_events(sandbox, inbox):
    """The supplier's inventory webhooks as the webhook endpoint would see them."""
    assert sandbox.wait_for_webhooks(10)
    adapter = get_adapter("wesellcellular", route="direct")
    events = []
    for headers, body in inbox.received:
        adapter.verify_webhook(body=body, headers=headers)
        events.append(adapter.parse_webhook(body=body, headers=headers))
    return events


# --- Webhooks --------------------------------------------------------------------------------
def test_an_inventory_webhook_applies_at_once(start_sandbox, webhook_inbox, supplier):
    sandbox = start_sandbox(webhook_url=webhook_inbox.url)
    full_sync(supplier)
    changed = {entry["sku"]: entry for entry in sandbox.mutate_catalogue(0.02, notify=True)}

    runs = [services.apply_inventory_items(supplier=supplier, items=event.inventory_items,
                                           rejected=event.rejected_items,
                                           webhook_id=event.webhook_id)
            for event in received_events(sandbox, webhook_inbox)]

    assert [run.kind for run in runs] == [SyncRun.Kind.WEBHOOK]
    run = runs[0]
    assert run.status == SyncRun.Status.SUCCEEDED and run.webhook_id
    assert (run.items_seen, run.items_updated, run.items_created) == (6, 6, 0)
    for sku, entry in changed.items():
        stored = offer(sku)
        assert (stored.quantity, stored.cost_price) == (entry["quantity"],
                                                        Decimal(entry["unit_price"]))
    assert PriceChange.objects.filter(sync_run=run).count() == 6


def test_an_older_webhook_arriving_late_changes_nothing(start_sandbox, webhook_inbox,
                                                        supplier):
    sandbox = start_sandbox(webhook_url=webhook_inbox.url)
    full_sync(supplier)
    sandbox.mutate_catalogue(0.01, notify=True)
    [event] = received_events(sandbox, webhook_inbox)
    newest = event.inventory_items[0]
    older = dataclasses.replace(newest, quantity=newest.quantity + 50,
                                updated_at=newest.updated_at - timedelta(minutes=5))

    services.apply_inventory_items(supplier=supplier, items=[newest])
    late = services.apply_inventory_items(supplier=supplier, items=[older])

    assert offer(newest.sku).quantity == newest.quantity
    assert (late.items_updated, late.status) == (0, SyncRun.Status.SUCCEEDED)


def test_a_webhook_with_bad_items_rejects_them_and_applies_the_rest(sandbox, supplier):
    full_sync(supplier)
    good = catalogue_items(sandbox)[3]
    adapter = get_adapter("wesellcellular", route="direct")
    body = {"type": "inventory.updated", "timestamp": "2026-11-24T16:00:00Z", "data": {"items": [
        {**good.as_json(), "quantity": good.quantity + 1},
        {**good.as_json(), "sku": "NEG", "quantity": -1},
        {**good.as_json(), "sku": "PRICE", "unit_price": "free"},
        {key: value for key, value in good.as_json().items() if key != "sku"},
    ]}}
    event = adapter.parse_webhook(body=json.dumps(body).encode(), headers={"webhook-id": "w1"})

    run = services.apply_inventory_items(supplier=supplier, items=event.inventory_items,
                                         rejected=event.rejected_items, webhook_id="w1")

    assert (run.items_seen, run.items_rejected, run.items_updated) == (4, 3, 1)
    assert offer(good.sku).quantity == good.quantity + 1
    assert {rejection["sku"] for rejection in run.rejections} == {"NEG", "PRICE", ""}


# --- Codes not mapped yet ------------------------------------------------------------------
@pytest.fixture
def unusual(start_sandbox, supplier):
    """A feed with the supplier's rare grades AB and Functional, synced once."""
    sandbox = start_sandbox(unusual_grades=True)
    run = full_sync(supplier)
    held = [item.sku for item in catalogue_items(sandbox) if item.grade == "AB"]
    return sandbox, run, held


def test_an_unmapped_grade_is_stored_not_sold_and_listed_for_staff(unusual, supplier):
    sandbox, run, held = unusual
    rare = [item for item in catalogue_items(sandbox) if item.grade in {"AB", "Functional"}]

    assert held and run.items_unmapped == len(rare) == 9
    assert run.items_created == 300 and run.products_created == 300 - len(rare)
    assert set(GradeMapping.objects.filter(target__isnull=True)
               .values_list("supplier_code", flat=True)) == {"AB", "Functional"}
    waiting = {mapping.supplier_code: mapping.waiting_offers
               for mapping in selectors.with_waiting_offers(GradeMapping.objects.all())}
    assert waiting["AB"] == len(held) and waiting["A"] == 0
    assert not Product.objects.filter(sku__in=held).exists()
    assert SupplierOffer.objects.filter(supplier_sku__in=held, product__isnull=True).count() == (
        len(held))
    buyer = UserFactory()
    with pytest.raises(InvalidOrder):
        place_order(company=buyer.company, user=buyer, ship_to=DEMO_SHIP_TO,
                    lines=[LineRequest(sku=held[0], quantity=1)])
    # A second sync keeps them held back, and counts them again.
    assert full_sync(supplier).items_unmapped == len(rare)


def test_mapping_a_grade_in_admin_puts_its_offers_on_sale_at_once(unusual, supplier, client):
    sandbox, _run, held = unusual
    staff = User.objects.create_superuser(email="staff@phoneexport.example", password="x" * 12)
    client.force_login(staff)
    mapping = GradeMapping.objects.get(supplier_code="AB")
    grade_b = Grade.objects.get(code="B")

    response = client.post(reverse("admin:inventory_grademapping_change", args=[mapping.pk]),
                           {"supplier": supplier.pk, "supplier_code": "AB",
                            "target": grade_b.pk})

    assert response.status_code == 302
    products = Product.objects.filter(sku__in=held)
    assert products.count() == len(held)
    assert {product.grade_id for product in products} == {grade_b.pk}
    assert all(product.sell_price for product in products)
    assert not SupplierOffer.objects.filter(supplier_sku__in=held, product__isnull=True).exists()
    # In stock ones can be bought straight away.
    in_stock = next(sku for sku in held if offer(sku).quantity > 0)
    buyer = UserFactory()
    order = place_order(company=buyer.company, user=buyer, ship_to=DEMO_SHIP_TO,
                        lines=[LineRequest(sku=in_stock, quantity=1)])
    assert order.lines.get().sku == in_stock
    # The next sync finds nothing more to do for them.
    run = full_sync(supplier)
    assert (run.items_updated, run.products_created, run.items_unmapped) == (0, 0, 9 - len(held))


def test_changing_or_clearing_a_mapping_moves_or_withdraws_its_products(unusual, supplier):
    _sandbox, _run, held = unusual
    mapping = GradeMapping.objects.get(supplier_code="AB")
    mapping.target = Grade.objects.get(code="B")
    mapping.save()
    assert services.apply_code_mapping(mapping=mapping).products_created == len(held)

    mapping.target = Grade.objects.get(code="C")
    mapping.save()
    services.apply_code_mapping(mapping=mapping)
    assert set(Product.objects.filter(sku__in=held).values_list("grade__code", flat=True)) == {
        "C"}

    mapping.target = None
    mapping.save()
    counts = services.apply_code_mapping(mapping=mapping)
    assert counts.products_unlinked == len(held)
    assert SupplierOffer.objects.filter(supplier_sku__in=held, product__isnull=True).count() == (
        len(held))
    assert all(price is None for price in selectors.client_prices(
        company=UserFactory().company, products=Product.objects.filter(sku__in=held)).values())

    # Mapped again: the same products come back, not new ones.
    mapping.target = Grade.objects.get(code="B")
    mapping.save()
    counts = services.apply_code_mapping(mapping=mapping)
    assert (counts.products_created, counts.products_linked) == (0, len(held))


def test_a_code_never_seen_before_gets_a_mapping_row_to_fill_in(sandbox, supplier):
    item = catalogue_items(sandbox)[0]
    item.carrier = "Cricket"
    item.updated_at = item.updated_at + timedelta(seconds=1)

    run = full_sync(supplier)

    assert run.items_unmapped == 1
    assert offer(item.sku).product is None and offer(item.sku).carrier_code == "Cricket"
    assert CarrierMapping.objects.get(supplier_code="Cricket").target is None


def test_a_run_sums_up_its_problems_for_the_webhook_record(supplier):
    run = SyncRun.objects.create(supplier=supplier, kind=SyncRun.Kind.WEBHOOK,
                                 errors=["The feed failed."], items_rejected=3,
                                 rejections=[{"sku": "", "reason": "missing SKU", "page": 1}])
    assert run.error_summary() == "The feed failed.\n?: missing SKU\nand 2 more rejected items"
    assert SyncRun(supplier=supplier, kind=SyncRun.Kind.WEBHOOK).error_summary() == ""
