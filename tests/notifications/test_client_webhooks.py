"""Webhooks to clients' own systems, delivered over real HTTP to a receiver the test starts."""

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from customers.models import User
from notifications import client_webhooks, services
from notifications.client_webhooks import EndpointDisabled
from notifications.models import ClientWebhookDelivery, ClientWebhookEndpoint, Notification
from orders.states import OrderStatus
from suppliers.models import SupplierOrder
from suppliers.webhooks import process_webhook_event
from suppliers.models import WebhookEvent
from tests.conftest import wait_until
from tests.factories import UserFactory
from tests.notifications.conftest import IMEIS, ship
from tests.suppliers.test_webhooks import (
    SECRET as SUPPLIER_SECRET,
)
from tests.suppliers.test_webhooks import (
    URL as SUPPLIER_WEBHOOK_URL,
)
from tests.suppliers.test_webhooks import (
    event_body,
    make_order,
    order_snapshot,
    signed_headers,
)

Status = ClientWebhookDelivery.Status


class Receiver:
    """A client's HTTP server: records every request; can answer 500, hold requests until
    released, or be stopped and started again on the same port (an outage)."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.requests: list[dict] = []
        self.status = 204
        self.released = threading.Event()
        self.released.set()
        self._server = None

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                receiver.released.wait(timeout=60)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def webhook_ids(self) -> list[str]:
        return [request["headers"]["webhook-id"] for request in self.requests]


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.released.set()
    receiver.stop()


@pytest.fixture(autouse=True)
def _client_webhook_settings(settings):
    settings.CLIENT_WEBHOOK_ALLOW_LOCALHOST = True
    settings.CLIENT_WEBHOOK_CONNECT_TIMEOUT = 2
    settings.CLIENT_WEBHOOK_READ_TIMEOUT = 5
    settings.CLIENT_WEBHOOK_RETRY_BASE_SECONDS = 30


@pytest.fixture
def endpoint(people, receiver):
    return client_webhooks.create_endpoint(
        company=people.company, url=receiver.url, created_by=people.admin,
        events=client_webhooks.SUBSCRIBABLE_EVENTS, description="ERP")


@pytest.fixture
def order(order):
    # Each test starts from an order whose placement is not in the way.
    ClientWebhookDelivery.objects.filter(order=order).delete()
    return order


def deliver_all():
    """What the enqueued tasks and the sweeper do, without a worker."""
    ids = list(ClientWebhookDelivery.objects.filter(status=Status.PENDING)
               .values_list("pk", flat=True))
    client_webhooks.deliver_client_webhooks(delivery_ids=ids)


def verified(request, secret):
    return Webhook(secret).verify(request["body"], request["headers"])


def test_a_shipment_is_delivered_signed_with_tracking_and_imeis(endpoint, order, receiver):
    shipment = ship(order)
    services.notify_order_event(order=order, event="shipped", shipment=shipment)
    delivery = ClientWebhookDelivery.objects.get(event_type="order.shipped")
    deliver_all()
    [request] = receiver.requests
    message = verified(request, endpoint.secret)
    assert message["type"] == "order.shipped"
    assert request["headers"]["webhook-id"] == delivery.webhook_id
    sent = message["data"]["order"]
    assert sent["id"] == str(order.public_id) and sent["number"] == order.number
    assert sent["po_reference"] == "PO-77"
    assert sent["totals"]["total"] == f"{order.total:.2f}"
    assert len(sent["lines"]) == 2
    [sent_shipment] = sent["shipments"]
    assert sent_shipment["carrier"] == "UPS"
    assert sent_shipment["tracking_number"] == "1Z999AA10123456784"
    assert sent_shipment["tracking_url"].startswith("https://")
    assert sent_shipment["imeis"] == list(IMEIS[:2])
    assert message["data"]["shipment"]["id"] == "SHP-1"
    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED and delivery.last_response_status == 204
    assert delivery.attempt_log.get().response_status == 204


def test_events_are_delivered_only_to_the_company_s_subscribed_active_endpoints(
        people, receiver, order):
    subscribed = client_webhooks.create_endpoint(company=people.company, url=receiver.url,
                                                 events=["delivered"])
    client_webhooks.create_endpoint(company=people.company, url=receiver.url + "/off",
                                    events=["shipped"])
    disabled = client_webhooks.create_endpoint(company=people.company,
                                               url=receiver.url + "/disabled",
                                               events=["delivered"])
    client_webhooks.disable_endpoint(endpoint=disabled, reason="test")
    client_webhooks.create_endpoint(company=UserFactory().company, url=receiver.url,
                                    events=["delivered"])
    services.notify_order_event(order=order, event="delivered")
    assert sorted(ClientWebhookDelivery.objects.values_list("endpoint", "event_type")) == [
        (subscribed.pk, "order.delivered"), (disabled.pk, "order.delivered")]
    # The disabled endpoint's delivery waits for it.
    deliver_all()
    assert len(receiver.requests) == 1
    assert ClientWebhookDelivery.objects.get(endpoint=disabled).status == Status.PENDING
    # Staff work and our own steps are not sent to clients.
    services.notify_order_event(order=order, event="needs_attention")
    services.notify_order_event(order=order, event="forwarded")
    assert ClientWebhookDelivery.objects.count() == 2


def test_a_receiver_down_then_up_gets_the_event_once_with_the_same_id(endpoint, order,
                                                                      receiver):
    receiver.stop()
    services.notify_order_event(order=order, event="confirmed")
    deliver_all()
    delivery = ClientWebhookDelivery.objects.get()
    assert delivery.status == Status.PENDING and delivery.attempts == 1
    assert delivery.next_attempt_at > timezone.now()
    assert "ConnectionError" in delivery.last_error
    # Not due yet: the sweeper leaves it alone.
    assert client_webhooks.sweep_client_webhooks() == 0

    receiver.start()
    ClientWebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    deliver_all()
    deliver_all()
    assert receiver.webhook_ids() == [delivery.webhook_id]
    verified(receiver.requests[0], endpoint.secret)
    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED and delivery.attempts == 2
    assert [attempt.response_status for attempt in delivery.attempt_log.order_by("pk")] == [
        None, 204]
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_a_delivery_past_its_retry_window_fails_and_disables_the_endpoint(
        endpoint, order, receiver, people, settings):
    settings.CLIENT_WEBHOOK_RETRY_WINDOW_SECONDS = 10  # less than the first backoff
    receiver.status = 500
    services.notify_order_event(order=order, event="confirmed")
    deliver_all()
    delivery = ClientWebhookDelivery.objects.get()
    assert delivery.status == Status.FAILED and delivery.last_response_status == 500
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at is not None


def test_repeated_failures_disable_the_endpoint_and_email_its_owners(
        endpoint, order, receiver, people, settings):
    settings.CLIENT_WEBHOOK_DISABLE_AFTER_FAILURES = 3
    receiver.status = 500
    services.notify_order_event(order=order, event="confirmed")
    for _attempt in range(2):
        deliver_all()
        ClientWebhookDelivery.objects.update(next_attempt_at=timezone.now())
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 2
    services.notify_order_event(order=order, event="delivered")
    deliver_all()
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "3" in endpoint.disabled_reason and "500" in endpoint.disabled_reason
    # Nothing more is sent while it is disabled, not even by the sweeper.
    ClientWebhookDelivery.objects.update(next_attempt_at=timezone.now())
    assert client_webhooks.sweep_client_webhooks() == 0
    deliver_all()
    assert len(receiver.requests) == 3
    [alert] = Notification.objects.filter(kind=Notification.Kind.CLIENT_ALERT)
    assert alert.recipient_email == people.admin.email  # the company's account admin
    assert endpoint.url in alert.subject and alert.language == "es"
    with pytest.raises(EndpointDisabled):
        client_webhooks.send_test_event(endpoint=endpoint)

    # Enabled again: what waited is sent, once.
    receiver.status = 200
    assert client_webhooks.enable_endpoint(endpoint=endpoint) == 2
    deliver_all()
    assert ClientWebhookDelivery.objects.filter(status=Status.DELIVERED).count() == 2
    assert len(receiver.requests) == 5


def test_a_resend_sends_the_same_message_again_with_its_id(endpoint, order, receiver):
    services.notify_order_event(order=order, event="delivered")
    deliver_all()
    delivery = ClientWebhookDelivery.objects.get()
    assert client_webhooks.resend_deliveries(delivery_ids=[delivery.pk]) == 1
    deliver_all()
    assert receiver.webhook_ids() == [delivery.webhook_id] * 2
    first, second = (json.loads(request["body"]) for request in receiver.requests)
    assert first == second
    assert delivery.attempt_log.count() == 2


def test_a_rotated_secret_signs_alongside_the_old_one_for_a_while(endpoint, order, receiver):
    old_secret = endpoint.secret
    new_secret = client_webhooks.rotate_secret(endpoint=endpoint)
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    client_webhooks.send_test_event(endpoint=endpoint)
    deliver_all()
    for secret in (old_secret, new_secret):
        assert verified(receiver.requests[0], secret)["type"] == "webhook.test"
    ClientWebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    client_webhooks.send_test_event(endpoint=endpoint)
    deliver_all()
    assert receiver.requests[1]["headers"]["webhook-signature"].count("v1,") == 1
    verified(receiver.requests[1], new_secret)


@pytest.mark.parametrize("url", ["http://example.com/hooks", "ftp://example.com/",
                                 "https://user:pass@example.com/", "example.com"])
def test_endpoints_must_be_https(people, url):
    with pytest.raises(ValidationError):
        client_webhooks.create_endpoint(company=people.company, url=url, events=["shipped"])


def test_plain_http_to_this_machine_needs_the_setting(people, settings):
    settings.CLIENT_WEBHOOK_ALLOW_LOCALHOST = False
    with pytest.raises(ValidationError):
        client_webhooks.create_endpoint(company=people.company,
                                        url="http://127.0.0.1:9000/", events=["shipped"])


# --- Through the supplier's webhooks --------------------------------------------------------
@pytest.fixture
def supplier_secret(settings):
    settings.WESELLCELLULAR_WEBHOOK_SECRET = SUPPLIER_SECRET


def post_supplier_event(client, body, **headers):
    return client.post(SUPPLIER_WEBHOOK_URL, data=body, content_type="application/json",
                       **headers)


def test_a_duplicate_supplier_webhook_sends_nothing_more(db, client, receiver, supplier_secret):
    order = make_order()
    endpoint = client_webhooks.create_endpoint(company=order.company, url=receiver.url,
                                               events=["confirmed"])
    body = event_body("order.accepted", {"order": order_snapshot(order, status="accepted",
                                                                 version=2)})
    headers = signed_headers(body)
    for _repeat in range(2):
        assert post_supplier_event(client, body, **headers).status_code == 200
    # The same news under another webhook id (the supplier sent it twice).
    again = signed_headers(body)
    assert post_supplier_event(client, body, **again).status_code == 200
    for event in WebhookEvent.objects.all():
        process_webhook_event(event_id=event.pk)
    deliver_all()
    assert len(receiver.requests) == 1
    assert verified(receiver.requests[0], endpoint.secret)["type"] == "order.confirmed"
    assert ClientWebhookDelivery.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_slow_receiver_does_not_hold_up_the_supplier_webhook_endpoint(
        client, receiver, reference_data, start_worker, settings):
    settings.WESELLCELLULAR_WEBHOOK_SECRET = SUPPLIER_SECRET
    order = make_order()
    # Already with the supplier: the worker has nothing to forward.
    SupplierOrder.objects.filter(order=order).update(
        forwarding_state=SupplierOrder.ForwardingState.FORWARDED,
        supplier_order_id=f"WSC-{order.pk}")
    endpoint = client_webhooks.create_endpoint(company=order.company, url=receiver.url,
                                               events=["confirmed", "delivered"])
    start_worker(name="client-webhooks", CLIENT_WEBHOOK_ALLOW_LOCALHOST="true",
                 CLIENT_WEBHOOK_READ_TIMEOUT="60",
                 WESELLCELLULAR_WEBHOOK_SECRET=SUPPLIER_SECRET)
    receiver.released.clear()  # the client's server takes as long as the test says

    accepted = event_body("order.accepted", {"order": order_snapshot(order, status="accepted",
                                                                     version=2)})
    assert post_supplier_event(client, accepted, **signed_headers(accepted)).status_code == 200
    wait_until(lambda: receiver.requests, timeout=60)
    confirmed = ClientWebhookDelivery.objects.get(event_type="order.confirmed")
    assert confirmed.status == Status.SENDING

    # While the receiver still holds that request, the next supplier webhook is answered
    # and applied, and its delivery waits its turn in the background.
    delivered = event_body("order.delivered", {"order": order_snapshot(
        order, status="delivered", version=6)})
    response = post_supplier_event(client, delivered, **signed_headers(delivered))
    assert response.status_code == 200
    wait_until(lambda: ClientWebhookDelivery.objects.filter(
        event_type="order.delivered").exists(), timeout=60)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    confirmed.refresh_from_db()
    assert confirmed.status == Status.SENDING

    receiver.released.set()
    wait_until(lambda: ClientWebhookDelivery.objects.filter(status=Status.DELIVERED).count() == 2,
               timeout=60)
    for request in receiver.requests:
        verified(request, endpoint.secret)
    assert sorted(json.loads(request["body"])["type"] for request in receiver.requests) == [
        "order.confirmed", "order.delivered"]


def test_only_account_admins_are_told_and_never_a_stranger(endpoint, people):
    outsider_admin = UserFactory(role=User.Role.ACCOUNT_ADMIN)
    client_webhooks.disable_endpoint(endpoint=endpoint, reason="test")
    alerts = client_webhooks.alert_endpoint_owners(endpoint=endpoint)
    assert [alert.recipient_email for alert in alerts] == [people.admin.email]
    assert outsider_admin.email not in Notification.objects.values_list("recipient_email",
                                                                        flat=True)
    # Once per disabling.
    assert client_webhooks.alert_endpoint_owners(endpoint=endpoint) == []


# --- Admin -----------------------------------------------------------------------------------
@pytest.fixture
def staff_client(client, db):
    client.force_login(User.objects.create_superuser(email="ops@phoneexport.test",
                                                     password="x" * 12))
    return client


def test_staff_re_send_a_delivery_and_re_enable_an_endpoint_from_admin(
        staff_client, endpoint, order, receiver):
    services.notify_order_event(order=order, event="delivered")
    deliver_all()
    delivery = ClientWebhookDelivery.objects.get()
    page = staff_client.get(f"/admin/notifications/clientwebhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200 and "204" in page.content.decode()
    assert endpoint.secret not in staff_client.get(
        f"/admin/notifications/clientwebhookendpoint/{endpoint.pk}/change/").content.decode()

    staff_client.post("/admin/notifications/clientwebhookdelivery/", {
        "action": "resend", "_selected_action": [delivery.pk]})
    deliver_all()
    assert receiver.webhook_ids() == [delivery.webhook_id] * 2

    client_webhooks.disable_endpoint(endpoint=endpoint, reason="kept failing")
    services.notify_order_event(order=order, event="cancelled")
    deliver_all()
    assert len(receiver.requests) == 2
    staff_client.post("/admin/notifications/clientwebhookendpoint/", {
        "action": "enable", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == ""
    deliver_all()
    assert json.loads(receiver.requests[2]["body"])["type"] == "order.cancelled"
