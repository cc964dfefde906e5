"""The web cart: SKUs and quantities kept in the user's session, priced and checked on read.

The session holds only `{sku: quantity}`; prices and stock are read again every time the cart
is shown, so a cart never shows a price or a quantity the client could not order now.
"""

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from customers.models import ClientCompany, User
from inventory.models import Product
from inventory.selectors import available_quantities, client_prices, products_for_sale
from orders import services
from orders.errors import InvalidOrder
from orders.models import Order

SESSION_KEY = "cart"
# Far above any real wholesale line; keeps a typo from asking for millions.
MAX_LINE_QUANTITY = 10_000


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int
    available_quantity: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Cart:
    lines: list[CartLine]
    # Why lines changed since they were added (sold out, fewer units...), for the client.
    notices: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0"))

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def currency(self) -> str:
        return self.lines[0].product.currency if self.lines else ""

    def __bool__(self) -> bool:
        return bool(self.lines)


@dataclass(frozen=True)
class CartChange:
    """What a change did to one line: `quantity` is what the cart now holds."""

    sku: str
    quantity: int
    requested: int
    available: int

    @property
    def capped(self) -> bool:
        return self.quantity < self.requested

    @property
    def message(self) -> str:
        if self.capped:
            return _("Only %(available)d units of %(sku)s are available: your cart holds "
                     "%(quantity)d.") % {"available": self.available, "sku": self.sku,
                                          "quantity": self.quantity}
        if self.quantity == 0:
            return _("%(sku)s was removed from your cart.") % {"sku": self.sku}
        return _("Your cart holds %(quantity)d × %(sku)s.") % {"quantity": self.quantity,
                                                                "sku": self.sku}


def _stored(session: MutableMapping) -> dict[str, int]:
    return dict(session.get(SESSION_KEY) or {})


def _store(session: MutableMapping, quantities: dict[str, int]) -> None:
    session[SESSION_KEY] = quantities


def cart_item_count(session: Mapping) -> int:
    """Units in the cart as stored, for the navigation bar (no database read)."""
    return sum((session.get(SESSION_KEY) or {}).values())


def _product_for_sale(sku: str) -> Product:
    product = products_for_sale().filter(sku=sku).first()
    if product is None:
        raise InvalidOrder(_("%(sku)s is not for sale.") % {"sku": sku},
                           [{"sku": sku, "error": _("Not for sale.")}])
    return product


def _check_quantity(quantity: int) -> None:
    if not 0 <= quantity <= MAX_LINE_QUANTITY:
        raise InvalidOrder(_("Quantities must be between 1 and %(maximum)d.")
                           % {"maximum": MAX_LINE_QUANTITY})


def set_quantity(*, session: MutableMapping, sku: str, quantity: int) -> CartChange:
    """Hold `quantity` units of `sku` (0 removes it), capped by what can be ordered now."""
    _check_quantity(quantity)
    quantities = _stored(session)
    if quantity == 0:
        quantities.pop(sku, None)
        _store(session, quantities)
        return CartChange(sku=sku, quantity=0, requested=0, available=0)
    product = _product_for_sale(sku)
    available = available_quantities(products=[product])[product.pk]
    if available == 0:
        raise InvalidOrder(_("%(sku)s is out of stock.") % {"sku": sku},
                           [{"sku": sku, "requested": quantity, "available": 0}])
    held = min(quantity, available)
    quantities[sku] = held
    _store(session, quantities)
    return CartChange(sku=sku, quantity=held, requested=quantity, available=available)


def add_to_cart(*, session: MutableMapping, sku: str, quantity: int) -> CartChange:
    """Add `quantity` units of `sku` to what the cart holds, capped by availability."""
    if quantity < 1:
        raise InvalidOrder(_("Quantities must be between 1 and %(maximum)d.")
                           % {"maximum": MAX_LINE_QUANTITY})
    held = _stored(session).get(sku, 0)
    return set_quantity(session=session, sku=sku,
                        quantity=min(held + quantity, MAX_LINE_QUANTITY))


def clear_cart(*, session: MutableMapping) -> None:
    session.pop(SESSION_KEY, None)


def cart_contents(*, session: MutableMapping, company: ClientCompany) -> Cart:
    """The cart priced for `company`; lines no longer for sale, or with fewer units now,
    are dropped or lowered (and said so in `notices`)."""
    quantities = _stored(session)
    if not quantities:
        return Cart(lines=[])
    products = {product.sku: product for product in products_for_sale()
                .filter(sku__in=quantities).select_related("grade", "carrier", "warehouse")}
    prices = client_prices(company=company, products=products.values())
    available = available_quantities(products=products.values())
    lines, notices, kept = [], [], {}
    for sku, quantity in sorted(quantities.items()):
        product = products.get(sku)
        if product is None or prices[product.pk] is None or available[product.pk] == 0:
            notices.append(_("%(sku)s is no longer available and was removed from your cart.")
                           % {"sku": sku})
            continue
        if quantity > available[product.pk]:
            quantity = available[product.pk]
            notices.append(_("Only %(available)d units of %(sku)s are available now: your "
                             "cart holds that many.") % {"available": quantity, "sku": sku})
        kept[sku] = quantity
        lines.append(CartLine(product=product, quantity=quantity,
                              available_quantity=available[product.pk],
                              unit_price=prices[product.pk]))
    if kept != quantities:
        _store(session, kept)
    return Cart(lines=lines, notices=notices)


def checkout(*, session: MutableMapping, company: ClientCompany, user: User,
             ship_to: Mapping[str, object], request_key: str, po_reference: str = "",
             notes: str = "", shipping_method: str = "ground",
             ip_address: str | None = None) -> Order:
    """Place the cart as one order and empty it.

    `request_key` is the checkout form's token: the same form submitted again (a double
    click, a reload) answers the order it already placed, even once the cart is empty.
    """
    placed = Order.objects.filter(company=company, request_key=request_key).first()
    if placed is not None:
        return placed
    cart = cart_contents(session=session, company=company)
    if not cart:
        raise InvalidOrder(_("Your cart is empty."))
    if cart.notices:
        # Stock or prices moved since the client looked: show the new cart before ordering.
        raise InvalidOrder(_("Your cart changed since you last saw it: please check it."),
                           [{"error": notice} for notice in cart.notices])
    order = services.place_order(
        company=company, user=user,
        lines=[services.LineRequest(sku=line.product.sku, quantity=line.quantity)
               for line in cart.lines],
        ship_to=ship_to, po_reference=po_reference, notes=notes,
        shipping_method=shipping_method, ip_address=ip_address, request_key=request_key)
    clear_cart(session=session)
    return order
