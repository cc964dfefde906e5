from decimal import Decimal

import pytest
from celery.app.task import Task
from django.core.cache import cache

from customers.models import User
from inventory.models import Carrier, Grade, Warehouse
from inventory.selectors import FACETS_CACHE_KEY
from tests.factories import (
    ClientCompanyFactory, ProductFactory, ShippingAddressFactory, UserFactory,
)


@pytest.fixture(autouse=True)
def _fresh_facets():
    # The catalogue's dropdown values are cached across requests; each test has its own products.
    cache.delete(FACETS_CACHE_KEY)


@pytest.fixture
def company(db):
    return ClientCompanyFactory(name="Acme Mobile")


@pytest.fixture
def queued_tasks(monkeypatch):
    """Tasks enqueued after commit, kept here: no worker runs, and none is left in the queue
    for a later test's worker."""
    queued = []
    monkeypatch.setattr(Task, "apply_async",
                        lambda task, args=None, kwargs=None, **options:
                        queued.append((task.name, tuple(args or ()))))
    return queued


def signed_in_user(company, role=User.Role.BUYER, **fields) -> User:
    user = UserFactory(company=company, role=role, **fields)
    user.refresh_from_db()  # the factory sets the password without saving it
    return user


@pytest.fixture
def buyer(company):
    return signed_in_user(company)


@pytest.fixture
def viewer(company):
    return signed_in_user(company, role=User.Role.VIEWER)


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer)
    return client


@pytest.fixture
def address(company):
    return ShippingAddressFactory(company=company, label="Miami warehouse", is_default=True)


def product(sku: str, *, quantity: int = 100, price: str = "450.00", **fields):
    """A product on sale with its supplier offer; `fields` override the iPhone 13 defaults."""
    for name, model in (("grade", Grade), ("carrier", Carrier), ("warehouse", Warehouse)):
        if isinstance(fields.get(name), str):
            fields[name] = model.objects.get(code=fields[name])
    return ProductFactory(sku=sku, sell_price=Decimal(price), offer__quantity=quantity,
                          offer__cost_price=Decimal(price) / Decimal("1.08"), **fields)
