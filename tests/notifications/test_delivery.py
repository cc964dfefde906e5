"""Sending through SMTP: outages, retries with backoff, final failure, re-send, claims."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customers.models import User
from notifications import services
from notifications.models import AlertKind, Event, Notification
from tests.notifications.conftest import STAFF_EMAIL, send_all

Status = Notification.Status
pytestmark = pytest.mark.django_db


def make_due():
    Notification.objects.filter(status=Status.PENDING).update(next_attempt_at=timezone.now())


def alert(dedup_key="outage"):
    return services.alert_staff(kind=AlertKind.INVENTORY_SYNC_FAILURE,
                                subject="Inventory sync failed", message="HTTP 503",
                                dedup_key=dedup_key)


def test_smtp_down_then_up_sends_each_message_once_and_loses_none(order, smtp_server,
                                                                   eager_celery):
    smtp_server.stop()
    notifications = services.notify_order_event(order=order, event=Event.CONFIRMED)
    send_all(notifications)
    for notification in Notification.objects.all():
        assert notification.status == Status.PENDING and notification.attempts == 1
        assert "ConnectionRefusedError" in notification.error
        assert notification.next_attempt_at > timezone.now() + timedelta(seconds=29)
    assert services.sweep_notifications() == 0  # backing off: nothing due yet

    smtp_server.start()
    make_due()
    assert services.sweep_notifications() == len(notifications)  # the tasks run eagerly
    assert services.sweep_notifications() == 0
    send_all(notifications)

    assert smtp_server.mailbox.recipients() == sorted(
        notification.recipient_email for notification in notifications)
    for notification in Notification.objects.all():
        assert notification.status == Status.SENT and notification.attempts == 2
        assert notification.error == "" and notification.sent_at is not None


def test_backoff_doubles_up_to_the_cap(settings):
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 10
    settings.NOTIFICATION_RETRY_CAP_SECONDS = 60
    assert 5 <= services.retry_delay(attempts=1) <= 10
    assert 20 <= services.retry_delay(attempts=3) <= 40
    assert 30 <= services.retry_delay(attempts=9) <= 60


def test_the_last_failure_is_kept_for_staff_who_can_send_it_again(
        settings, smtp_server, eager_celery, client, django_capture_on_commit_callbacks):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    smtp_server.stop()
    notification = alert()
    send_all([notification])
    make_due()
    send_all([notification])
    notification.refresh_from_db()
    assert notification.status == Status.FAILED and notification.attempts == 2
    assert "ConnectionRefusedError" in notification.error
    assert services.sweep_notifications() == 0  # failed ones wait for staff

    smtp_server.start()
    staff = User.objects.create_superuser(email="ops@phoneexport.test", password="x" * 12)
    client.force_login(staff)
    changelist = reverse("admin:notifications_notification_changelist")
    assert client.get(changelist, {"status__exact": "failed"}).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, {"action": "resend",
                                            "_selected_action": [notification.pk]})
    assert response.status_code == 302
    notification.refresh_from_db()
    assert notification.status == Status.SENT and notification.attempts == 1
    assert smtp_server.mailbox.recipients() == [STAFF_EMAIL]
    # A sent message is not sent again by a second click.
    assert services.resend_notifications(notification_ids=[notification.pk]) == 0


def test_an_address_refused_for_good_fails_at_once(order, people, smtp_server):
    smtp_server.mailbox.refused.add(people.colleague.email)
    send_all(services.notify_order_event(order=order, event=Event.CONFIRMED))
    refused = Notification.objects.get(recipient_email=people.colleague.email)
    assert refused.status == Status.FAILED and refused.attempts == 1
    assert "550" in refused.error
    assert Notification.objects.filter(status=Status.SENT).count() == 3


def test_a_message_being_sent_is_not_sent_again(smtp_server, eager_celery, settings):
    notification = alert()
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.SENDING, claimed_at=timezone.now(), attempts=1)
    send_all([notification])  # a duplicate task
    assert services.sweep_notifications() == 0
    assert smtp_server.mailbox.deliveries == []

    # The worker that claimed it died: once the claim is old, the sweeper takes it back.
    Notification.objects.filter(pk=notification.pk).update(
        claimed_at=timezone.now() - timedelta(
            seconds=settings.NOTIFICATION_CLAIM_TIMEOUT_SECONDS + 1))
    assert services.sweep_notifications() == 1
    notification.refresh_from_db()
    assert notification.status == Status.SENT and notification.attempts == 2
    assert smtp_server.mailbox.recipients() == [STAFF_EMAIL]


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_send_once(smtp_server):
    notification = alert()
    start = threading.Barrier(4)

    def sender():
        start.wait()
        try:
            services.send_notification(notification_id=notification.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    notification.refresh_from_db()
    assert notification.status == Status.SENT and notification.attempts == 1
    assert smtp_server.mailbox.recipients() == [STAFF_EMAIL]
