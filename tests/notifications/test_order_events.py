"""Each order event emails exactly the expected people, once, through a real SMTP server."""

import csv
import io

import pytest
from django.utils import timezone, translation

from customers.models import ClientCompany, User
from notifications import services
from notifications.emails import SHIPMENT_EVENTS
from notifications.models import Event, Notification, NotificationPreference
from orders.models import Order
from orders.states import OrderStatus
from tests.notifications.conftest import IMEIS, STAFF_EMAIL, send_all, ship

pytestmark = pytest.mark.django_db

SHIPPING_NEWS = {Event.PARTIALLY_SHIPPED, Event.SHIPPED, Event.DELIVERED}


def expected_recipients(event: str) -> list[str]:
    if event == Event.NEEDS_ATTENTION:
        return [STAFF_EMAIL]
    people = ["buyer@acme.test", "admin@acme.test", "colleague@acme.test", STAFF_EMAIL]
    if event in SHIPPING_NEWS:
        people.append("viewer@acme.test")
    return sorted(people)


def notify(order, event, **kwargs):
    return services.notify_order_event(order=order, event=event, **kwargs)


@pytest.mark.parametrize("event", list(Event))
def test_each_event_emails_exactly_the_expected_recipients(
        event, order, smtp_server, django_capture_on_commit_callbacks):
    shipment = ship(order) if event in SHIPMENT_EVENTS else None
    with django_capture_on_commit_callbacks() as callbacks:
        notifications = notify(order, event, shipment=shipment, reason="Waiting for stock")
    assert len(callbacks) == 1  # one send task for the event, enqueued only after commit
    assert smtp_server.mailbox.deliveries == []

    send_all(notifications)

    assert smtp_server.mailbox.recipients() == expected_recipients(event)
    order_url = f"https://phoneexport.test/orders/{order.public_id}/"
    for delivery in smtp_server.mailbox.deliveries:
        message = delivery.message
        assert message["To"] == delivery.recipient
        assert message["Auto-Submitted"] == "auto-generated"
        assert order.number in message["Subject"] and "PO-77" in message["Subject"]
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        for body in (text, html):
            assert order.number in body and order_url in body and "Waiting for stock" in body
            assert "{{" not in body and "{%" not in body
        attachments = list(message.iter_attachments())
        if shipment is None:
            assert attachments == []
        else:
            [attachment] = attachments
            assert attachment.get_content_type() == "text/csv"
            assert attachment.get_filename() == f"{order.number}-SHP-1-imeis.csv"
            rows = list(csv.DictReader(io.StringIO(attachment.get_content())))
            assert [row["imei"] for row in rows] == list(IMEIS[:2])
            assert {row["tracking_number"] for row in rows} == {"1Z999AA10123456784"}
            assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in html
    assert all(notification.status == Notification.Status.SENT
               for notification in Notification.objects.all())


def test_each_recipient_gets_the_message_in_their_language(order, people, smtp_server):
    send_all(notify(order, Event.CONFIRMED))
    by_recipient = {delivery.recipient: delivery.message
                    for delivery in smtp_server.mailbox.deliveries}
    spanish = by_recipient[people.admin.email].get_body(("html",)).get_content()
    english = by_recipient[people.buyer.email].get_body(("html",)).get_content()
    assert '<html lang="es">' in spanish and '<html lang="en">' in english
    with translation.override("es"):
        assert str(OrderStatus.PLACED.label) in spanish
    assert Notification.objects.get(recipient_email=people.admin.email).language == "es"


def test_staff_copies_name_the_client_and_link_to_admin(order, smtp_server):
    send_all(notify(order, Event.REJECTED, reason="Insufficient stock"))
    [staff_copy] = [delivery.message for delivery in smtp_server.mailbox.deliveries
                    if delivery.recipient == STAFF_EMAIL]
    assert staff_copy["Subject"].startswith("[Acme & Sons Mobile] ")
    text = staff_copy.get_body(("plain",)).get_content()
    assert "Acme & Sons Mobile" in text  # plain text is not HTML-escaped
    assert f"/admin/orders/order/{order.pk}/change/" in text


def test_a_duplicate_event_sends_nothing_more(order, smtp_server,
                                              django_capture_on_commit_callbacks):
    first = notify(order, Event.CONFIRMED)
    send_all(first)
    with django_capture_on_commit_callbacks() as callbacks:
        assert notify(order, Event.CONFIRMED) == []
    assert callbacks == []
    send_all(first)  # a task delivered twice by the broker
    assert smtp_server.mailbox.recipients() == expected_recipients(Event.CONFIRMED)
    assert Notification.objects.count() == len(first)


def test_every_shipment_is_announced_once(order, smtp_server):
    first = ship(order, shipment_id="SHP-1", imeis=IMEIS[:1])
    send_all(notify(order, Event.PARTIALLY_SHIPPED, shipment=first))
    second = ship(order, shipment_id="SHP-2", carrier="FedEx", tracking="123456789012",
                  imeis=IMEIS[1:])
    # Called from the status change (no shipment given) and for the new shipment: one email.
    send_all(notify(order, Event.PARTIALLY_SHIPPED))
    assert notify(order, Event.PARTIALLY_SHIPPED, shipment=second) == []
    recipients = expected_recipients(Event.PARTIALLY_SHIPPED)
    assert smtp_server.mailbox.recipients() == sorted(recipients * 2)
    buyer_messages = [delivery.message for delivery in smtp_server.mailbox.deliveries
                      if delivery.recipient == "buyer@acme.test"]
    assert [message["Subject"] for message in buyer_messages] == [
        f"Order {order.number} (PO PO-77) partly shipped: UPS 1Z999AA10123456784",
        f"Order {order.number} (PO PO-77) partly shipped: FedEx 123456789012"]
    [attachment] = buyer_messages[1].iter_attachments()
    assert [row["imei"] for row in csv.DictReader(io.StringIO(attachment.get_content()))] == \
        list(IMEIS[1:])


def test_an_order_put_on_hold_again_is_news_again(order, smtp_server):
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.ON_HOLD)
    order.refresh_from_db()
    send_all(notify(order, Event.ON_HOLD, reason="Address check"))
    assert notify(order, Event.ON_HOLD, reason="Address check") == []
    order.status_changed_at = timezone.now()  # off hold, and on hold again
    send_all(notify(order, Event.ON_HOLD, reason="Payment check"))
    recipients = expected_recipients(Event.ON_HOLD)
    assert smtp_server.mailbox.recipients() == sorted(recipients * 2)


def test_placed_again_after_a_staff_resend_is_not_news(order, smtp_server):
    send_all(notify(order, Event.PLACED))
    order.status_changed_at = timezone.now()
    assert notify(order, Event.PLACED) == []


def test_inactive_and_other_companies_users_are_never_emailed(order, people, smtp_server):
    User.objects.filter(pk=people.buyer.pk).update(is_active=False)
    order.refresh_from_db()
    send_all(notify(order, Event.DELIVERED))
    recipients = smtp_server.mailbox.recipients()
    assert people.buyer.email not in recipients
    assert people.departed.email not in recipients and people.stranger.email not in recipients
    assert people.viewer.email in recipients


def test_colleagues_who_opted_out_are_not_emailed_but_the_placing_user_is(
        order, people, smtp_server):
    for user in (people.buyer, people.colleague):
        NotificationPreference.objects.create(user=user, event=Event.CONFIRMED,
                                              email_enabled=False)
    send_all(notify(order, Event.CONFIRMED))
    assert smtp_server.mailbox.recipients() == sorted(
        ["buyer@acme.test", "admin@acme.test", STAFF_EMAIL])


def test_the_account_manager_receives_the_clients_emails(order, people, smtp_server):
    manager = User.objects.create_user(email="manager@phoneexport.test", is_staff=True,
                                       language="es")
    ClientCompany.objects.filter(pk=order.company_id).update(account_manager=manager)
    order.company.refresh_from_db()
    send_all(notify(order, Event.NEEDS_ATTENTION, reason="Price changed"))
    assert smtp_server.mailbox.recipients() == sorted([STAFF_EMAIL, manager.email])
    notification = Notification.objects.get(recipient_email=manager.email)
    assert notification.language == "es" and notification.subject.startswith("[Acme & Sons")
    NotificationPreference.objects.create(user=manager, event=Event.CONFIRMED,
                                          email_enabled=False)
    assert manager.email not in {notification.recipient_email
                                 for notification in notify(order, Event.CONFIRMED)}


def test_emails_go_out_after_commit_through_the_task(order, smtp_server, eager_celery,
                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(order, Event.CONFIRMED)
        assert smtp_server.mailbox.deliveries == []
    assert smtp_server.mailbox.recipients() == expected_recipients(Event.CONFIRMED)


def test_statuses_map_to_events():
    assert services.event_for_status(OrderStatus.SUBMITTED) == Event.FORWARDED
    assert services.event_for_status(OrderStatus.PROCESSING) is None
    assert {services.event_for_status(status) for status in OrderStatus} - {None} == set(Event)


def test_an_unknown_event_is_refused(order):
    with pytest.raises(ValueError):
        notify(order, "teleported")
