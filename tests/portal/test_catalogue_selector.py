"""The catalogue selector: filters, search, sorting, pages, the client's prices and stock."""

from decimal import Decimal

import pytest

from customers.models import PricingTier
from inventory.models import Grade, PricingRule, SupplierOffer, Warehouse
from inventory.selectors import (
    CatalogueFilters, catalogue_facets, catalogue_products, client_price_expression, client_prices,
    products_for_sale,
)
from tests.portal.conftest import product

pytestmark = pytest.mark.django_db


def skus(company, **filters) -> list[str]:
    return [row.product.sku for row in
            catalogue_products(company=company, filters=CatalogueFilters(**filters)).rows]


@pytest.fixture
def stock(company):
    return {
        "ip13": product("IP13-BLK", model_name="iPhone 13", colour="Black", price="450.00"),
        "ip13_red": product("IP13-RED", model_name="iPhone 13", colour="Red", price="430.00",
                            grade="B", quantity=0),
        "ip14": product("IP14-BLU", model_name="iPhone 14", colour="Blue", storage_gb=256,
                        price="620.00", carrier="att"),
        "s23": product("S23-GRN", manufacturer="Samsung", model_name="Galaxy S23",
                       colour="Green", price="380.00", warehouse="partner"),
    }


def test_each_filter_narrows_the_catalogue(company, stock):
    assert skus(company) == ["IP13-BLK", "IP13-RED", "IP14-BLU", "S23-GRN"]
    assert skus(company, manufacturer="Samsung") == ["S23-GRN"]
    assert skus(company, model_name="iPhone 13") == ["IP13-BLK", "IP13-RED"]
    assert skus(company, storage_gb=256) == ["IP14-BLU"]
    assert skus(company, colour="Red") == ["IP13-RED"]
    assert skus(company, grade=Grade.objects.get(code="B")) == ["IP13-RED"]
    assert skus(company, carrier=stock["ip14"].carrier) == ["IP14-BLU"]
    assert skus(company, warehouse=Warehouse.objects.get(code="partner")) == ["S23-GRN"]
    assert skus(company, in_stock_only=True) == ["IP13-BLK", "IP14-BLU", "S23-GRN"]
    assert skus(company, manufacturer="Apple", colour="Green") == []


def test_search_matches_every_word_in_sku_model_or_colour(company, stock):
    assert skus(company, search="iphone red") == ["IP13-RED"]
    assert skus(company, search="s23-grn") == ["S23-GRN"]
    assert skus(company, search="galaxy") == ["S23-GRN"]
    assert skus(company, search="iphone galaxy") == []


def test_sort_by_price_both_ways(company, stock):
    assert skus(company, sort="price") == ["S23-GRN", "IP13-RED", "IP13-BLK", "IP14-BLU"]
    assert skus(company, sort="-price") == ["IP14-BLU", "IP13-BLK", "IP13-RED", "S23-GRN"]


def test_pages_know_whether_another_follows(company):
    for number in range(5):
        product(f"SKU-{number}")
    first = catalogue_products(company=company, filters=CatalogueFilters(page_size=2))
    last = catalogue_products(company=company, filters=CatalogueFilters(page_size=2, page=3))
    beyond = catalogue_products(company=company, filters=CatalogueFilters(page_size=2, page=9))

    assert [row.product.sku for row in first.rows] == ["SKU-0", "SKU-1"]
    assert first.has_next and not first.has_previous
    assert (first.start_index, first.end_index) == (1, 2)
    assert [row.product.sku for row in last.rows] == ["SKU-4"]
    assert not last.has_next and last.has_previous
    assert beyond.rows == [] and not beyond.has_next


@pytest.mark.parametrize("sort", ["model", "price", "-price"])
def test_pages_followed_by_their_cursor_are_the_numbered_pages(company, sort):
    for number in range(7):
        # Prices repeat, so the order within a price rests on the id.
        product(f"SKU-{number}", model_name=f"iPhone {13 + number % 3}",
                price=f"{400 + number % 2}.00")
    by_number, by_cursor, cursor = [], [], ""
    for number in range(1, 5):
        by_number.append(skus(company, sort=sort, page_size=2, page=number))
        page = catalogue_products(company=company, filters=CatalogueFilters(
            sort=sort, page_size=2, page=number, after=cursor))
        by_cursor.append([row.product.sku for row in page.rows])
        cursor = page.next_cursor

    assert by_cursor == by_number
    assert sum(by_number, []) == skus(company, sort=sort, page_size=10)
    assert cursor is None  # the fourth page is the last


def test_a_cursor_not_of_this_order_leaves_the_page_number_in_charge(company):
    for number in range(5):
        product(f"SKU-{number}", price=f"{400 + number}.00")
    by_price = catalogue_products(company=company, filters=CatalogueFilters(
        sort="price", page_size=2)).next_cursor

    for cursor in (by_price, "bm90IGEgY3Vyc29y", "%%%", "WyJtb2RlbCIsIDEsIDIsIDMsIDQsIDVd"):
        assert skus(company, page_size=2, page=2, after=cursor) == ["SKU-2", "SKU-3"]


def test_rows_show_available_units_and_leave_out_what_is_not_for_sale(company):
    reserved = product("RESERVED", quantity=10)
    SupplierOffer.objects.filter(product=reserved).update(reserved_quantity=4)
    product("INACTIVE", is_active=False)
    unpriced = product("UNPRICED")
    unpriced.sell_price = None
    unpriced.save()
    orphan = product("NO-OFFER")
    SupplierOffer.objects.filter(product=orphan).update(product=None)

    page = catalogue_products(company=company, filters=CatalogueFilters())

    assert [(row.product.sku, row.available_quantity) for row in page.rows] == [("RESERVED", 6)]


@pytest.fixture
def gold_client(company):
    gold = PricingTier.objects.create(code="gold", name="Gold")
    company.pricing_tier = gold
    company.save()
    # Gold pays cost + 2 % on Samsung, a fixed price on one iPhone model, rounded up to .99.
    PricingRule.objects.create(name="Gold Samsung", tier=gold, manufacturer="samsung",
                               markup_percent=Decimal("2"), rounding="next_99")
    PricingRule.objects.create(name="Acme iPhone 14", company=company, model_name="iPhone 14",
                               fixed_price=Decimal("99.00"))
    return company


def test_rows_carry_the_clients_own_prices(gold_client, stock):
    page = catalogue_products(company=gold_client, filters=CatalogueFilters())
    prices = {row.product.sku: row.unit_price for row in page.rows}
    expected = client_prices(company=gold_client, products=[row.product for row in page.rows])

    assert prices == {row.product.sku: expected[row.product.pk] for row in page.rows}
    assert prices["IP14-BLU"] == Decimal("99.00")
    assert prices["S23-GRN"] == Decimal("358.99")  # 351.85 × 1.02 = 358.89, up to .99
    assert prices["IP13-BLK"] == Decimal("450.00")  # no rule of its own: the sell price


def test_sorting_by_price_follows_the_clients_own_prices(gold_client, stock):
    by_price = skus(gold_client, sort="price")
    first = catalogue_products(company=gold_client,
                               filters=CatalogueFilters(sort="price", page_size=3))
    rest = skus(gold_client, sort="price", page_size=3, page=2, after=first.next_cursor)
    assert [row.product.sku for row in first.rows] + rest == by_price
    prices = client_prices(company=gold_client, products=products_for_sale())
    sku_prices = {p.sku: prices[p.pk] for p in products_for_sale()}

    assert by_price == ["IP14-BLU", "S23-GRN", "IP13-RED", "IP13-BLK"]
    assert [sku_prices[sku] for sku in by_price] == sorted(sku_prices[sku] for sku in by_price)
    assert skus(gold_client, sort="-price") == list(reversed(by_price))


@pytest.mark.parametrize("sort", ["price", "-price"])
def test_a_client_rule_on_every_product_sorts_by_its_prices(company, stock, sort):
    # Cost + 40 %, except a fixed price on Samsung: the order differs from sell_price's.
    PricingRule.objects.create(name="Acme on everything", company=company,
                               markup_percent=Decimal("40"))
    PricingRule.objects.create(name="Acme Samsung", company=company, manufacturer="Samsung",
                               fixed_price=Decimal("999.00"))
    prices = client_prices(company=company, products=products_for_sale())
    sku_prices = {p.sku: prices[p.pk] for p in products_for_sale()}

    by_price = skus(company, sort=sort)
    first = catalogue_products(company=company, filters=CatalogueFilters(sort=sort,
                                                                          page_size=2))

    assert by_price == sorted(sku_prices, key=sku_prices.get, reverse=sort == "-price")
    assert by_price[0 if sort == "-price" else -1] == "S23-GRN"
    assert [row.product.sku for row in first.rows] + skus(
        company, sort=sort, page_size=2, page=2, after=first.next_cursor) == by_price


def test_facets_list_the_values_on_sale(company, stock):
    facets = catalogue_facets()
    apple = catalogue_facets(manufacturer="Apple")

    assert facets.manufacturers == ["Apple", "Samsung"]
    assert facets.model_names == ["Galaxy S23", "iPhone 13", "iPhone 14"]
    assert apple.model_names == ["iPhone 13", "iPhone 14"]
    assert facets.storages_gb == [128, 256]
    assert facets.colours == ["Black", "Blue", "Green", "Red"]
    assert [grade.code for grade in facets.grades][:2] == ["A+", "A"]


# SQLite computes decimals in floating point, a cent off at times; PostgreSQL's numeric is
# exact, and production sorts by price there.
@pytest.mark.postgres
@pytest.mark.parametrize("formula", [
    {"markup_percent": Decimal("7.5")},
    {"markup_percent": Decimal("3"), "markup_amount": Decimal("4.20"), "rounding": "next_whole"},
    {"markup_amount": Decimal("1"), "floor_price": Decimal("400"), "cap_price": Decimal("420")},
    {"markup_percent": Decimal("12"), "cap_price": Decimal("455.50"), "rounding": "next_99"},
    {"markup_percent": Decimal("-99.99")},  # nothing above zero: not for sale
    {"fixed_price": Decimal("123.45")},
], ids=["percent", "amount-whole", "floor-cap", "cap-after-99", "unsellable", "fixed"])
def test_the_sql_price_is_the_price_clients_pay(company, formula):
    products = [product(f"COST-{index}", price=price, grade=grade) for index, (price, grade) in
                enumerate([("99.99", "A"), ("380.00", "B"), ("412.35", "A"), ("450.00", "A")])]
    PricingRule.objects.create(name="Grade A deal", company=company,
                               grade=Grade.objects.get(code="A"), **formula)
    rules = sorted(PricingRule.objects.filter(company=company), key=lambda rule: rule.pk)

    in_sql = dict(products_for_sale().annotate(price=client_price_expression(rules))
                  .values_list("pk", "price"))

    assert in_sql == client_prices(company=company, products=products)
