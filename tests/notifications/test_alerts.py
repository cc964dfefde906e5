"""Staff alerts: once per problem, to the staff mailbox, in the default language."""

import uuid
from types import SimpleNamespace

import pytest

from notifications import services
from notifications.models import AlertKind, Notification
from tests.notifications.conftest import STAFF_EMAIL, send_all

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", list(AlertKind))
def test_each_alert_emails_the_staff_mailbox_once(kind, smtp_server, order,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        notification = services.alert_staff(kind=kind, subject="Something broke",
                                            message="Line one.\nLine two.",
                                            dedup_key="incident-1", order=order)
    assert len(callbacks) == 1
    assert services.alert_staff(kind=kind, subject="Something broke", message="again",
                                dedup_key="incident-1") is None
    send_all([notification])
    [delivery] = smtp_server.mailbox.deliveries
    assert delivery.recipient == STAFF_EMAIL
    assert delivery.message["Subject"] == "Alert: Something broke"
    html = delivery.message.get_body(("html",)).get_content()
    assert "<p>Line one.<br>Line two.</p>" in html and order.number in html
    assert f"/admin/orders/order/{order.pk}/change/" in html
    assert "Line two." in delivery.message.get_body(("plain",)).get_content()


def test_an_unknown_alert_kind_is_refused():
    with pytest.raises(ValueError):
        services.alert_staff(kind="weather", subject="s", message="m", dedup_key="k")


def test_no_staff_mailbox_no_alert(settings):
    settings.STAFF_EMAIL = ""
    assert services.alert_staff(kind=AlertKind.SUPPLIER_AUTH_FAILURE, subject="s",
                                message="m", dedup_key="k") is None
    assert not Notification.objects.exists()


def test_a_burst_of_bad_signatures_alerts_once_per_window(settings, monkeypatch):
    settings.WEBHOOK_SIGNATURE_ALERT_THRESHOLD = 3
    settings.WEBHOOK_SIGNATURE_ALERT_WINDOW_SECONDS = 300
    clock = SimpleNamespace(time=lambda: 1_800_000_000.0)
    monkeypatch.setattr(services, "time", clock)
    slug = f"supplier-{uuid.uuid4().hex[:8]}"  # the cache outlives each test

    outcomes = [services.record_bad_webhook_signature(supplier_slug=slug) for _ in range(6)]
    assert [outcome is not None for outcome in outcomes] == [False, False, True, False, False,
                                                             False]
    assert outcomes[2].event == AlertKind.WEBHOOK_SIGNATURE_BURST
    assert slug in outcomes[2].subject

    clock.time = lambda: 1_800_000_000.0 + 300  # the next window counts afresh
    outcomes = [services.record_bad_webhook_signature(supplier_slug=slug) for _ in range(3)]
    assert [outcome is not None for outcome in outcomes] == [False, False, True]
    assert Notification.objects.filter(kind=Notification.Kind.STAFF_ALERT).count() == 2
