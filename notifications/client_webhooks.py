"""Webhooks to clients' own systems: order events POSTed to their HTTPS endpoints, signed.

The same shape as the emails: one delivery row per (endpoint, order, event[, shipment]) is
recorded in the transaction that changes the order, with the payload as of the event; a task
POSTs it after commit, so the order flow never waits for a client's server. A unique key
makes repeats (a duplicate supplier webhook, a replayed task) record nothing more. Sending
claims the row with a compare-and-set; a failure waits in the database (`next_attempt_at`,
backoff with jitter) for up to CLIENT_WEBHOOK_RETRY_WINDOW_SECONDS, where the sweeper finds
it again. Every HTTP try is kept as a `ClientWebhookAttempt`. Messages are signed with
Standard Webhooks (https://www.standardwebhooks.com/): `webhook-id` stays the same across
retries and re-sends, so the client's receiver can drop a message it already processed.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from urllib.parse import urlsplit

import requests
import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from standardwebhooks.webhooks import Webhook

from customers.models import ClientCompany, User
from notifications import emails
from notifications import tasks as notification_tasks
from notifications.emails import SHIPMENT_EVENTS, tracking_url
from notifications.models import (
    ClientWebhookAttempt,
    ClientWebhookDelivery,
    ClientWebhookEndpoint,
    Event,
    Notification,
)
from orders.models import Order, Shipment
from phoneexport.db import insert_new
from phoneexport.memo import memoized
from phoneexport.queueing import enqueue_on_commit

logger = structlog.get_logger(__name__)

Status = ClientWebhookDelivery.Status
SWEEP_BATCH = 500
# Per task: each delivery may hold the worker thread for a full timeout.
DELIVER_BATCH = 5
RESPONSE_EXCERPT_BYTES = 1000
TEST_EVENT_TYPE = "webhook.test"
ENDPOINT_DISABLED_EVENT = "webhook_endpoint_disabled"

# The order events clients can subscribe to, and the type each is delivered as. Left out:
# awaiting_approval (the client's own step), forwarded (our step with the supplier) and
# needs_attention (staff work; the client hears the outcome).
EVENT_TYPES: dict[str, str] = {
    Event.PLACED: "order.placed",
    Event.CONFIRMED: "order.confirmed",
    Event.ON_HOLD: "order.on_hold",
    Event.BACKORDERED: "order.backordered",
    Event.PARTIALLY_SHIPPED: "order.partially_shipped",
    Event.SHIPPED: "order.shipped",
    Event.DELIVERED: "order.delivered",
    Event.CANCELLED: "order.cancelled",
    Event.REJECTED: "order.rejected",
}
SUBSCRIBABLE_EVENTS = tuple(EVENT_TYPES)
# An order can enter these again: each time is news (as for the emails).
RECURRING_EVENTS = frozenset({Event.ON_HOLD, Event.BACKORDERED})


class EndpointDisabled(Exception):
    """The endpoint is disabled: enable it before sending to it."""


# --- Endpoints ---------------------------------------------------------------------------
def generate_secret() -> str:
    """A new signing secret in Standard Webhooks form: `whsec_` and 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def validate_endpoint_url(url: str) -> str:
    """The URL if it may receive webhooks: HTTPS, or plain http to this machine when
    CLIENT_WEBHOOK_ALLOW_LOCALHOST is on (tests and local development)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if not host:
        raise ValidationError(_("Enter a full URL, such as https://example.com/webhooks."),
                              code="invalid_url")
    if parts.username or parts.password:
        raise ValidationError(_("Do not put credentials in the URL."), code="credentials")
    if parts.scheme == "https":
        return url.strip()
    if parts.scheme == "http" and settings.CLIENT_WEBHOOK_ALLOW_LOCALHOST and _is_local(host):
        return url.strip()
    raise ValidationError(_("The URL must start with https://."), code="https_required")


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = set(events)
    if unknown := chosen - set(SUBSCRIBABLE_EVENTS):
        raise ValidationError(_("Unknown events: %(events)s") % {
            "events": ", ".join(sorted(unknown))}, code="unknown_events")
    if not chosen:
        raise ValidationError(_("Choose at least one event."), code="no_events")
    return [event for event in SUBSCRIBABLE_EVENTS if event in chosen]


def create_endpoint(*, company: ClientCompany, url: str, events: Iterable[str],
                    description: str = "", created_by: User | None = None
                    ) -> ClientWebhookEndpoint:
    """Register an endpoint with a new secret; the caller shows the secret once."""
    endpoint = ClientWebhookEndpoint(
        company=company, url=validate_endpoint_url(url), events=_clean_events(events),
        description=description.strip(), secret=generate_secret(), created_by=created_by)
    endpoint.full_clean(exclude=["secret", "previous_secret"])
    endpoint.save()
    logger.info("client_webhook_endpoint_created", endpoint_id=endpoint.pk,
                company_id=company.pk)
    return endpoint


def rotate_secret(*, endpoint: ClientWebhookEndpoint) -> str:
    """Give the endpoint a new secret and return it (shown once). The old one keeps signing
    alongside it for CLIENT_WEBHOOK_SECRET_GRACE_SECONDS, while the client switches over."""
    new_secret = generate_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(
        seconds=settings.CLIENT_WEBHOOK_SECRET_GRACE_SECONDS)
    endpoint.secret = new_secret
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at",
                                 "updated_at"])
    logger.info("client_webhook_secret_rotated", endpoint_id=endpoint.pk)
    return new_secret


def disable_endpoint(*, endpoint: ClientWebhookEndpoint, reason: str) -> None:
    """Stop sending to the endpoint; its waiting deliveries stay pending until it is enabled."""
    ClientWebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason=reason,
        updated_at=timezone.now())
    endpoint.refresh_from_db()


def enable_endpoint(*, endpoint: ClientWebhookEndpoint) -> int:
    """Send to the endpoint again, starting with what waited while it was disabled, each with
    a fresh retry window. Returns how many deliveries were queued."""
    now = timezone.now()
    with transaction.atomic():
        ClientWebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            is_active=True, disabled_at=None, disabled_reason="", consecutive_failures=0,
            updated_at=now)
        waiting = list(endpoint.deliveries.filter(status=Status.PENDING)
                       .values_list("pk", flat=True))
        ClientWebhookDelivery.objects.filter(pk__in=waiting).update(
            next_attempt_at=now, retry_until=None)
        _deliver_after_commit(waiting)
    endpoint.refresh_from_db()
    logger.info("client_webhook_endpoint_enabled", endpoint_id=endpoint.pk, queued=len(waiting))
    return len(waiting)


def delete_endpoint(*, endpoint: ClientWebhookEndpoint) -> None:
    """Remove the endpoint with its deliveries and their attempts."""
    logger.info("client_webhook_endpoint_deleted", endpoint_id=endpoint.pk)
    endpoint.delete()


# --- Recording ---------------------------------------------------------------------------
def _fit_key(key: str) -> str:
    return key if len(key) <= 255 else "sha256:" + sha256(key.encode()).hexdigest()


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _money(value) -> str:
    return f"{value:.2f}"


def _shipment_payload(shipment: Shipment) -> dict:
    lines = [{"sku": line.sku, "quantity": line.quantity,
              "imeis": [imei.imei for imei in line.imeis.all()]}
             for line in shipment.lines.all()]
    return {
        "id": shipment.supplier_shipment_id,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "tracking_url": tracking_url(carrier=shipment.carrier,
                                     tracking_number=shipment.tracking_number),
        "shipped_at": shipment.shipped_at,
        "lines": lines,
        "imeis": [imei for line in lines for imei in line["imeis"]],
    }


def order_payload(order: Order) -> dict:
    """The order as clients' systems receive it (docs/client-webhooks.md)."""
    return {
        "id": str(order.public_id),
        "number": order.number,
        "status": order.status,
        "status_reason": order.status_reason,
        "po_reference": order.po_reference,
        "created_at": order.created_at,
        "currency": order.currency,
        "totals": {"subtotal": _money(order.subtotal), "total": _money(order.total)},
        "lines": [{"sku": line.sku, "description": line.description,
                   "quantity": line.quantity, "quantity_shipped": line.quantity_shipped,
                   "unit_price": _money(line.unit_price),
                   "line_total": _money(line.line_total)} for line in order.lines.all()],
        "shipments": [_shipment_payload(shipment) for shipment in order.shipments.all()],
    }


def _message(*, event_type: str, data: dict) -> dict:
    # Round-trip through JSON: dates and decimals are stored as the client will read them.
    return json.loads(json.dumps({"type": event_type, "timestamp": timezone.now(),
                                  "data": data}, cls=DjangoJSONEncoder))


def _delivery_key(*, endpoint_id: int, order: Order, event: str,
                  shipment: Shipment | None) -> str:
    parts = ["endpoint", str(endpoint_id), "order", str(order.pk), event]
    if shipment is not None:
        parts += ["shipment", str(shipment.pk)]
    if event in RECURRING_EVENTS:
        parts.append(order.status_changed_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ"))
    return _fit_key(":".join(parts))


def _deliver_after_commit(delivery_ids: list[int]) -> None:
    # Rows are pending and due: if this enqueue is lost, the sweeper sends them.
    for start in range(0, len(delivery_ids), DELIVER_BATCH):
        enqueue_on_commit(notification_tasks.deliver_client_webhooks,
                          delivery_ids[start:start + DELIVER_BATCH])


def record_order_event_deliveries(*, order: Order, event: str, shipment: Shipment | None = None,
                                  reason: str = "") -> list[ClientWebhookDelivery]:
    """Record the event for each of the company's endpoints subscribed to it, with the order
    as of now, and POST them after commit (those to disabled endpoints wait for them).

    Called by `notify_order_event`, inside the transaction that changes the order. Returns the
    deliveries this call created: none for a repeat, an event clients do not receive, or a
    company without endpoints (one query).
    """
    event = Event(event)
    if event not in EVENT_TYPES:
        return []
    # Disabled endpoints too: their deliveries wait, and are sent when it is enabled again.
    endpoints = [endpoint for endpoint in memoized(
        ("client_webhook_endpoints", order.company_id),
        lambda: list(ClientWebhookEndpoint.objects.filter(company_id=order.company_id)))
        if event in endpoint.events]
    if not endpoints:
        return []
    if event in SHIPMENT_EVENTS and shipment is None:
        shipment = order.shipments.order_by("-pk").first()
    keys = {endpoint.pk: _delivery_key(endpoint_id=endpoint.pk, order=order, event=event,
                                       shipment=shipment) for endpoint in endpoints}
    recorded = set(ClientWebhookDelivery.objects.filter(dedup_key__in=keys.values())
                   .values_list("dedup_key", flat=True))
    if len(recorded) == len(keys):
        return []
    order = Order.objects.prefetch_related("lines", "shipments__lines__imeis").get(pk=order.pk)
    data = {"order": order_payload(order)}
    if shipment is not None:
        data["shipment"] = _shipment_payload(
            next(candidate for candidate in order.shipments.all() if candidate.pk == shipment.pk))
    if reason:
        data["reason"] = reason
    payload = _message(event_type=EVENT_TYPES[event], data=data)
    now = timezone.now()
    created = insert_new([ClientWebhookDelivery(
        endpoint_id=endpoint_id, order=order, event_type=EVENT_TYPES[event],
        webhook_id=new_webhook_id(), dedup_key=key, payload=payload, next_attempt_at=now)
        for endpoint_id, key in keys.items() if key not in recorded],
        unique_fields=("dedup_key",))
    _deliver_after_commit([delivery.pk for delivery in created])
    logger.info("client_webhooks_recorded", order_number=order.number, order_event=str(event),
                recorded=len(created), already_recorded=len(recorded))
    return created


def send_test_event(*, endpoint: ClientWebhookEndpoint) -> ClientWebhookDelivery:
    """Queue a `webhook.test` message to the endpoint, so the client can check their receiver."""
    if not endpoint.is_active:
        raise EndpointDisabled
    with transaction.atomic():
        webhook_id = new_webhook_id()
        delivery = ClientWebhookDelivery.objects.create(
            endpoint=endpoint, event_type=TEST_EVENT_TYPE, webhook_id=webhook_id,
            dedup_key=f"test:{endpoint.pk}:{webhook_id}", next_attempt_at=timezone.now(),
            payload=_message(event_type=TEST_EVENT_TYPE, data={
                "endpoint": {"url": endpoint.url, "description": endpoint.description}}))
        _deliver_after_commit([delivery.pk])
    return delivery


def resend_deliveries(*, delivery_ids: Iterable[int]) -> int:
    """Send these deliveries again now, each with the same webhook id and a fresh retry window.

    Delivered ones are sent again too (the client asked); ones being sent, or whose endpoint is
    disabled, are left alone. Returns how many were queued.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(ClientWebhookDelivery.objects.select_for_update(of=("self",)).filter(
            pk__in=list(delivery_ids), endpoint__is_active=True,
            status__in=[Status.PENDING, Status.FAILED, Status.DELIVERED],
        ).values_list("pk", flat=True))
        ClientWebhookDelivery.objects.filter(pk__in=ids).update(
            status=Status.PENDING, attempts=0, claimed_at=None, next_attempt_at=now,
            retry_until=None)
        _deliver_after_commit(ids)
    logger.info("client_webhooks_resent", count=len(ids))
    return len(ids)


# --- Sending -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    delivery: ClientWebhookDelivery
    claimed_at: datetime


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    body: str
    error: str
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(*, attempts: int) -> float:
    """Seconds before the next attempt: doubling up to the cap, half of it random, so that
    deliveries failed in one outage do not all come back at the same second."""
    ceiling = min(settings.CLIENT_WEBHOOK_RETRY_CAP_SECONDS,
                  settings.CLIENT_WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _claim_all(*, delivery_ids: list[int]) -> list[Claim]:
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = ClientWebhookDelivery.objects.filter(
        due, pk__in=delivery_ids, status=Status.PENDING, endpoint__is_active=True,
    ).update(status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return []
    window_end = now + timedelta(seconds=settings.CLIENT_WEBHOOK_RETRY_WINDOW_SECONDS)
    # The retry window starts at the first attempt (or the first after a re-send).
    ClientWebhookDelivery.objects.filter(pk__in=delivery_ids, status=Status.SENDING,
                                         claimed_at=now, retry_until__isnull=True).update(
        retry_until=window_end)
    return [Claim(delivery=delivery, claimed_at=now)
            for delivery in ClientWebhookDelivery.objects.select_related("endpoint").filter(
                pk__in=delivery_ids, status=Status.SENDING, claimed_at=now).order_by("pk")]


def _claimed(claim: Claim) -> QuerySet[ClientWebhookDelivery]:
    """The claimed row, if the claim still holds (the sweeper may have taken it back)."""
    return ClientWebhookDelivery.objects.filter(pk=claim.delivery.pk, status=Status.SENDING,
                                                claimed_at=claim.claimed_at)


def signing_secrets(endpoint: ClientWebhookEndpoint) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one during
    its grace period after a rotation."""
    current = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and \
            endpoint.previous_secret_expires_at > timezone.now():
        current.append(endpoint.previous_secret)
    return current


def signed_request(delivery: ClientWebhookDelivery) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt: signed now, with the delivery's webhook id."""
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    sent_at = datetime.now(UTC)
    signatures = [Webhook(secret).sign(delivery.webhook_id, sent_at, body)
                  for secret in signing_secrets(delivery.endpoint)]
    return body.encode(), {
        "Content-Type": "application/json",
        "User-Agent": "PhoneExport-Webhooks/1",
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def _post(session: requests.Session, delivery: ClientWebhookDelivery) -> Outcome:
    body, headers = signed_request(delivery)
    started = time.monotonic()
    try:
        # Redirects are not followed: the client registers the address that answers.
        with session.post(delivery.endpoint.url, data=body, headers=headers, stream=True,
                          allow_redirects=False,
                          timeout=(settings.CLIENT_WEBHOOK_CONNECT_TIMEOUT,
                                   settings.CLIENT_WEBHOOK_READ_TIMEOUT)) as response:
            excerpt = response.raw.read(RESPONSE_EXCERPT_BYTES, decode_content=True)
            status_code = response.status_code
    except (requests.RequestException, OSError) as exc:
        return Outcome(status_code=None, body="", error=f"{type(exc).__name__}: {exc}"[:1000],
                       duration_ms=_elapsed_ms(started))
    text = excerpt.decode("utf-8", errors="replace")
    error = "" if 200 <= status_code < 300 else _("The endpoint answered HTTP %(status)d.") % {
        "status": status_code}
    return Outcome(status_code=status_code, body=text, error=error,
                   duration_ms=_elapsed_ms(started))


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def deliver_client_webhooks(*, delivery_ids: Iterable[int]) -> None:
    """POST the due deliveries among these, unless delivered or being sent; record each try.

    A 2xx answer delivers it. Otherwise it is retried with backoff until its retry window
    closes, then failed. Failed attempts in a row, across the endpoint's deliveries, beyond
    CLIENT_WEBHOOK_DISABLE_AFTER_FAILURES (or a delivery failed for good) disable the
    endpoint, and its company's account admins are emailed.
    """
    claims = _claim_all(delivery_ids=list(delivery_ids))
    if not claims:
        return
    with requests.Session() as session:
        for claim in claims:
            if not ClientWebhookEndpoint.objects.filter(pk=claim.delivery.endpoint_id,
                                                        is_active=True).exists():
                # Disabled by an earlier delivery of this batch: it waits for re-enabling.
                _claimed(claim).update(status=Status.PENDING, claimed_at=None,
                                       attempts=F("attempts") - 1)
                continue
            outcome = _post(session, claim.delivery)
            _record_outcome(claim=claim, outcome=outcome)


def _record_outcome(*, claim: Claim, outcome: Outcome) -> None:
    delivery = claim.delivery
    log = logger.bind(delivery_id=delivery.pk, webhook_id=delivery.webhook_id,
                      endpoint_id=delivery.endpoint_id, attempts=delivery.attempts,
                      status_code=outcome.status_code, duration_ms=outcome.duration_ms)
    now = timezone.now()
    last = {"last_response_status": outcome.status_code,
            "last_response_body": outcome.body, "last_error": outcome.error,
            "last_duration_ms": outcome.duration_ms, "claimed_at": None}
    with transaction.atomic():
        ClientWebhookAttempt.objects.create(
            delivery=delivery, attempted_at=now, response_status=outcome.status_code,
            response_body=outcome.body, error=outcome.error, duration_ms=outcome.duration_ms)
        endpoints = ClientWebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
        if outcome.delivered:
            if _claimed(claim).update(status=Status.DELIVERED, delivered_at=now,
                                      next_attempt_at=None, **last):
                endpoints.update(consecutive_failures=0)
                log.info("client_webhook_delivered")
            return
        delay = retry_delay(attempts=delivery.attempts)
        # The retry window is set by the claim; give up rather than wait past its end.
        gives_up = now + timedelta(seconds=delay) > delivery.retry_until
        if gives_up:
            if not _claimed(claim).update(status=Status.FAILED, next_attempt_at=None, **last):
                return
            log.error("client_webhook_failed", error=outcome.error)
        else:
            if not _claimed(claim).update(status=Status.PENDING,
                                          next_attempt_at=now + timedelta(seconds=delay),
                                          **last):
                return
            log.warning("client_webhook_retry", error=outcome.error, delay=round(delay, 1))
        endpoints.update(consecutive_failures=F("consecutive_failures") + 1)
        endpoint = endpoints.select_for_update().get()
        if not endpoint.is_active:
            return
        if gives_up:
            reason = _("A delivery failed for %(hours)d hours: %(error)s") % {
                "hours": round(settings.CLIENT_WEBHOOK_RETRY_WINDOW_SECONDS / 3600),
                "error": outcome.error}
        elif endpoint.consecutive_failures >= settings.CLIENT_WEBHOOK_DISABLE_AFTER_FAILURES:
            reason = _("%(count)d attempts in a row failed; the last: %(error)s") % {
                "count": endpoint.consecutive_failures, "error": outcome.error}
        else:
            return
        disable_endpoint(endpoint=endpoint, reason=reason)
        alert_endpoint_owners(endpoint=endpoint)
        log.error("client_webhook_endpoint_disabled", reason=reason)


def alert_endpoint_owners(*, endpoint: ClientWebhookEndpoint) -> list[Notification]:
    """Email the company's active account admins (and whoever registered the endpoint) that
    it was disabled, once per disabling, each in their language."""
    owners = {user.pk: user for user in endpoint.company.users.filter(
        is_active=True, role=User.Role.ACCOUNT_ADMIN)}
    creator = endpoint.created_by
    if creator is not None and creator.is_active and creator.company_id == endpoint.company_id:
        owners.setdefault(creator.pk, creator)
    disabled_at = endpoint.disabled_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    page = settings.SITE_URL + reverse("notifications:webhook_endpoint", args=[endpoint.pk])
    alerts = []
    for owner in owners.values():
        with translation.override(owner.language):
            subject = _("Your webhook endpoint %(url)s was disabled") % {"url": endpoint.url}
            message = _(
                "We stopped sending order events to %(url)s because it kept failing.\n"
                "%(reason)s\n\nEvents keep being recorded and wait for it. Once the endpoint "
                "answers again, enable it here: %(page)s") % {
                "url": endpoint.url, "reason": endpoint.disabled_reason, "page": page}
            rendered = emails.render_alert_email(
                kind_label=str(gettext_lazy("Webhook endpoint disabled")), subject=subject,
                message=message)
        key = _fit_key(f"client-alert:{ENDPOINT_DISABLED_EVENT}:{endpoint.pk}:{disabled_at}:"
                       f"{owner.email.lower()}")
        alerts.append(Notification(
            dedup_key=key, kind=Notification.Kind.CLIENT_ALERT, event=ENDPOINT_DISABLED_EVENT,
            recipient_email=owner.email, recipient_user=owner, language=owner.language,
            subject=rendered.subject, body_text=rendered.text, body_html=rendered.html,
            context={"endpoint_id": endpoint.pk}, next_attempt_at=timezone.now()))
    created = insert_new(alerts, unique_fields=("dedup_key",))
    if created:
        notification_tasks.send_after_commit()
    return created


def sweep_client_webhooks() -> int:
    """Enqueue every due delivery to an active endpoint; take back claims of dead workers.

    Returns how many deliveries were enqueued.
    """
    now = timezone.now()
    taken_back = ClientWebhookDelivery.objects.filter(
        status=Status.SENDING,
        claimed_at__lt=now - timedelta(seconds=settings.CLIENT_WEBHOOK_CLAIM_TIMEOUT_SECONDS),
    ).update(status=Status.PENDING, claimed_at=None, next_attempt_at=now)
    if taken_back:
        logger.warning("client_webhook_claims_taken_back", count=taken_back)
    due = list(ClientWebhookDelivery.objects.filter(
        status=Status.PENDING, next_attempt_at__lte=now, endpoint__is_active=True,
    ).order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    for start in range(0, len(due), DELIVER_BATCH):
        notification_tasks.deliver_client_webhooks.delay(due[start:start + DELIVER_BATCH])
    return len(due)
