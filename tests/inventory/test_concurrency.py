"""A sync rewriting an offer while clients check it out: every reservation survives, and no
more units are sold than the supplier has."""

import threading
from unittest import mock

import pytest
from django.db import connection

from inventory import services
from inventory.models import SupplierOffer
from orders.errors import OutOfStock
from orders.models import OrderLine
from orders.services import LineRequest, place_order
from suppliers.models import Supplier
from tests.factories import DEMO_SHIP_TO, UserFactory
from tests.inventory.conftest import catalogue_items

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]
STOCK = 10
BUYERS = 24
SYNCS = 6


def test_a_sync_racing_checkouts_on_the_same_sku_never_oversells(sandbox):
    supplier = Supplier.objects.get(slug="wesellcellular")
    item = catalogue_items(sandbox)[0]
    first_cost = item.unit_price
    sandbox.state.update_item(item.sku, quantity=STOCK)
    services.sync_inventory(supplier=supplier, full=True)
    buyers = [UserFactory() for _ in range(BUYERS)]
    start = threading.Barrier(BUYERS + 1)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def buy(buyer) -> None:
        try:
            start.wait()
            place_order(company=buyer.company, user=buyer, ship_to=DEMO_SHIP_TO,
                        lines=[LineRequest(sku=item.sku, quantity=1)])
            outcomes.append("ordered")
        except OutOfStock:
            outcomes.append("out of stock")
        except BaseException as exc:  # collected, and the test fails on it below
            errors.append(exc)
        finally:
            connection.close()

    def sync_again_and_again() -> None:
        try:
            start.wait()
            for step in range(SYNCS):
                # A new cost each time, so every sync rewrites this offer's row.
                sandbox.state.update_item(item.sku, unit_price=first_cost + step + 1)
                services.sync_inventory(supplier=supplier, full=True)
        except BaseException as exc:  # collected, and the test fails on it below
            errors.append(exc)
        finally:
            connection.close()

    # No broker: the orders' forwarding and notification tasks are not what is tested.
    with mock.patch("celery.app.task.Task.apply_async"):
        threads = [threading.Thread(target=buy, args=(buyer,)) for buyer in buyers]
        threads.append(threading.Thread(target=sync_again_and_again))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert not errors, errors
    offer = SupplierOffer.objects.get(supplier_sku=item.sku)
    ordered = sum(OrderLine.objects.filter(sku=item.sku).values_list("quantity", flat=True))
    assert outcomes.count("ordered") == ordered == STOCK
    assert outcomes.count("out of stock") == BUYERS - STOCK
    assert offer.reserved_quantity == STOCK and offer.quantity == STOCK
    assert offer.cost_price == first_cost + SYNCS
