"""The catalogue page and the price list downloads."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from customers.models import User
from inventory.models import SupplierOffer
from tests.portal.conftest import product

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for url in (reverse("catalogue:list"), reverse("cart:detail"), reverse("cart:checkout"),
                reverse("inventory:price-list-xlsx")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_staff_without_a_company_have_no_catalogue(client):
    client.force_login(User.objects.create_user(email="staff@phoneexport.example",
                                                is_staff=True))
    assert client.get(reverse("catalogue:list")).status_code == 403


def test_a_buyer_filters_the_catalogue_and_can_add_to_cart(buyer_client):
    product("IP13-BLK", colour="Black", price="450.00")
    product("IP13-RED", colour="Red", price="430.00")

    response = buyer_client.get(reverse("catalogue:list"), {"colour": "Red", "sort": "price"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "IP13-RED" in page and "IP13-BLK" not in page
    assert "430.00 USD" in page
    assert reverse("cart:add") in page
    assert 'aria-current="page"' in page  # the navigation marks where the user is


def test_a_bad_filter_value_is_reported_and_ignored(buyer_client):
    product("IP13-BLK")
    response = buyer_client.get(reverse("catalogue:list"), {"colour": "Plaid", "page": "0"})
    assert response.status_code == 200
    assert "IP13-BLK" in response.content.decode()
    assert response.context["form"].errors["colour"]


def test_the_filter_form_shows_each_requests_own_choices_and_search(buyer_client):
    product("IP13-BLK", colour="Black")
    product("IP13-RED", colour="Red")
    url = reverse("catalogue:list")

    for query, shown in (({"colour": "Red"}, '<option value="Red" selected>'),
                         ({"colour": "Black"}, '<option value="Black" selected>'),
                         ({"colour": "Red"}, '<option value="Red" selected>'),
                         ({"q": "blk"}, 'value="blk"'), ({"q": "red"}, 'value="red"')):
        assert shown in buyer_client.get(url, query).content.decode()


def test_pages_link_to_each_other_keeping_the_filters(buyer_client):
    for number in range(51):
        product(f"IP13-{number:02d}")

    first = buyer_client.get(reverse("catalogue:list"), {"q": "ip13", "page": "1"})
    second = buyer_client.get(reverse("catalogue:list"), {"q": "ip13", "page": "2"})

    assert len(first.context["page"].rows) == 50
    assert 'href="?q=ip13&amp;page=2&amp;after=' in first.content.decode()
    assert [row.product.sku for row in second.context["page"].rows] == ["IP13-50"]
    assert 'href="?q=ip13&amp;page=1"' in second.content.decode()


def test_viewers_browse_without_add_to_cart(client, viewer):
    product("IP13-BLK")
    client.force_login(viewer)
    page = client.get(reverse("catalogue:list")).content.decode()
    assert "IP13-BLK" in page
    assert reverse("cart:add") not in page and reverse("cart:detail") not in page


def test_the_xlsx_price_list_has_the_csv_rows_and_columns(buyer_client):
    in_stock = product("IP13-BLK", quantity=10, price="450.00")
    SupplierOffer.objects.filter(product=in_stock).update(reserved_quantity=3)
    product("SOLD-OUT", quantity=0)

    response = buyer_client.get(reverse("inventory:price-list-xlsx"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert ".xlsx" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("SKU", "Manufacturer", "Model", "Storage (GB)", "Colour", "Grade",
                       "Carrier", "Warehouse", "Available", "Unit price", "Currency")
    assert rows[1:] == [("IP13-BLK", "Apple", "iPhone 13", 128, "Black", "A Excellent",
                         "Unlocked", "WeSellCellular warehouse", 7, 450, "USD")]
    assert Decimal(str(sheet["J2"].value)) == Decimal("450.00")
    assert sheet["J2"].number_format == "#,##0.00"
    assert sheet.freeze_panes == "A2"
