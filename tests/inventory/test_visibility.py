"""Client tiers decide which grades and carriers a client sees; a company may override them.

The price list and the order service apply it alike (the catalogue and the API share the
same filter), and a hidden product cannot be ordered.
"""

import csv
import io

import pytest
from django.urls import reverse

from customers.models import PricingTier
from inventory.models import Carrier, Grade, Product
from inventory.visibility import visibility_for, visible_to
from orders import services
from orders.errors import InvalidOrder
from orders.services import LineRequest
from tests.factories import DEMO_SHIP_TO, ClientCompanyFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    return {
        "a_unlocked": ProductFactory(),
        "c_unlocked": ProductFactory(grade=Grade.objects.get(code="C")),
        "a_att": ProductFactory(carrier=Carrier.objects.get(code="att")),
    }


@pytest.fixture
def silver():
    tier = PricingTier.objects.create(code="silver", name="Silver")
    tier.visible_grades.set(Grade.objects.filter(code__in=["A+", "A"]))
    tier.visible_carriers.set(Carrier.objects.filter(code="unlocked"))
    return tier


def visible_skus(company) -> set[str]:
    return set(visible_to(Product.objects.all(), company=company).values_list("sku", flat=True))


def test_without_a_tier_a_client_sees_everything(catalogue):
    company = ClientCompanyFactory()
    assert visible_skus(company) == {product.sku for product in catalogue.values()}
    assert visibility_for(company=company).show_out_of_stock


def test_a_tier_hides_grades_and_carriers(catalogue, silver):
    company = ClientCompanyFactory(pricing_tier=silver)
    assert visible_skus(company) == {catalogue["a_unlocked"].sku}


def test_the_company_overrides_its_tier(catalogue, silver):
    company = ClientCompanyFactory(pricing_tier=silver, show_out_of_stock=False)
    company.visible_carriers.set(Carrier.objects.filter(code__in=["unlocked", "att"]))
    assert visible_skus(company) == {catalogue["a_unlocked"].sku, catalogue["a_att"].sku}
    assert not visibility_for(company=company).show_out_of_stock


def test_a_hidden_product_cannot_be_ordered(catalogue, silver):
    buyer = UserFactory(company=ClientCompanyFactory(pricing_tier=silver))
    with pytest.raises(InvalidOrder) as refused:
        services.place_order(company=buyer.company, user=buyer, ship_to=DEMO_SHIP_TO,
                             lines=[LineRequest(sku=catalogue["c_unlocked"].sku, quantity=1)])
    assert refused.value.details == [{"sku": catalogue["c_unlocked"].sku,
                                      "error": "Not for sale."}]


@pytest.mark.urls("tests.inventory.urls")
def test_the_price_list_leaves_out_hidden_products(client, catalogue, silver):
    buyer = UserFactory(company=ClientCompanyFactory(pricing_tier=silver))
    buyer.refresh_from_db()
    client.force_login(buyer)
    response = client.get(reverse("inventory:price-list"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[0] for row in rows[1:]] == [catalogue["a_unlocked"].sku]


def test_the_catalogue_applies_the_tier_and_its_out_of_stock_rule(catalogue, silver):
    from inventory.selectors import CatalogueFilters, catalogue_products

    sold_out = ProductFactory(offer__quantity=0)
    open_company = ClientCompanyFactory()
    listed = {row.product.sku for row in catalogue_products(
        company=open_company, filters=CatalogueFilters()).rows}
    assert sold_out.sku in listed and catalogue["c_unlocked"].sku in listed

    silver.show_out_of_stock = False
    silver.save()
    listed = {row.product.sku for row in catalogue_products(
        company=ClientCompanyFactory(pricing_tier=silver), filters=CatalogueFilters()).rows}
    assert listed == {catalogue["a_unlocked"].sku}
