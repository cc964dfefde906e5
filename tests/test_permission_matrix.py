"""Every client page and API endpoint, for every kind of caller.

A user of another company gets 404 for anything of ours (not 403: nothing leaks, not even
that it exists); an anonymous caller is sent to sign in (pages) or gets 401 (API); a viewer
reads but cannot buy.
"""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from customers.models import User
from notifications.client_webhooks import create_endpoint
from orders.services import LineRequest, place_order
from tests.factories import (
    DEMO_SHIP_TO, ClientCompanyFactory, ProductFactory, ShippingAddressFactory, UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ours(settings):
    settings.CLIENT_WEBHOOK_ALLOW_LOCALHOST = True
    company = ClientCompanyFactory()
    admin = UserFactory(company=company, role=User.Role.ACCOUNT_ADMIN)
    buyer = UserFactory(company=company, role=User.Role.BUYER)
    product = ProductFactory()
    order = place_order(company=company, user=buyer, ship_to=DEMO_SHIP_TO,
                        lines=[LineRequest(sku=product.sku, quantity=1)])
    endpoint = create_endpoint(company=company, url="http://127.0.0.1:9/hooks",
                               events=["shipped"])
    return {"company": company, "admin": admin, "buyer": buyer, "order": order,
            "address": ShippingAddressFactory(company=company), "endpoint": endpoint}


def object_urls(ours) -> list[tuple[str, str]]:
    """(method, URL) of everything that belongs to one company."""
    order = ours["order"].public_id
    user, address, endpoint = ours["buyer"].pk, ours["address"].pk, ours["endpoint"].pk
    return [
        ("get", reverse("orders:detail", kwargs={"public_id": order})),
        ("get", reverse("orders:live-fragment", kwargs={"public_id": order})),
        ("get", reverse("orders:imeis-csv", kwargs={"public_id": order})),
        ("post", reverse("orders:cancel", kwargs={"public_id": order})),
        ("post", reverse("orders:reorder", kwargs={"public_id": order})),
        ("get", reverse("cart:confirmation", kwargs={"public_id": order})),
        ("get", reverse("customers:user", kwargs={"pk": user})),
        ("post", reverse("customers:user-active", kwargs={"pk": user})),
        ("get", reverse("customers:address-edit", kwargs={"pk": address})),
        ("post", reverse("customers:address-delete", kwargs={"pk": address})),
        ("post", reverse("customers:address-default", kwargs={"pk": address})),
        ("get", reverse("notifications:webhook_endpoint", kwargs={"endpoint_id": endpoint})),
        ("post", reverse("notifications:webhook_endpoint_rotate",
                         kwargs={"endpoint_id": endpoint})),
        ("post", reverse("notifications:webhook_endpoint_delete",
                         kwargs={"endpoint_id": endpoint})),
        ("get", f"/api/v1/orders/{order}/"),
        ("post", f"/api/v1/orders/{order}/cancel/"),
    ]


CLIENT_PAGES = ["/catalogue/", "/cart/", "/cart/checkout/", "/orders/", "/account/",
                "/account/users/", "/account/addresses/", "/account/notifications/",
                "/account/notifications/webhooks/", "/prices/price-list.csv",
                "/prices/price-list.xlsx"]
API = ["/api/v1/orders/", "/api/v1/products/"]


def test_another_companys_user_gets_404_for_everything_of_ours(client, ours):
    stranger = UserFactory(company=ClientCompanyFactory(), role=User.Role.ACCOUNT_ADMIN)
    client.force_login(stranger)
    token = Token.objects.create(user=stranger)
    for method, url in object_urls(ours):
        if url.startswith("/api/"):
            response = getattr(client, method)(url, HTTP_AUTHORIZATION=f"Token {token.key}")
        else:
            response = getattr(client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
    ours["order"].refresh_from_db()
    assert ours["order"].status == "placed"  # nothing of ours changed


def test_anonymous_callers_are_sent_to_sign_in_or_get_401(client, ours):
    for method, url in object_urls(ours):
        response = getattr(client, method)(url)
        if url.startswith("/api/"):
            assert response.status_code == 401, (method, url)
        else:
            assert response.status_code == 302, (method, url, response.status_code)
            assert response["Location"].startswith(reverse("login")), url
    for url in CLIENT_PAGES:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(
            reverse("login")), url
    for url in API:
        assert client.get(url).status_code == 401, url


def test_a_viewer_reads_but_cannot_buy(client, ours):
    viewer = UserFactory(company=ours["company"], role=User.Role.VIEWER)
    client.force_login(viewer)
    product = ProductFactory()
    for url in ["/catalogue/", "/orders/",
                reverse("orders:detail", kwargs={"public_id": ours["order"].public_id})]:
        assert client.get(url).status_code == 200, url
    assert client.post(reverse("cart:add"), {"sku": product.sku, "quantity": 1}
                       ).status_code == 403
    assert client.get(reverse("cart:checkout")).status_code == 403
    assert client.post(reverse("orders:cancel", kwargs={
        "public_id": ours["order"].public_id})).status_code == 403
    token = Token.objects.create(user=viewer)
    response = client.post("/api/v1/orders/", {
        "lines": [{"sku": product.sku, "quantity": 1}], "ship_to": DEMO_SHIP_TO},
        content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 403
    assert response.json()["error"]["code"]
