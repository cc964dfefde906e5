"""GET /api/v1/products/: filters, the client's prices and stock, pages, scoping, errors."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from customers.models import User
from inventory.models import PricingRule, SupplierOffer
from tests.factories import ClientCompanyFactory
from tests.portal.conftest import product, signed_in_user

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.portal.urls")]
URL = "/api/v1/products/"


@pytest.fixture
def api(buyer) -> APIClient:
    client = APIClient()
    client.force_authenticate(buyer)
    return client


@pytest.fixture
def stock():
    return [product("IP13-BLK", colour="Black", price="450.00", quantity=10),
            product("IP13-RED", colour="Red", price="430.00", grade="B", quantity=0),
            product("S23-GRN", manufacturer="Samsung", model_name="Galaxy S23",
                    colour="Green", price="380.00", carrier="att", warehouse="partner")]


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["sku"] for row in response.json()["results"]]


def test_a_product_shows_its_description_price_and_available_units(api, stock):
    SupplierOffer.objects.filter(product=stock[0]).update(reserved_quantity=3)

    row = api.get(URL, {"search": "IP13-BLK"}).json()["results"][0]

    assert row == {
        "sku": "IP13-BLK", "manufacturer": "Apple", "model": "iPhone 13", "storage_gb": 128,
        "colour": "Black", "grade": "A", "carrier": "unlocked", "warehouse": "wsc",
        "description": "Apple iPhone 13 128GB Black, A Excellent, Unlocked",
        "price": "450.00", "currency": "USD", "available_quantity": 7}


def test_filters_are_query_parameters(api, stock):
    assert skus(api.get(URL)) == ["IP13-BLK", "IP13-RED", "S23-GRN"]
    assert skus(api.get(URL, {"manufacturer": "Samsung"})) == ["S23-GRN"]
    assert skus(api.get(URL, {"model": "iPhone 13", "colour": "Red"})) == ["IP13-RED"]
    assert skus(api.get(URL, {"grade": "B"})) == ["IP13-RED"]
    assert skus(api.get(URL, {"carrier": "att"})) == ["S23-GRN"]
    assert skus(api.get(URL, {"warehouse": "partner"})) == ["S23-GRN"]
    assert skus(api.get(URL, {"storage_gb": 256})) == []
    assert skus(api.get(URL, {"in_stock": "true"})) == ["IP13-BLK", "S23-GRN"]
    assert skus(api.get(URL, {"search": "galaxy green"})) == ["S23-GRN"]
    assert skus(api.get(URL, {"ordering": "price"})) == ["S23-GRN", "IP13-RED", "IP13-BLK"]
    assert skus(api.get(URL, {"ordering": "-price"})) == ["IP13-BLK", "IP13-RED", "S23-GRN"]


def test_pages_link_to_each_other(api, stock):
    first = api.get(URL, {"page_size": 2}).json()
    second = api.get(first["next"]).json()

    assert [row["sku"] for row in first["results"]] == ["IP13-BLK", "IP13-RED"]
    assert first["previous"] is None and "page=2" in first["next"] and "after=" in first["next"]
    assert [row["sku"] for row in second["results"]] == ["S23-GRN"]
    assert second["next"] is None and "page=" not in second["previous"]


def test_each_client_sees_its_own_prices(api, buyer, stock):
    PricingRule.objects.create(name="Acme deal", company=buyer.company,
                               manufacturer="Samsung", fixed_price=Decimal("300.00"))
    other = APIClient()
    other.force_authenticate(signed_in_user(ClientCompanyFactory()))

    mine = {row["sku"]: row["price"] for row in api.get(URL).json()["results"]}
    theirs = {row["sku"]: row["price"] for row in other.get(URL).json()["results"]}

    assert mine["S23-GRN"] == "300.00" and theirs["S23-GRN"] == "380.00"
    assert mine["IP13-BLK"] == theirs["IP13-BLK"] == "450.00"


def test_bad_parameters_answer_the_one_error_shape(api, stock):
    response = api.get(URL, {"grade": "Z", "ordering": "colour", "page_size": 1000,
                             "page": 10 ** 30})  # beyond what the database can skip

    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "invalid"
    assert set(error["details"][0]) == {"grade", "ordering", "page_size", "page"}


def test_only_client_accounts_and_signed_in_users(stock):
    anonymous = APIClient().get(URL)
    staff = APIClient()
    staff.force_authenticate(User.objects.create_user(email="s@phoneexport.example",
                                                      is_staff=True))

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    assert staff.get(URL).status_code == 403


def test_viewers_may_read_the_catalogue(viewer, stock):
    client = APIClient()
    client.force_authenticate(viewer)
    assert skus(client.get(URL)) == ["IP13-BLK", "IP13-RED", "S23-GRN"]


def test_the_schema_documents_the_filters(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/products/"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"search", "manufacturer", "model", "storage_gb", "colour", "grade", "carrier",
            "warehouse", "in_stock", "ordering", "page", "page_size"} <= names
