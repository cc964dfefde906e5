"""Reads of stock and prices, for the order service, the catalogue, admin and price lists."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest

from customers.models import ClientCompany
from inventory.models import PricingRule, Product, SupplierOffer, SyncRun
from inventory.pricing import PriceExplanation, ProductKey, RuleBook
from inventory.visibility import visible_to
from suppliers.models import Supplier

PRICE_LIST_CHUNK = 2000


@dataclass(frozen=True)
class PriceListRow:
    product: Product
    available_quantity: int
    unit_price: Decimal


# --- Prices ----------------------------------------------------------------------------------
def rule_book(*, company: ClientCompany | None = None) -> RuleBook:
    """The active rules that can price for `company`, or for clients with no rules of their own."""
    scope = Q(company__isnull=True, tier__isnull=True)
    if company is not None:
        scope |= Q(company=company)
        if company.pricing_tier_id is not None:
            scope |= Q(tier_id=company.pricing_tier_id)
    return RuleBook(PricingRule.objects.filter(scope, is_active=True))


def product_key(product: Product) -> ProductKey:
    return ProductKey(product.manufacturer, product.model_name, product.grade_id,
                      product.warehouse_id)


def client_prices(*, company: ClientCompany, products: Iterable[Product],
                  costs: dict[int, Decimal] | None = None) -> dict[int, Decimal | None]:
    """Product id -> this client's unit price; None where the product is not for sale.

    A client pays `sell_price` unless a rule of its own or of its tier applies: that rule is
    applied to the supplier's current cost here, at read time. `costs` (product id -> cost)
    spares the lookup when the caller has the offers already.
    """
    products = list(products)
    book = rule_book(company=company)
    if costs is None:
        costs = {}
        for chunk in _batched(products, PRICE_LIST_CHUNK):
            costs.update(SupplierOffer.objects.filter(
                product__in=[product.pk for product in chunk])
                .values_list("product_id", "cost_price"))
    prices: dict[int, Decimal | None] = {}
    for product in products:
        cost = costs.get(product.pk)
        if not product.is_active or cost is None:
            prices[product.pk] = None
            continue
        rule = (book.rule_for(product_key(product), company_id=company.pk,
                              tier_id=company.pricing_tier_id)
                if book.has_client_rules else None)
        if rule is None or rule.level > PricingRule.Level.TIER:
            prices[product.pk] = product.sell_price
        else:
            prices[product.pk] = book.price_with(rule, cost)
    return prices


def explain_price(*, product: Product,
                  company: ClientCompany | None = None) -> PriceExplanation | None:
    """The rule that prices `product` (for `company`, or for clients without rules of their
    own) and each step from cost to price; None when no supplier offers the product."""
    offer = SupplierOffer.objects.filter(product=product).only("cost_price").first()
    if offer is None:
        return None
    return rule_book(company=company).explain(
        product_key(product), offer.cost_price,
        company_id=company.pk if company else None,
        tier_id=company.pricing_tier_id if company else None)


# --- Stock -----------------------------------------------------------------------------------
def with_available_quantity(products: QuerySet[Product]) -> QuerySet[Product]:
    """Annotate `available_quantity`: the supplier's quantity less our unconfirmed reservations."""
    return products.annotate(available_quantity=Greatest(
        Coalesce(F("offer__quantity"), 0) - Coalesce(F("offer__reserved_quantity"), 0),
        Value(0), output_field=IntegerField()))


def available_quantities(*, products: Iterable[Product]) -> dict[int, int]:
    """Product id -> units clients can still order (0 without a supplier offer)."""
    ids = [product.pk for product in products]
    available = dict.fromkeys(ids, 0)
    for chunk in _batched(ids, PRICE_LIST_CHUNK):
        for product_id, quantity, reserved in SupplierOffer.objects.filter(
                product_id__in=chunk).values_list("product_id", "quantity", "reserved_quantity"):
            available[product_id] = max(quantity - reserved, 0)
    return available


def price_list(*, company: ClientCompany) -> Iterator[PriceListRow]:
    """Products in stock at this client's prices, in catalogue order."""
    products = (with_available_quantity(visible_to(Product.objects.filter(is_active=True),
                                                   company=company))
                .filter(available_quantity__gt=0)
                .select_related("grade", "carrier", "warehouse"))
    for chunk in _batched(products.iterator(chunk_size=PRICE_LIST_CHUNK), PRICE_LIST_CHUNK):
        prices = client_prices(company=company, products=chunk)
        for product in chunk:
            if prices[product.pk] is not None:
                yield PriceListRow(product=product, available_quantity=product.available_quantity,
                                   unit_price=prices[product.pk])


# --- Syncs and mappings ----------------------------------------------------------------------
def last_successful_sync(*, supplier: Supplier) -> SyncRun | None:
    """The last full or delta sync that read its whole feed: where the next delta starts."""
    return (SyncRun.objects.filter(supplier=supplier, status=SyncRun.Status.SUCCEEDED,
                                   kind__in=[SyncRun.Kind.FULL, SyncRun.Kind.DELTA])
            .order_by("-started_at").first())


def expected_feed_size(*, supplier: Supplier) -> int:
    """About how many items a full feed holds: the last complete one, or the offers we know."""
    last_full = (SyncRun.objects.filter(supplier=supplier, kind=SyncRun.Kind.FULL,
                                        status=SyncRun.Status.SUCCEEDED)
                 .order_by("-started_at").values_list("items_seen", flat=True).first())
    return last_full if last_full is not None else supplier.offers.count()


def with_waiting_offers(mappings: QuerySet) -> QuerySet:
    """Annotate `waiting_offers`: offers held back (no product) that carry the mapping's code."""
    model = mappings.model
    waiting = (SupplierOffer.objects
               .filter(supplier_id=OuterRef("supplier_id"), product__isnull=True,
                       **{model.offer_code_field: OuterRef("supplier_code")})
               .order_by().values("supplier_id").annotate(count=Count("pk")).values("count"))
    return mappings.annotate(waiting_offers=Coalesce(Subquery(waiting), 0))


def _batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
