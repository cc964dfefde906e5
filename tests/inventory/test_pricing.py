"""Pricing rules: which one wins, the formula and its rounding, recomputes, the admin preview,
and client price lists."""

import csv
import io
from decimal import Decimal
from unittest import mock

import pytest
from django.urls import reverse

from customers.models import PricingTier, User
from inventory import selectors, services
from inventory.models import Grade, PriceChange, PricingRule, Product, SupplierOffer, Warehouse
from inventory.pricing import ProductKey, RuleBook, apply_rule
from tests.factories import ClientCompanyFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db
COST = Decimal("412.50")


def rule(name, **fields) -> PricingRule:
    return PricingRule.objects.create(name=name, **fields)


def key(product: Product) -> ProductKey:
    return selectors.product_key(product)


@pytest.fixture
def tiers():
    return {code: PricingTier.objects.create(code=code, name=code.title())
            for code in ("gold", "silver")}


@pytest.fixture
def rules(tiers):
    """One rule at each level, all matching an Apple iPhone 13 in grade A."""
    grade_a = Grade.objects.get(code="A")
    acme = ClientCompanyFactory(name="Acme", pricing_tier=tiers["gold"])
    return {
        "global": PricingRule.objects.get(name="Standard markup"),  # 8 %, from the migration
        "apple": rule("Apple", manufacturer="Apple", markup_percent=Decimal("10")),
        "apple_a": rule("Apple grade A", manufacturer="Apple", grade=grade_a,
                        markup_percent=Decimal("9")),
        "model": rule("iPhone 13", manufacturer="Apple", model_name="iPhone 13",
                      markup_percent=Decimal("12")),
        "gold": rule("Gold tier", tier=tiers["gold"], markup_percent=Decimal("5")),
        "acme": rule("Acme deal", company=acme, markup_percent=Decimal("3")),
        "acme_company": acme,
    }


def test_the_most_specific_rule_wins(rules, tiers):
    book = RuleBook(PricingRule.objects.all())
    iphone13 = ProductKey("Apple", "iPhone 13", Grade.objects.get(code="A").pk, None)
    iphone14_a = iphone13._replace(model_name="iPhone 14")
    iphone14_b = iphone14_a._replace(grade_id=Grade.objects.get(code="B").pk)
    galaxy = ProductKey("Samsung", "Galaxy S23", iphone13.grade_id, None)
    acme = rules["acme_company"]

    assert book.rule_for(iphone13, company_id=acme.pk, tier_id=acme.pricing_tier_id) == (
        rules["acme"])
    assert book.rule_for(iphone13, company_id=0, tier_id=tiers["gold"].pk) == rules["gold"]
    assert book.rule_for(iphone13, company_id=0, tier_id=tiers["silver"].pk) == rules["model"]
    assert book.rule_for(iphone13) == rules["model"]
    assert book.rule_for(iphone14_a) == rules["apple_a"]  # two conditions beat one
    assert book.rule_for(iphone14_b) == rules["apple"]
    assert book.rule_for(galaxy) == rules["global"]
    # Manufacturer and model names match whatever the case the feed spells them in.
    assert book.rule_for(iphone13._replace(model_name="IPHONE 13")) == rules["model"]


def test_priority_decides_between_rules_as_specific_then_the_older_one(db):
    first = rule("First", markup_percent=Decimal("20"))
    PricingRule.objects.filter(name="Standard markup").update(priority=5)
    second = rule("Second", markup_percent=Decimal("30"), priority=5)
    inactive = rule("Inactive", markup_percent=Decimal("40"), priority=99, is_active=False)
    book = RuleBook(PricingRule.objects.all())
    product = ProductKey("Google", "Pixel 8", None, None)

    assert book.rule_for(product) == PricingRule.objects.get(name="Standard markup")
    PricingRule.objects.filter(name="Standard markup").update(priority=0)
    assert RuleBook(PricingRule.objects.all()).rule_for(product) == second
    assert first != second and inactive.is_active is False


@pytest.mark.parametrize("fields,price", [
    ({"markup_percent": Decimal("8")}, Decimal("445.50")),
    ({"markup_percent": Decimal("8"), "rounding": "next_99"}, Decimal("445.99")),
    ({"markup_percent": Decimal("8"), "rounding": "next_whole"}, Decimal("446.00")),
    ({"markup_percent": Decimal("7.5"), "markup_amount": Decimal("5")}, Decimal("448.44")),
    ({"markup_amount": Decimal("20"), "rounding": "next_whole"}, Decimal("433.00")),
    ({"markup_percent": Decimal("8"), "cap_price": Decimal("440"), "rounding": "next_99"},
     Decimal("440.00")),
    ({"markup_percent": Decimal("8"), "floor_price": Decimal("500"), "rounding": "next_99"},
     Decimal("500.99")),
    ({"fixed_price": Decimal("399.00"), "rounding": "next_whole"}, Decimal("399.00")),
    ({"markup_percent": Decimal("-99.99")}, Decimal("0.04")),
    ({"markup_amount": Decimal("-500")}, None),
])
def test_the_formula_then_the_rounding(fields, price):
    assert apply_rule(PricingRule(name="r", **fields), COST) == price


def test_the_next_99_of_a_price_ending_in_99_is_itself():
    assert apply_rule(PricingRule(name="r", markup_amount=Decimal("0.49"),
                                  rounding="next_99"), COST) == Decimal("412.99")


def test_explain_lists_each_step_from_cost_to_price(rules):
    product = ProductFactory(model_name="iPhone 13", offer__cost_price=COST)
    PricingRule.objects.filter(pk=rules["model"].pk).update(
        markup_amount=Decimal("2.00"), rounding="next_99")

    explanation = selectors.explain_price(product=product)

    assert explanation.rule.name == "iPhone 13"
    assert [step.amount for step in explanation.steps] == [
        COST, Decimal("462.00"), Decimal("464.00"), Decimal("464.99")]
    assert explanation.price == Decimal("464.99")
    assert selectors.explain_price(product=product, company=rules["acme_company"]).price == (
        Decimal("424.88"))


def test_client_prices_use_the_clients_rule_and_sell_price_otherwise(rules, tiers):
    product = ProductFactory(model_name="iPhone 13", sell_price=Decimal("462.00"),
                             offer__cost_price=COST)
    out_of_sale = ProductFactory(is_active=False)
    no_rules = ClientCompanyFactory()
    silver = ClientCompanyFactory(pricing_tier=tiers["silver"])
    gold = ClientCompanyFactory(pricing_tier=tiers["gold"])

    assert selectors.client_prices(company=rules["acme_company"],
                                   products=[product, out_of_sale]) == {
        product.pk: Decimal("424.88"), out_of_sale.pk: None}
    assert selectors.client_prices(company=gold, products=[product])[product.pk] == (
        Decimal("433.13"))
    assert selectors.client_prices(company=silver, products=[product])[product.pk] == (
        Decimal("462.00"))
    assert selectors.client_prices(company=no_rules, products=[product])[product.pk] == (
        Decimal("462.00"))


def test_a_rule_change_reprices_every_product_in_bulk_with_history(db):
    products = [ProductFactory(sell_price=Decimal("445.50"), offer__cost_price=COST)
                for _ in range(3)]
    other = ProductFactory(manufacturer="Samsung", sell_price=Decimal("445.50"),
                           offer__cost_price=COST)
    rule("Apple", manufacturer="Apple", markup_percent=Decimal("10"), rounding="next_99")

    counts = services.recompute_prices()

    assert counts.prices_changed == 3
    assert {product.sell_price for product in Product.objects.filter(
        pk__in=[product.pk for product in products])} == {Decimal("453.99")}
    other.refresh_from_db()
    assert other.sell_price == Decimal("445.50")
    history = PriceChange.objects.filter(reason=PriceChange.Reason.RULES)
    assert {(change.previous_sell_price, change.sell_price, change.needs_review)
            for change in history} == {(Decimal("445.50"), Decimal("453.99"), False)}
    # Nothing left to change.
    assert services.recompute_prices().prices_changed == 0


def test_rules_are_validated(db):
    company = ClientCompanyFactory()
    tier = PricingTier.objects.create(code="t", name="T")
    for fields, field in [({"company": company, "tier": tier}, "tier"),
                          ({"fixed_price": Decimal("10"), "markup_percent": Decimal("5")},
                           "fixed_price"),
                          ({}, "markup_percent"),
                          ({"floor_price": Decimal("50"), "cap_price": Decimal("40")},
                           "cap_price"),
                          ({"markup_percent": Decimal("-100")}, "markup_percent")]:
        with pytest.raises(Exception) as refusal:
            PricingRule(name="r", **fields).full_clean()
        assert field in refusal.value.message_dict


# --- Admin -----------------------------------------------------------------------------------
@pytest.fixture
def staff_client(client, db):
    client.force_login(User.objects.create_superuser(email="staff@phoneexport.example",
                                                     password="x" * 12))
    return client


def test_saving_a_rule_in_admin_reprices_once_committed(staff_client,
                                                        django_capture_on_commit_callbacks):
    with mock.patch("inventory.tasks.recompute_prices.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(reverse("admin:inventory_pricingrule_add"), {
                "name": "Samsung", "is_active": "on", "priority": "0",
                "manufacturer": "Samsung", "markup_percent": "6", "rounding": "cent"})
    assert response.status_code == 302
    assert PricingRule.objects.filter(name="Samsung").exists()
    delay.assert_called_once_with()


def test_the_admin_preview_shows_the_rule_and_each_step(staff_client, rules):
    product = ProductFactory(model_name="iPhone 13", offer__cost_price=COST)
    response = staff_client.get(reverse("admin:inventory_pricingrule_preview"),
                                {"sku": product.sku, "company": rules["acme_company"].pk})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Acme deal" in page and "Supplier cost" in page and "424.88" in page
    assert staff_client.get(reverse("admin:inventory_pricingrule_preview"),
                            {"sku": "NOPE"}).status_code == 200


# --- Price lists -----------------------------------------------------------------------------
def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.urls("tests.inventory.urls")
def test_a_client_downloads_its_price_list_of_products_in_stock(client, rules):
    in_stock = ProductFactory(model_name="iPhone 13", offer__quantity=10,
                              offer__cost_price=COST)
    SupplierOffer.objects.filter(product=in_stock).update(reserved_quantity=4)
    ProductFactory(offer__quantity=0)
    ProductFactory(offer__quantity=5, is_active=False)
    all_reserved = ProductFactory(offer__quantity=2)
    SupplierOffer.objects.filter(product=all_reserved).update(reserved_quantity=2)
    buyer = UserFactory(company=rules["acme_company"])
    buyer.refresh_from_db()  # the factory sets the password without saving it
    client.force_login(buyer)

    response = client.get(reverse("inventory:price-list"))

    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    header, *rows = csv_rows(response)
    assert header[0] == "SKU" and header[-2:] == ["Unit price", "Currency"]
    assert [(row[0], row[8], row[9], row[10]) for row in rows] == [
        (in_stock.sku, "6", "424.88", "USD")]


@pytest.mark.urls("tests.inventory.urls")
def test_a_price_list_leaves_out_what_has_no_price_for_that_client(client, rules):
    unpriced = ProductFactory(model_name="iPhone 13", offer__quantity=5, sell_price=None)
    for company, expected in ((rules["acme_company"], [unpriced.sku]),
                              (ClientCompanyFactory(), [])):
        buyer = UserFactory(company=company)
        buyer.refresh_from_db()
        client.force_login(buyer)
        assert [row[0] for row in csv_rows(client.get(reverse("inventory:price-list")))[1:]] == (
            expected)


@pytest.mark.urls("tests.inventory.urls")
def test_staff_users_have_no_price_list_of_their_own(client, db):
    client.force_login(User.objects.create_user(email="s@phoneexport.example", is_staff=True))
    assert client.get(reverse("inventory:price-list")).status_code == 403


def test_staff_download_any_clients_price_list_from_admin(staff_client, db):
    product = ProductFactory(offer__quantity=3, sell_price=Decimal("450.00"))
    company = ClientCompanyFactory()
    response = staff_client.get(reverse("admin:inventory_pricingrule_price_list"),
                                {"company": company.pk})
    assert response.status_code == 200
    assert [row[0] for row in csv_rows(response)[1:]] == [product.sku]
    assert staff_client.get(reverse("admin:inventory_pricingrule_price_list")).status_code == 200


def test_available_quantity_is_the_suppliers_less_our_unconfirmed_reservations(db):
    product = ProductFactory(offer__quantity=10)
    SupplierOffer.objects.filter(product=product).update(reserved_quantity=3)
    over = ProductFactory(offer__quantity=1)
    SupplierOffer.objects.filter(product=over).update(reserved_quantity=4)
    bare = Product.objects.create(sku="NO-OFFER", manufacturer="Apple", model_name="x",
                                  storage_gb=64, colour="Red", grade=Grade.objects.first(),
                                  carrier=product.carrier, warehouse=Warehouse.objects.first())

    assert selectors.available_quantities(products=[product, over, bare]) == {
        product.pk: 7, over.pk: 0, bare.pk: 0}
    annotated = {row.pk: row.available_quantity
                 for row in selectors.with_available_quantity(Product.objects.all())}
    assert annotated == {product.pk: 7, over.pk: 0, bare.pk: 0}
