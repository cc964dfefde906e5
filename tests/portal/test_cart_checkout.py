"""The cart (caps, prices), checkout (happy path, errors, double submit) and confirmation."""

import re
import uuid
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from inventory.models import SupplierOffer
from orders.models import Order
from tests.factories import DEMO_SHIP_TO, ClientCompanyFactory
from tests.portal.conftest import product, signed_in_user

pytestmark = pytest.mark.django_db


def add(client, sku, quantity, **extra):
    return client.post(reverse("cart:add"), {"sku": sku, "quantity": quantity, **extra})


def last_message(response) -> str:
    """The message this response added (earlier ones wait unread in the session)."""
    return [str(message) for message in get_messages(response.wsgi_request)][-1]


def cart_of(client) -> dict[str, int]:
    return client.session.get("cart", {})


def checkout_token(client) -> str:
    page = client.get(reverse("cart:checkout")).content.decode()
    return re.search(r'name="request_key" value="([0-9a-f]{32})"', page).group(1)


def typed_address(**overrides) -> dict[str, str]:
    return {f"ship_{name}": value for name, value in {**DEMO_SHIP_TO, **overrides}.items()}


def test_adding_sums_quantities_and_returns_to_the_catalogue(buyer_client):
    product("IP13-BLK", quantity=20)
    catalogue = reverse("catalogue:list") + "?colour=Black"

    add(buyer_client, "IP13-BLK", 3)
    response = add(buyer_client, "IP13-BLK", 2, next=catalogue)

    assert response.status_code == 302 and response["Location"] == catalogue
    assert cart_of(buyer_client) == {"IP13-BLK": 5}
    assert last_message(response) == "Your cart holds 5 × IP13-BLK."


def test_a_foreign_next_url_is_not_followed(buyer_client):
    product("IP13-BLK")
    response = add(buyer_client, "IP13-BLK", 1, next="https://evil.example/")
    assert response["Location"] == reverse("catalogue:list")


def test_quantities_are_capped_by_availability_with_a_message(buyer_client):
    offer_product = product("IP13-BLK", quantity=10)
    SupplierOffer.objects.filter(product=offer_product).update(reserved_quantity=4)

    response = add(buyer_client, "IP13-BLK", 8)

    assert cart_of(buyer_client) == {"IP13-BLK": 6}
    assert last_message(response) == "Only 6 units of IP13-BLK are available: your cart holds 6."


def test_out_of_stock_and_unknown_products_are_refused(buyer_client):
    product("SOLD-OUT", quantity=0)

    sold_out = add(buyer_client, "SOLD-OUT", 1)
    unknown = add(buyer_client, "NOPE", 1)
    zero = add(buyer_client, "SOLD-OUT", 0)

    assert cart_of(buyer_client) == {}
    assert last_message(sold_out) == "SOLD-OUT is out of stock."
    assert last_message(unknown) == "NOPE is not for sale."
    assert last_message(zero) == "Enter a quantity of at least 1."


def test_the_cart_is_priced_for_the_client_and_lines_update(buyer_client):
    product("IP13-BLK", price="450.00")
    product("S23-GRN", manufacturer="Samsung", model_name="Galaxy S23", price="380.00")
    add(buyer_client, "IP13-BLK", 2)
    add(buyer_client, "S23-GRN", 1)

    buyer_client.post(reverse("cart:update"), {"sku": "IP13-BLK", "quantity": 3})
    buyer_client.post(reverse("cart:update"), {"sku": "S23-GRN", "quantity": 1,
                                               "remove": ""})
    cart = buyer_client.get(reverse("cart:detail")).context["cart"]

    assert [(line.product.sku, line.quantity, line.unit_price) for line in cart.lines] == [
        ("IP13-BLK", 3, Decimal("450.00"))]
    assert cart.total == Decimal("1350.00")


def test_the_cart_drops_what_sold_out_since(buyer_client):
    sold = product("IP13-BLK", quantity=5)
    add(buyer_client, "IP13-BLK", 5)
    SupplierOffer.objects.filter(product=sold).update(quantity=2)

    response = buyer_client.get(reverse("cart:detail"))

    assert [line.quantity for line in response.context["cart"].lines] == [2]
    assert "Only 2 units of IP13-BLK are available now" in last_message(response)
    assert cart_of(buyer_client) == {"IP13-BLK": 2}


def test_viewers_cannot_use_the_cart(client, viewer):
    product("IP13-BLK")
    client.force_login(viewer)
    assert add(client, "IP13-BLK", 1).status_code == 403
    assert client.get(reverse("cart:detail")).status_code == 403
    assert client.get(reverse("cart:checkout")).status_code == 403


def test_checkout_with_an_address_book_entry_places_the_order(buyer_client, buyer, address):
    product("IP13-BLK", price="450.00", quantity=10)
    add(buyer_client, "IP13-BLK", 4)
    token = checkout_token(buyer_client)

    response = buyer_client.post(reverse("cart:checkout"), {
        "request_key": token, "address": address.pk, "shipping_method": "two_day",
        "po_reference": "PO-77", "notes": "Dock 3"})

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cart:confirmation",
                                           kwargs={"public_id": order.public_id})
    assert (order.company, order.placed_by, order.total) == (buyer.company, buyer,
                                                             Decimal("1800.00"))
    assert (order.po_reference, order.notes, order.shipping_method) == ("PO-77", "Dock 3",
                                                                        "two_day")
    assert order.ship_to == address.as_ship_to()
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("IP13-BLK", 4)]
    assert SupplierOffer.objects.get(product__sku="IP13-BLK").reserved_quantity == 4
    assert cart_of(buyer_client) == {}

    confirmation = buyer_client.get(response["Location"]).content.decode()
    assert order.number in confirmation and "1800.00 USD" in confirmation
    assert "Placed" in confirmation and "PO-77" in confirmation and "Two-day" in confirmation


def test_checkout_shows_the_summary_and_preselects_the_default_address(buyer_client, address):
    product("IP13-BLK", price="450.00")
    add(buyer_client, "IP13-BLK", 2)
    response = buyer_client.get(reverse("cart:checkout"))
    assert response.context["cart"].total == Decimal("900.00")
    assert response.context["form"]["address"].value() == address.pk
    assert "900.00 USD" in response.content.decode()
    assert "Warehouse terms" in response.content.decode()
    assert [warehouse.code for warehouse in response.context["warehouses"]] == ["wsc"]


def test_submitting_the_same_checkout_twice_makes_one_order(buyer_client):
    product("IP13-BLK", quantity=10)
    add(buyer_client, "IP13-BLK", 2)
    form = {"request_key": checkout_token(buyer_client), "shipping_method": "ground",
            **typed_address()}

    first = buyer_client.post(reverse("cart:checkout"), form)
    second = buyer_client.post(reverse("cart:checkout"), form)

    assert Order.objects.count() == 1
    assert first["Location"] == second["Location"]
    assert SupplierOffer.objects.get(product__sku="IP13-BLK").reserved_quantity == 2


def test_an_incomplete_typed_address_is_shown_beside_its_fields(buyer_client):
    product("IP13-BLK")
    add(buyer_client, "IP13-BLK", 1)
    response = buyer_client.post(reverse("cart:checkout"), {
        "request_key": uuid.uuid4().hex, "shipping_method": "ground",
        **typed_address(country="U1")})

    form = response.context["form"]
    assert response.status_code == 200 and not Order.objects.exists()
    assert form.errors["ship_country"] == ["Use a two-letter country code, e.g. US."]
    assert form.non_field_errors() == ["The shipping address is invalid."]


def test_missing_address_fields_are_named(buyer_client):
    product("IP13-BLK")
    add(buyer_client, "IP13-BLK", 1)
    response = buyer_client.post(reverse("cart:checkout"), {
        "request_key": uuid.uuid4().hex, "shipping_method": "ground",
        **typed_address(line1="", city="")})
    form = response.context["form"]
    assert form.errors["ship_line1"] == ["This field is required."]
    assert form.errors["ship_city"] == ["This field is required."]


def test_stock_taken_meanwhile_is_explained_and_nothing_is_ordered(buyer_client):
    taken = product("IP13-BLK", quantity=5)
    add(buyer_client, "IP13-BLK", 5)
    token = checkout_token(buyer_client)
    # Another client's order reserves units between the summary and the click.
    SupplierOffer.objects.filter(product=taken).update(reserved_quantity=3)

    response = buyer_client.post(reverse("cart:checkout"), {
        "request_key": token, "shipping_method": "ground", **typed_address()})

    errors = response.context["form"].non_field_errors()
    assert not Order.objects.exists()
    assert "Your cart changed" in errors[0]
    assert "Only 2 units of IP13-BLK are available now" in errors[1]


def test_the_order_service_refusing_stock_is_a_form_message(buyer_client, monkeypatch):
    from orders import cart

    product("IP13-BLK", quantity=5)
    add(buyer_client, "IP13-BLK", 5)
    # Stock gone between the cart's check and the order's row lock.
    monkeypatch.setattr(cart, "available_quantities",
                        lambda products: {product.pk: 5 for product in products})
    SupplierOffer.objects.update(reserved_quantity=4)

    response = buyer_client.post(reverse("cart:checkout"), {
        "request_key": uuid.uuid4().hex, "shipping_method": "ground", **typed_address()})

    errors = response.context["form"].non_field_errors()
    assert errors == ["Not enough stock for some lines.",
                      "IP13-BLK: you asked for 5, 1 available."]
    assert not Order.objects.exists()


def test_an_expired_or_forged_token_is_refused(buyer_client):
    product("IP13-BLK")
    add(buyer_client, "IP13-BLK", 1)
    response = buyer_client.post(reverse("cart:checkout"), {
        "request_key": "not-a-token", "shipping_method": "ground", **typed_address()})
    assert response.context["form"].errors["request_key"]
    assert not Order.objects.exists()


def test_an_empty_cart_cannot_be_checked_out(buyer_client):
    assert buyer_client.get(reverse("cart:checkout"))["Location"] == reverse("cart:detail")
    response = buyer_client.post(reverse("cart:checkout"), {
        "request_key": uuid.uuid4().hex, "shipping_method": "ground", **typed_address()})
    assert response.context["form"].non_field_errors() == ["Your cart is empty."]


def test_another_companys_confirmation_page_is_not_found(client, buyer_client):
    product("IP13-BLK")
    add(buyer_client, "IP13-BLK", 1)
    buyer_client.post(reverse("cart:checkout"), {
        "request_key": checkout_token(buyer_client), "shipping_method": "ground",
        **typed_address()})
    url = reverse("cart:confirmation", kwargs={"public_id": Order.objects.get().public_id})

    client.force_login(signed_in_user(ClientCompanyFactory()))

    assert client.get(url).status_code == 404
    assert client.get(reverse("cart:confirmation",
                              kwargs={"public_id": uuid.uuid4()})).status_code == 404


def test_the_navigation_counts_the_units_in_the_cart(buyer_client):
    product("IP13-BLK")
    add(buyer_client, "IP13-BLK", 3)
    page = buyer_client.get(reverse("catalogue:list")).content.decode()
    assert 'aria-label="3 units">3</span>' in page


def test_a_user_of_an_inactive_company_cannot_order(client):
    inactive = ClientCompanyFactory(is_active=False)
    client.force_login(signed_in_user(inactive))
    assert client.get(reverse("cart:detail")).status_code == 403


def test_a_typed_address_beside_a_chosen_one_is_not_silently_ignored(buyer_client, address):
    product("IP13-BLK")
    add(buyer_client, "IP13-BLK", 1)
    response = buyer_client.post(reverse("cart:checkout"), {
        "request_key": uuid.uuid4().hex, "shipping_method": "ground", "address": address.pk,
        **typed_address(city="Orlando")})
    assert "You chose a saved address and typed a new one" in (
        response.context["form"].non_field_errors()[0])
    assert not Order.objects.exists()


def test_each_visit_to_the_checkout_gets_a_fresh_token_and_is_not_cached(buyer_client):
    product("IP13-BLK")
    add(buyer_client, "IP13-BLK", 1)
    response = buyer_client.get(reverse("cart:checkout"))
    assert "no-store" in response["Cache-Control"]
    assert checkout_token(buyer_client) != checkout_token(buyer_client)
