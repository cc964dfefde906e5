"""A real SMTP server (aiosmtpd) on a free port, and an order with a company full of users."""

import socket
from decimal import Decimal
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from customers.models import User
from notifications import services
from notifications.models import Notification
from orders import services as order_services
from orders.models import Shipment, ShipmentImei, ShipmentLine
from orders.services import LineRequest
from phoneexport.celery import app as celery_app
from tests.factories import DEMO_SHIP_TO, ClientCompanyFactory, ProductFactory, UserFactory

STAFF_EMAIL = "staff@phoneexport.test"
# Valid (Luhn) IMEIs.
IMEIS = ("356938035643809", "490154203237518", "353918050938017")


@dataclass(frozen=True)
class Delivery:
    recipient: str
    message: EmailMessage


class Mailbox:
    """The server's handler: keeps one parsed message per recipient it accepted."""

    def __init__(self):
        self.deliveries: list[Delivery] = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.deliveries += [Delivery(recipient, message) for recipient in envelope.rcpt_tos]
        return "250 Message accepted for delivery"

    def recipients(self) -> list[str]:
        return sorted(delivery.recipient for delivery in self.deliveries)


class SmtpServer:
    """Can be stopped and started again on the same port: an outage and a recovery."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self):
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server(settings):
    server = SmtpServer()
    server.start()
    # What EMAIL_URL=smtp://127.0.0.1:<port> configures.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _notification_settings(settings):
    settings.STAFF_EMAIL = STAFF_EMAIL
    settings.SITE_URL = "https://phoneexport.test"
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 60
    settings.NOTIFICATION_MAX_ATTEMPTS = 5


@pytest.fixture
def eager_celery(monkeypatch):
    """Tasks run in the test's thread when enqueued: the enqueue path without a worker."""
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    monkeypatch.setattr(celery_app.conf, "task_eager_propagates", True)


@pytest.fixture
def people(db):
    company = ClientCompanyFactory(name="Acme & Sons Mobile")
    return SimpleNamespace(
        company=company,
        buyer=UserFactory(company=company, email="buyer@acme.test"),
        admin=UserFactory(company=company, email="admin@acme.test",
                          role=User.Role.ACCOUNT_ADMIN, language="es"),
        colleague=UserFactory(company=company, email="colleague@acme.test"),
        viewer=UserFactory(company=company, email="viewer@acme.test", role=User.Role.VIEWER),
        departed=UserFactory(company=company, email="departed@acme.test", is_active=False),
        stranger=UserFactory(email="someone@other.test"),
    )


@pytest.fixture
def order(people):
    products = [ProductFactory(), ProductFactory(sell_price=Decimal("199.99"))]
    placed = order_services.place_order(
        company=people.company, user=people.buyer, ship_to=DEMO_SHIP_TO, po_reference="PO-77",
        lines=[LineRequest(sku=products[0].sku, quantity=2),
               LineRequest(sku=products[1].sku, quantity=1)])
    # Each test starts from an order whose own placement emails are not in the way.
    Notification.objects.filter(order=placed).delete()
    return placed


def ship(order, *, shipment_id="SHP-1", carrier="UPS", tracking="1Z999AA10123456784",
         imeis=IMEIS[:2]) -> Shipment:
    shipment = Shipment.objects.create(order=order, supplier_shipment_id=shipment_id,
                                       carrier=carrier, tracking_number=tracking,
                                       shipped_at=timezone.now())
    line = order.lines.first()
    shipment_line = ShipmentLine.objects.create(shipment=shipment, order_line=line,
                                                sku=line.supplier_sku, quantity=len(imeis))
    ShipmentImei.objects.bulk_create([ShipmentImei(shipment_line=shipment_line, imei=imei)
                                      for imei in imeis])
    return shipment


def send_all(notifications: list[Notification]) -> None:
    """What the enqueued tasks do, without a worker."""
    for notification in notifications:
        services.send_notification(notification_id=notification.pk)
