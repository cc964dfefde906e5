"""Two submits of one checkout form at the same moment make one order."""

import threading

import pytest
from django.db import connection

from customers.models import User
from inventory.models import SupplierOffer
from orders import cart
from orders.models import Order
from tests.factories import DEMO_SHIP_TO, ClientCompanyFactory, ProductFactory

pytestmark = pytest.mark.postgres


def test_the_same_checkout_submitted_twice_at_once_makes_one_order(reference_data,
                                                                   queued_tasks):
    company = ClientCompanyFactory()
    buyer = User.objects.create_user(email="buyer@acme.example", company=company,
                                     role=User.Role.BUYER)
    ProductFactory(sku="IP13-BLK", offer__quantity=10)
    # Each request loads its own copy of the session, both holding the full cart.
    sessions = [{cart.SESSION_KEY: {"IP13-BLK": 4}} for _ in range(2)]
    start = threading.Barrier(2)
    orders, errors = [], []

    def submit(session):
        try:
            start.wait()
            orders.append(cart.checkout(session=session, company=company, user=buyer,
                                        ship_to=DEMO_SHIP_TO, request_key="f" * 32))
        except Exception as error:  # a thread's exception would otherwise vanish
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Order.objects.count() == 1
    assert {order.pk for order in orders} == {Order.objects.get().pk}
    assert SupplierOffer.objects.get(product__sku="IP13-BLK").reserved_quantity == 4
    assert [name for name, _args in queued_tasks].count(
        "suppliers.tasks.forward_due_supplier_orders") == 1
