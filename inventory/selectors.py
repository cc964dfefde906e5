"""Reads of stock and prices, for the order service, the catalogue, admin and price lists."""

import base64
import binascii
import heapq
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BooleanField, Case, Count, DecimalField, Exists, Expression, F, IntegerField, OuterRef, Q,
    QuerySet, Subquery, Value, When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Ceil, Coalesce, Floor, Greatest, Least, Round
from django.db.models.lookups import GreaterThan

from customers.models import ClientCompany
from inventory.models import (
    PRODUCT_SEARCH_TEXT, Carrier, Grade, PricingRule, Product, SupplierOffer, SyncRun, Warehouse,
)
from inventory.pricing import PriceExplanation, ProductKey, RuleBook, precedence
from inventory.visibility import visibility_for, visible_to
from suppliers.models import Supplier

PRICE_LIST_CHUNK = 2000
CATALOGUE_PAGE_SIZE = 50
MAX_CATALOGUE_PAGE_SIZE = 200
# Beyond any catalogue's last page; a larger number would overflow the database's OFFSET.
MAX_CATALOGUE_PAGE = 100_000
# The filter dropdowns read every product on sale: shared by all clients, refreshed this often.
CATALOGUE_FACETS_SECONDS = 300
# The version suffix changes with the cached format, so that a deploy never reads the old one.
FACETS_CACHE_KEY = "inventory:catalogue-facets:2"
_MONEY = DecimalField(max_digits=14, decimal_places=2)


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
                  costs: dict[int, Decimal] | None = None,
                  client_rules: list[PricingRule] | None = None) -> dict[int, Decimal | None]:
    """Product id -> this client's unit price; None where the product is not for sale.

    A client pays `sell_price` unless a rule of its own or of its tier applies: that rule is
    applied to the supplier's current cost here, at read time. `costs` (product id -> cost)
    spares the lookup when the caller has the offers already, and `client_rules` (the active
    rules of the client and its tier, first winner first) when it has the rules.
    """
    products = list(products)
    if client_rules is None:
        client_rules = _client_rules(company)
    # Only the client's and its tier's rules can beat `sell_price`, and they come first in
    # precedence: the other rules are already in `sell_price`.
    book = RuleBook(client_rules) if client_rules else None
    if costs is None:
        costs = {}
        for chunk in _batched(products, PRICE_LIST_CHUNK):
            costs.update(SupplierOffer.objects.filter(
                product__in=[product.pk for product in chunk]).order_by()
                .values_list("product_id", "cost_price"))
    prices: dict[int, Decimal | None] = {}
    for product in products:
        cost = costs.get(product.pk)
        if not product.is_active or cost is None:
            prices[product.pk] = None
            continue
        rule = (book.rule_for(product_key(product), company_id=company.pk,
                              tier_id=company.pricing_tier_id)
                if book is not None else None)
        prices[product.pk] = product.sell_price if rule is None else book.price_with(rule, cost)
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
                product_id__in=chunk).order_by().values_list("product_id", "quantity",
                                                             "reserved_quantity"):
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


# --- Catalogue -------------------------------------------------------------------------------
class CatalogueSort:
    MODEL = "model"
    PRICE = "price"
    PRICE_DESCENDING = "-price"
    ALL = (MODEL, PRICE, PRICE_DESCENDING)


@dataclass(frozen=True)
class CatalogueFilters:
    """What a client asked the catalogue for; empty values filter nothing."""

    manufacturer: str = ""
    model_name: str = ""
    storage_gb: int | None = None
    colour: str = ""
    grade: Grade | None = None
    carrier: Carrier | None = None
    warehouse: Warehouse | None = None
    in_stock_only: bool = False
    search: str = ""
    sort: str = CatalogueSort.MODEL
    page: int = 1
    page_size: int = CATALOGUE_PAGE_SIZE
    # A previous page's `next_cursor`: this page starts after it rather than at an offset.
    # `page` then only numbers it.
    after: str = ""


@dataclass(frozen=True)
class CatalogueRow:
    product: Product
    available_quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class CataloguePage:
    """One page of rows. No total count: counting 100,000 matches on every page costs more
    than the page itself, so the page only knows whether another follows."""

    rows: list[CatalogueRow]
    number: int
    page_size: int
    has_next: bool
    # Where the next page starts, for its link (see CatalogueFilters.after); None on the last.
    next_cursor: str | None = None

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.page_size + 1 if self.rows else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.page_size + len(self.rows)


@dataclass(frozen=True)
class CatalogueFacets:
    """The values the catalogue's filters offer."""

    manufacturers: list[str]
    model_names: list[str]
    storages_gb: list[int]
    colours: list[str]
    grades: list[Grade]
    carriers: list[Carrier]
    warehouses: list[Warehouse]
    # Changes whenever the values are read again: what a page caches with them keys on it.
    version: str


def products_for_sale() -> QuerySet[Product]:
    """Products a client can order: on sale, priced, and offered by a supplier."""
    # EXISTS rather than a join: checked in the offers' product index alone.
    return Product.objects.filter(
        Exists(SupplierOffer.objects.filter(product=OuterRef("pk"))),
        is_active=True, sell_price__isnull=False)


def catalogue_products(*, company: ClientCompany, filters: CatalogueFilters) -> CataloguePage:
    """One page of the catalogue at this client's prices, with the units it can order."""
    visibility = visibility_for(company=company)
    client_rules = _client_rules(company)
    matches = _filter_catalogue(visible_to(products_for_sale(), company=company,
                                           visibility=visibility), filters)
    if filters.in_stock_only or not visibility.show_out_of_stock:
        matches = with_available_quantity(matches).filter(available_quantity__gt=0)
    matches, order = _sort_catalogue(matches, client_rules=client_rules, sort=filters.sort)
    page_size = min(max(filters.page_size, 1), MAX_CATALOGUE_PAGE_SIZE)
    number = max(filters.page, 1)
    position = _decode_position(filters.after, sort=filters.sort, order=order)
    if position is not None:
        # From where the previous page stopped: a page deep in the list costs what the
        # first one does.
        window = slice(0, page_size + 1)
    else:
        # The rows before the page are counted off in an index (product_catalogue covers
        # every column this reads), each checked for an offer: cheap, but linear in the depth.
        offset = (number - 1) * page_size
        window = slice(offset, offset + page_size + 1)
    # The page's ids (and sort keys) first, one row beyond it saying whether another page
    # follows; only the page's own rows are read in full, below.
    if order.fields[0] == "client_price":
        found = _client_price_keys(matches, client_rules=client_rules, order=order,
                                   position=position, window=window)
    else:
        if position is not None:
            matches = _after(matches, order=order, position=position)
        found = list(matches.values_list("pk", *order.fields)[window])
    next_cursor = (_encode_position(filters.sort, found[page_size - 1][1:])
                   if len(found) > page_size else None)
    found = [row[0] for row in found]
    page_ids = found[:page_size]
    read = {product.pk: product for product in with_available_quantity(
        Product.objects.filter(pk__in=page_ids).order_by())
        .annotate(cost_price=F("offer__cost_price"))}
    # A product that changed between the two reads is left out rather than shown wrongly.
    page_products = [read[pk] for pk in page_ids if pk in read]
    _attach_vocabularies(page_products)
    prices = client_prices(company=company, products=page_products,
                           costs={product.pk: product.cost_price for product in page_products
                                  if product.cost_price is not None},
                           client_rules=client_rules)
    rows = [CatalogueRow(product=product, available_quantity=product.available_quantity,
                         unit_price=prices[product.pk])
            for product in page_products if prices[product.pk] is not None]
    return CataloguePage(rows=rows, number=number, page_size=page_size,
                         has_next=next_cursor is not None, next_cursor=next_cursor)


@dataclass(frozen=True)
class _Order:
    """A catalogue order: its key (unique, so that a position in it is exact) and direction."""

    fields: tuple[str, ...]
    descending: bool = False
    # The key is product columns in an index's order: a row comparison starts the index walk.
    indexed: bool = True


_POSITION_TYPES = {"manufacturer": str, "model_name": str, "storage_gb": int, "colour": str,
                   "sku": str, "sell_price": Decimal, "client_price": Decimal, "id": int}


def _encode_position(sort: str, values: tuple) -> str:
    raw = json.dumps([sort, *(str(value) if isinstance(value, Decimal) else value
                              for value in values)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_position(cursor: str, *, sort: str, order: _Order) -> list | None:
    """The sort key values in a cursor of ours for this order; None for anything else (the
    page is then found by its number)."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(data, list) or data[:1] != [sort] or len(data) != len(order.fields) + 1:
        return None
    position = []
    for field, value in zip(order.fields, data[1:]):
        kind = _POSITION_TYPES[field]
        if kind is Decimal:
            try:
                value = Decimal(value) if isinstance(value, str) else None
            except ArithmeticError:
                return None
            if value is None or not value.is_finite():
                return None
        elif type(value) is not kind:
            return None
        position.append(value)
    return position


def _after(products: QuerySet[Product], *, order: _Order, position: list) -> QuerySet[Product]:
    """The products after `position` in `order`."""
    if order.indexed:
        # A row comparison, which PostgreSQL turns into the start of an index range.
        quote = connection.ops.quote_name
        table = quote(Product._meta.db_table)
        columns = ", ".join(f"{table}.{quote(Product._meta.get_field(name).column)}"
                            for name in order.fields)
        placeholders = ", ".join(["%s"] * len(position))
        return products.filter(RawSQL(
            f"({columns}) {'<' if order.descending else '>'} ({placeholders})", position,
            output_field=BooleanField()))
    (price, price_value), (pk, pk_value) = zip(order.fields, position)
    beyond = "lt" if order.descending else "gt"
    return products.filter(Q(**{f"{price}__{beyond}": price_value})
                           | Q(**{price: price_value, f"{pk}__{beyond}": pk_value}))


def _client_price_keys(products: QuerySet[Product], *, client_rules: list[PricingRule],
                       order: _Order, position: list | None, window: slice) -> list[tuple]:
    """(id, client price, id) of the products in `window` of `order`, for a client with
    rules of its own.

    Its rules price only the products they name (by manufacturer, model, grade or warehouse);
    the others are at `sell_price`, which the product_price index already orders. So the page
    is merged from two sorted reads: the products no rule names, along the index, and the
    named ones, priced by the rules' formula in SQL (client_price_expression). Only those are
    priced before the cut, rather than every match.
    """
    covered = Q()
    for rule in client_rules:
        conditions = _rule_conditions(rule)
        if not conditions:  # a rule on every product: nothing is at sell_price
            covered = None
            break
        covered |= conditions
    by_price = (F("client_price").desc(), F("id").desc()) if order.descending else (
        "client_price", "id")
    named = products if covered is None else products.filter(covered)
    named = (named.annotate(client_price=client_price_expression(client_rules))
             .filter(client_price__isnull=False).order_by(*by_price))
    if position is not None:
        named = _after(named, order=order, position=position)
    reads = [named.values_list("pk", "client_price", "id")[:window.stop]]
    if covered is not None:
        at_sell_price = _Order(("sell_price", "id"), descending=order.descending)
        others = products.exclude(covered).order_by(
            *((F(field).desc() for field in at_sell_price.fields) if order.descending
              else at_sell_price.fields))
        if position is not None:
            others = _after(others, order=at_sell_price, position=position)
        reads.append(others.values_list("pk", "sell_price", "id")[:window.stop])
    merged = heapq.merge(*(list(read) for read in reads), key=lambda row: (row[1], row[2]),
                         reverse=order.descending)
    return list(islice(merged, window.start, window.stop))


def _attach_vocabularies(products: list[Product]) -> None:
    """Give each product its grade, carrier and warehouse from the rows the facets cache (a
    few dozen, shared by every page) rather than joining and building three rows per product.
    A name changed in admin shows here when the facets are next read, as in the dropdowns."""
    values = _cached_facet_values()
    for field, model, rows in ((Product.grade.field, Grade, values["grades"]),
                               (Product.carrier.field, Carrier, values["carriers"]),
                               (Product.warehouse.field, Warehouse, values["warehouses"])):
        by_id = {row.pk: row for row in rows}
        # Added since the facets were read.
        missing = {getattr(product, field.attname) for product in products} - by_id.keys()
        if missing:
            by_id.update(model.objects.in_bulk(missing))
        for product in products:
            field.set_cached_value(product, by_id[getattr(product, field.attname)])


def _filter_catalogue(products: QuerySet[Product], filters: CatalogueFilters) -> QuerySet[Product]:
    exact = {"manufacturer": filters.manufacturer, "model_name": filters.model_name,
             "storage_gb": filters.storage_gb, "colour": filters.colour,
             "grade": filters.grade, "carrier": filters.carrier, "warehouse": filters.warehouse}
    products = products.filter(**{field: value for field, value in exact.items()
                                  if value not in (None, "")})
    # Every word must appear in the SKU, the manufacturer, the model or the colour, so
    # "iphone 13 black" finds black iPhone 13s whatever the order of the words.
    words = filters.search.upper().split()
    if words:
        products = products.alias(search_text=PRODUCT_SEARCH_TEXT)
        for word in words:
            products = products.filter(search_text__contains=word)
    return products


def _sort_catalogue(products: QuerySet[Product], *, client_rules: list[PricingRule],
                    sort: str) -> tuple[QuerySet[Product], _Order]:
    if sort not in (CatalogueSort.PRICE, CatalogueSort.PRICE_DESCENDING):
        order = _Order(("manufacturer", "model_name", "storage_gb", "colour", "sku"))
        return products.order_by(*order.fields), order
    descending = sort == CatalogueSort.PRICE_DESCENDING
    if client_rules:
        # Prices of their own are computed at read time: _client_price_keys orders them.
        return products, _Order(("client_price", "id"), descending=descending, indexed=False)
    # Everyone else pays sell_price: the product_price index is the order.
    order = _Order(("sell_price", "id"), descending=descending)
    if descending:
        return products.order_by(*(F(field).desc() for field in order.fields)), order
    return products.order_by(*order.fields), order


def _client_rules(company: ClientCompany) -> list[PricingRule]:
    """The active rules of this client and of its tier, first winner first."""
    scope = Q(company=company)
    if company.pricing_tier_id is not None:
        scope |= Q(tier_id=company.pricing_tier_id)
    return sorted(PricingRule.objects.filter(scope, is_active=True), key=precedence)


def client_price_expression(client_rules: list[PricingRule]) -> Expression:
    """SQL for what `client_prices` computes in Python: the first matching rule of the
    client's own (see pricing.apply_rule) on the offer's cost, else `sell_price`."""
    whens = []
    for rule in client_rules:
        conditions = _rule_conditions(rule)
        if not conditions:
            # It prices every product the rules before it leave: the rest never apply.
            return Case(*whens, default=_rule_price_expression(rule), output_field=_MONEY)
        whens.append(When(conditions, then=_rule_price_expression(rule)))
    return Case(*whens, default=F("sell_price"), output_field=_MONEY)


def _rule_conditions(rule: PricingRule) -> Q:
    """The products a rule prices, as a filter; empty for a rule on every product."""
    conditions = Q()
    if rule.manufacturer:
        conditions &= Q(manufacturer__iexact=rule.manufacturer)
    if rule.model_name:
        conditions &= Q(model_name__iexact=rule.model_name)
    if rule.grade_id is not None:
        conditions &= Q(grade_id=rule.grade_id)
    if rule.warehouse_id is not None:
        conditions &= Q(warehouse_id=rule.warehouse_id)
    return conditions


def _money(amount: Decimal) -> Value:
    return Value(amount, output_field=_MONEY)


def _rule_price_expression(rule: PricingRule) -> Expression:
    if rule.fixed_price is not None:
        return _money(rule.fixed_price)
    price = F("offer__cost_price")
    if rule.markup_percent is not None:
        price = Round(price * _money(1 + rule.markup_percent / 100), 2, output_field=_MONEY)
    if rule.markup_amount is not None:
        price = price + _money(rule.markup_amount)
    if rule.floor_price is not None:
        price = Greatest(price, _money(rule.floor_price), output_field=_MONEY)
    if rule.cap_price is not None:
        price = Least(price, _money(rule.cap_price), output_field=_MONEY)
    if rule.rounding == PricingRule.Rounding.NEXT_99:
        price = Floor(price, output_field=_MONEY) + _money(Decimal("0.99"))
    elif rule.rounding == PricingRule.Rounding.NEXT_WHOLE:
        price = Ceil(price, output_field=_MONEY)
    else:
        price = Round(price, 2, output_field=_MONEY)
    if rule.cap_price is not None:
        price = Least(price, _money(rule.cap_price), output_field=_MONEY)
    # Nothing above zero: not for sale to this client.
    return Case(When(GreaterThan(price, _money(Decimal("0"))), then=price), default=None,
                output_field=_MONEY)


def catalogue_facets(*, manufacturer: str = "") -> CatalogueFacets:
    """Values for the filter dropdowns; models only of `manufacturer` when one is chosen."""
    values = _cached_facet_values()
    models = values["models"]
    chosen = [manufacturer] if manufacturer else models
    return CatalogueFacets(
        manufacturers=sorted(models),
        model_names=sorted({name for maker in chosen for name in models.get(maker, ())}),
        storages_gb=values["storages_gb"], colours=values["colours"], grades=values["grades"],
        carriers=values["carriers"], warehouses=values["warehouses"], version=values["version"])


def _cached_facet_values() -> dict:
    values = cache.get(FACETS_CACHE_KEY)
    if values is None:
        values = _facet_values()
        cache.set(FACETS_CACHE_KEY, values, CATALOGUE_FACETS_SECONDS)
    return values


def _facet_values() -> dict:
    # Active and priced is close enough to "for sale" for a dropdown, and spares a join
    # with the offers on every read.
    on_sale = Product.objects.filter(is_active=True, sell_price__isnull=False).order_by()
    models: dict[str, set[str]] = {}
    for maker, model_name in on_sale.values_list("manufacturer", "model_name").distinct():
        models.setdefault(maker, set()).add(model_name)
    return {
        "models": models,
        "storages_gb": sorted(on_sale.values_list("storage_gb", flat=True).distinct()),
        "colours": sorted(on_sale.values_list("colour", flat=True).distinct()),
        "grades": list(Grade.objects.all()), "carriers": list(Carrier.objects.all()),
        "warehouses": list(Warehouse.objects.all()), "version": uuid.uuid4().hex,
    }


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
