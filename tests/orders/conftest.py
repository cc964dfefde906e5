"""Clients, orders and supplier webhooks for the order page and API tests."""

import json
import uuid
from datetime import datetime, timezone

import pytest
import responses
from standardwebhooks.webhooks import Webhook

from customers.models import User
from orders import services
from orders.services import LineRequest
from suppliers.models import WebhookEvent
from suppliers.webhooks import process_webhook_event
from tests.factories import DEMO_SHIP_TO, ProductFactory, UserFactory

WEBHOOK_URL = "/webhooks/suppliers/wesellcellular/"
SUPPLIER_API = "https://wsc.test"
WEBHOOK_SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm"
# Valid check digits (Luhn).
IMEIS = ["356789012345672", "356789012345680", "356789012345698", "356789012345706"]


@pytest.fixture
def supplier_api(settings):
    """The supplier's API, answered by `responses` at the adapter boundary."""
    settings.SUPPLIER_TRANSPORT = "direct"
    settings.WESELLCELLULAR_API_URL = SUPPLIER_API
    settings.WESELLCELLULAR_API_KEY = "test-key"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def webhook_secret(settings):
    settings.WESELLCELLULAR_WEBHOOK_SECRET = WEBHOOK_SECRET
    return WEBHOOK_SECRET


def client_user(**fields) -> User:
    user = UserFactory(**fields)
    # The factory sets the password without saving it; a signed-in session checks it.
    user.save()
    return user


@pytest.fixture
def buyer():
    return client_user(role=User.Role.BUYER)


@pytest.fixture
def viewer(buyer):
    return client_user(company=buyer.company, role=User.Role.VIEWER)


@pytest.fixture
def stranger():
    """A buyer of another company."""
    return client_user(role=User.Role.BUYER)


@pytest.fixture
def product():
    return ProductFactory(offer__quantity=50)


def place(user, product, *, quantity=2, po_reference="", request_key=None):
    return services.place_order(company=user.company, user=user, ship_to=DEMO_SHIP_TO,
                                lines=[LineRequest(sku=product.sku, quantity=quantity)],
                                po_reference=po_reference, request_key=request_key)


@pytest.fixture
def order(buyer, product):
    return place(buyer, product, po_reference="PO-7781")


def shipped_event(order, *, version=5, status="shipped", carrier="UPS",
                  tracking_number="1Z999AA10123456784") -> bytes:
    """A supplier webhook that ships every unit of the order's single line."""
    line = order.lines.get()
    imeis = IMEIS[:line.quantity]
    snapshot = {
        "id": f"WSC-{order.pk}", "external_reference": order.number, "status": status,
        "version": version,
        "lines": [{"sku": line.supplier_sku, "quantity": line.quantity,
                   "unit_price": str(line.unit_cost), "quantity_shipped": len(imeis)}],
        "shipments": [{"id": "SHP-1", "carrier": carrier, "tracking_number": tracking_number,
                       "shipped_at": "2026-11-24T16:00:00Z",
                       "lines": [{"sku": line.supplier_sku, "quantity": len(imeis),
                                  "imeis": imeis}]}],
        "created_at": "2026-11-24T15:04:05Z", "updated_at": "2026-11-24T16:00:00Z"}
    return json.dumps({"type": f"order.{status}", "timestamp": "2026-11-24T16:00:00Z",
                       "data": {"order": snapshot}}).encode()


def signed_headers(body: bytes, *, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    """Standard Webhooks headers, as the supplier signs them."""
    webhook_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(timezone.utc)
    return {"webhook-id": webhook_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(webhook_id, now, body.decode())}


def deliver_and_process(client, body: bytes) -> None:
    """Post a signed supplier webhook to our endpoint and apply it, as the worker would."""
    headers = signed_headers(body)
    response = client.post(WEBHOOK_URL, data=body, content_type="application/json",
                           headers=headers)
    assert response.status_code == 200, response.content
    event = WebhookEvent.objects.get(webhook_id=headers["webhook-id"])
    assert process_webhook_event(event_id=event.pk) == WebhookEvent.Outcome.APPLIED


@pytest.fixture
def ship(client, webhook_secret):
    """Ship an order through a signed supplier webhook."""

    def ship(order, **kwargs):
        deliver_and_process(client, shipped_event(order, **kwargs))
        order.refresh_from_db()
        return order

    return ship
