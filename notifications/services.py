"""Notifications: who is told what about an order, recorded with the event, sent after commit.

One row per (order, event, recipient) is created in the caller's transaction, and the send task
is enqueued after commit. The row keeps what the message must say as of the event (status,
reason, shipment); it is rendered in the recipient's language when it is first sent, outside
the transaction that moved the order, so recording an event stays cheap. A unique key makes
repeats (retried webhooks, replayed tasks) record nothing more. Sending claims the row with a
compare-and-set, so a task and the sweeper never both send it; a failure waits in the database
(`next_attempt_at`, exponential backoff), where the sweeper finds it again.
"""

from __future__ import annotations

import random
import smtplib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.models import User
from notifications import client_webhooks, emails, selectors
from notifications import tasks as notification_tasks
from notifications.emails import SHIPMENT_EVENTS
from notifications.models import AlertKind, Event, Notification, NotificationPreference
from orders.models import Order, Shipment
from orders.states import OrderStatus
from phoneexport.db import insert_new, insert_unless_conflict
from phoneexport.queueing import drain_batches, wake
from suppliers.selectors import supplier_work_waiting

logger = structlog.get_logger(__name__)

Status = Notification.Status
SWEEP_BATCH = 500
SEND_BATCH = 20  # per claim: small enough that one slow SMTP server holds up few messages
SEND_SLOTS = "notifications:send-drains"

# The event each order status announces. `submitted` means the supplier accepted our order;
# `processing` is the supplier's internal step and tells the client nothing new.
EVENT_FOR_STATUS: dict[str, Event] = {
    OrderStatus.AWAITING_APPROVAL: Event.AWAITING_APPROVAL,
    OrderStatus.PLACED: Event.PLACED,
    OrderStatus.SUBMITTED: Event.FORWARDED,
    OrderStatus.CONFIRMED: Event.CONFIRMED,
    OrderStatus.ON_HOLD: Event.ON_HOLD,
    OrderStatus.BACKORDERED: Event.BACKORDERED,
    OrderStatus.PARTIALLY_SHIPPED: Event.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED: Event.SHIPPED,
    OrderStatus.DELIVERED: Event.DELIVERED,
    OrderStatus.CANCELLED: Event.CANCELLED,
    OrderStatus.REJECTED: Event.REJECTED,
    OrderStatus.NEEDS_ATTENTION: Event.NEEDS_ATTENTION,
}
# An order can enter these again (a second hold, a second problem): each time is news. The
# others are told once per order (per shipment for shipment events), even if the order
# comes back to them, e.g. placed again after staff re-send it.
RECURRING_EVENTS = frozenset({Event.ON_HOLD, Event.BACKORDERED, Event.NEEDS_ATTENTION})


def event_for_status(status: str) -> str | None:
    """The event to notify when an order enters `status`, or None for a silent status."""
    return EVENT_FOR_STATUS.get(status)


# --- Recording ---------------------------------------------------------------------------
def _fit_key(key: str) -> str:
    # Long e-mail addresses could overflow the column; a digest keeps the key unique.
    return key if len(key) <= 255 else "sha256:" + sha256(key.encode()).hexdigest()


def _order_event_key(*, order: Order, event: str, shipment: Shipment | None,
                     email: str) -> str:
    parts = ["order", str(order.pk), event]
    if shipment is not None:
        parts += ["shipment", str(shipment.pk)]
    if event in RECURRING_EVENTS:
        parts.append(order.status_changed_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ"))
    parts.append(email.lower())
    return _fit_key(":".join(parts))


def _record(**fields) -> Notification | None:
    """Create the row, or None when a concurrent call has just recorded the same key."""
    notification = Notification(**fields)
    if insert_unless_conflict(notification, unique_fields=("dedup_key",)):
        return notification
    return None


def _send_after_commit(notification_ids: list[int]) -> None:
    if notification_ids:
        notification_tasks.send_after_commit()


def _preferences_url() -> str:
    return settings.SITE_URL + reverse("notifications:preferences")


def notify_order_event(*, order: Order, event: str, shipment: Shipment | None = None,
                       reason: str = "") -> list[Notification]:
    """Record the emails for an order event, one per recipient, and send them after commit.

    The same event goes to the company's webhook endpoints (`client_webhooks`).
    Call it inside the transaction that changes the order, after the change is saved. For
    `partially_shipped` and `shipped`, `shipment` is the shipment being announced (by default
    the order's most recently recorded one): each shipment is announced once. Returns the
    notifications this call created: none when every recipient was already notified.
    """
    event = Event(event)
    if event in SHIPMENT_EVENTS and shipment is None:
        shipment = order.shipments.order_by("-pk").first()
    recipients = selectors.order_event_recipients(order=order, event=event)
    keys = {recipient: _order_event_key(order=order, event=event, shipment=shipment,
                                        email=recipient.email) for recipient in recipients}
    now = timezone.now()
    # Keys already recorded (a repeated event, a replayed task) insert nothing.
    created = insert_new([Notification(
        dedup_key=key, kind=Notification.Kind.ORDER_EVENT, event=event, order=order,
        recipient_email=recipient.email, recipient_user=recipient.user,
        language=recipient.language,
        context={"status": order.status, "reason": reason,
                 "shipment": shipment and shipment.supplier_shipment_id,
                 "shipment_pk": shipment and shipment.pk, "for_staff": recipient.for_staff},
        next_attempt_at=now) for recipient, key in keys.items()],
        unique_fields=("dedup_key",))
    _send_after_commit([notification.pk for notification in created])
    logger.info("order_event_notified", order_number=order.number, order_event=str(event),
                recorded=len(created), already_recorded=len(keys) - len(created))
    client_webhooks.record_order_event_deliveries(order=order, event=event, shipment=shipment,
                                                  reason=reason)
    return created


def alert_staff(*, kind: str, subject: str, message: str, dedup_key: str,
                order: Order | None = None) -> Notification | None:
    """Email the staff mailbox about a problem, once per (kind, dedup_key).

    `subject` and `message` may be lazy translations: they are rendered in LANGUAGE_CODE.
    Returns None when this alert was already recorded (or no staff mailbox is configured).
    """
    kind = AlertKind(kind)
    if not settings.STAFF_EMAIL:
        logger.warning("staff_alert_without_mailbox", kind=str(kind), dedup_key=dedup_key)
        return None
    key = _fit_key(f"alert:{kind}:{dedup_key}")
    if Notification.objects.filter(dedup_key=key).exists():
        return None
    with translation.override(settings.LANGUAGE_CODE):
        rendered = emails.render_alert_email(kind_label=str(kind.label), subject=str(subject),
                                             message=str(message), order=order)
    notification = _record(
        dedup_key=key, kind=Notification.Kind.STAFF_ALERT, event=kind, order=order,
        recipient_email=settings.STAFF_EMAIL, language=settings.LANGUAGE_CODE,
        subject=rendered.subject, body_text=rendered.text, body_html=rendered.html,
        context={"dedup_key": dedup_key}, next_attempt_at=timezone.now())
    if notification is not None:
        _send_after_commit([notification.pk])
        logger.warning("staff_alert", kind=str(kind), subject=notification.subject,
                       order_number=order and order.number)
    return notification


def record_bad_webhook_signature(*, supplier_slug: str) -> Notification | None:
    """Count a webhook that failed its signature check; alert staff once per window at the
    threshold (a leaked or rotated secret, or someone probing the endpoint).

    Windows are fixed (aligned on the clock) and counted in the shared cache.
    """
    window = settings.WEBHOOK_SIGNATURE_ALERT_WINDOW_SECONDS
    window_start = int(time.time() // window * window)
    counter = f"notifications:bad-signatures:{supplier_slug}:{window_start}"
    cache.add(counter, 0, timeout=2 * window)
    try:
        count = cache.incr(counter)
    except ValueError:  # expired between add and incr
        cache.set(counter, 1, timeout=2 * window)
        count = 1
    logger.warning("webhook_bad_signature", supplier=supplier_slug, count_in_window=count)
    if count < settings.WEBHOOK_SIGNATURE_ALERT_THRESHOLD:
        return None
    if not cache.add(f"{counter}:alerted", True, timeout=2 * window):
        return None
    started = datetime.fromtimestamp(window_start, tz=UTC)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Webhooks from %(supplier)s are failing their signature check") % {
            "supplier": supplier_slug}
        message = _("%(count)d webhooks from %(supplier)s failed their signature check since "
                    "%(started)s UTC. Check the webhook secret (WESELLCELLULAR_WEBHOOK_SECRET) "
                    "and whether someone else is calling the webhook address.") % {
            "count": count, "supplier": supplier_slug,
            "started": started.strftime("%Y-%m-%d %H:%M")}
    return alert_staff(kind=AlertKind.WEBHOOK_SIGNATURE_BURST, subject=subject, message=message,
                       dedup_key=f"{supplier_slug}:{window_start}")


# --- Sending -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    notification: Notification
    claimed_at: datetime


def retry_delay(*, attempts: int) -> float:
    """Seconds before the next attempt: doubling up to the cap, half of it random, so that
    messages failed in one outage do not all come back at the same second."""
    ceiling = min(settings.NOTIFICATION_RETRY_CAP_SECONDS,
                  settings.NOTIFICATION_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _claim_all(*, notification_ids: list[int]) -> list[Claim]:
    """Claim the due, pending ones among `notification_ids` in one statement."""
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = Notification.objects.filter(due, pk__in=notification_ids,
                                          status=Status.PENDING).update(
        status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return []
    return [Claim(notification=notification, claimed_at=now)
            for notification in Notification.objects.filter(
                pk__in=notification_ids, status=Status.SENDING, claimed_at=now).order_by("pk")]


def _claimed(claim: Claim) -> QuerySet[Notification]:
    """The claimed row, if the claim still holds (the sweeper may have taken it back)."""
    return Notification.objects.filter(pk=claim.notification.pk, status=Status.SENDING,
                                       claimed_at=claim.claimed_at)


def _is_permanent(error: OSError) -> bool:
    # The recipient's server refused the address for good: retrying cannot help.
    return isinstance(error, smtplib.SMTPRecipientsRefused) and all(
        code >= 500 for code, _message in error.recipients.values())


def send_notification(*, notification_id: int) -> None:
    send_notifications(notification_ids=[notification_id])


def send_notifications(*, notification_ids: Iterable[int]) -> None:
    """Send the due notifications among these unless sent or being sent; record each outcome.

    An order event is rendered, as of the event, the first time it is sent, and kept on the
    row: a retry or a re-send sends the same message. Each order is read, and each language
    and audience rendered, once per call. A failure is retried with backoff until
    NOTIFICATION_MAX_ATTEMPTS; then (or at once, for an address refused for good) the
    notification is failed, with the error, for staff.
    """
    renderings = Renderings()
    for claim in _claim_all(notification_ids=list(notification_ids)):
        _send(claim, renderings)


def send_due_notifications() -> int:
    """Send due notifications, a batch at a time, until none is left; returns how many.

    While workers are behind with supplier work (webhook events and orders to forward),
    messages give way: the drain stops and looks again after NOTIFICATION_YIELD_SECONDS,
    unless the oldest message has waited NOTIFICATION_MAX_YIELD_SECONDS already. A full batch
    first wakes another drain, so that drains share a backlog of messages, up to
    NOTIFICATION_DRAINS_PER_WORKER in each worker process: rendering is CPU work, and the
    worker's other threads forward orders.
    """
    return drain_batches(
        flag=notification_tasks.SEND_QUEUED_FLAG, slots_name=SEND_SLOTS,
        slots=settings.NOTIFICATION_DRAINS_PER_WORKER, batch=SEND_BATCH,
        seconds=settings.NOTIFICATION_DRAIN_SECONDS, claim=lambda batch: _claim_due(limit=batch),
        process=_send_batch, wake_another=_wake_drain,
        any_due=lambda: bool(selectors.due_notification_ids(limit=1)),
        give_way=_give_way_and_look_again)


def _send_batch(claims) -> None:
    renderings = Renderings()
    for claim in claims:
        _send(claim, renderings)


def _wake_drain() -> None:
    wake(notification_tasks.send_due_notifications, flag=notification_tasks.SEND_QUEUED_FLAG,
         seconds=settings.NOTIFICATION_WAKE_SECONDS)


def _give_way_and_look_again() -> bool:
    """Whether messages give way now; if so, a drain looks again in NOTIFICATION_YIELD_SECONDS."""
    if not _gives_way():
        return False
    wake(notification_tasks.send_due_notifications, flag=notification_tasks.SEND_QUEUED_FLAG,
         seconds=settings.NOTIFICATION_YIELD_SECONDS, countdown=settings.NOTIFICATION_YIELD_SECONDS)
    return True


def _gives_way() -> bool:
    if not supplier_work_waiting(at_least=settings.NOTIFICATION_YIELD_BACKLOG):
        return False
    oldest = selectors.oldest_due_notification_created_at()
    return oldest is not None and (timezone.now() - oldest).total_seconds() < \
        settings.NOTIFICATION_MAX_YIELD_SECONDS


def _claim_due(*, limit: int) -> list[Claim]:
    """Claim up to `limit` due notifications that no other drain holds, oldest due first."""
    with transaction.atomic():
        return _claim_all(notification_ids=selectors.due_notification_ids(
            limit=limit, skip_locked=True))


def _send(claim: Claim, renderings: Renderings) -> None:
    notification = claim.notification
    log = logger.bind(notification_id=notification.pk, notification_event=notification.event,
                      recipient=notification.recipient_email, attempts=notification.attempts)
    rendered = {}
    if not notification.body_text:
        rendered = renderings.order_event(notification)
        for field_name, value in rendered.items():
            setattr(notification, field_name, value)
    try:
        emails.build_message(notification).send()
    except OSError as exc:  # smtplib's errors, refused connections and timeouts alike
        _record_failure(claim=claim, error=f"{type(exc).__name__}: {exc}",
                        permanent=_is_permanent(exc), log=log, rendered=rendered)
        return
    now = timezone.now()
    if not _claimed(claim).update(status=Status.SENT, sent_at=now, claimed_at=None,
                                  next_attempt_at=None, error="", **rendered):
        log.warning("notification_claim_lost_after_sending")
        return
    log.info("notification_sent")


class Renderings:
    """Order event emails rendered for one batch: each order read once, each version once."""

    def __init__(self):
        self._orders: dict[int, Order] = {}
        self._emails: dict[tuple, emails.RenderedEmail] = {}

    def _order(self, order_id: int) -> Order:
        if order_id not in self._orders:
            self._orders[order_id] = Order.objects.select_related("company").prefetch_related(
                "lines", "shipments__lines__imeis").get(pk=order_id)
        return self._orders[order_id]

    def order_event(self, notification: Notification) -> dict[str, object]:
        """The rendered fields of an order event notification, as of its event."""
        context = notification.context
        version = (notification.order_id, notification.event, context.get("shipment_pk"),
                   context.get("status"), context.get("reason"), notification.language,
                   bool(context.get("for_staff")), notification.recipient_user_id is not None)
        if version not in self._emails:
            order = self._order(notification.order_id)
            shipment = next((shipment for shipment in order.shipments.all()
                             if shipment.pk == context.get("shipment_pk")), None)
            with translation.override(notification.language):
                self._emails[version] = emails.render_order_email(
                    order=order, event=notification.event, shipment=shipment,
                    status=context.get("status") or order.status,
                    reason=context.get("reason", ""), for_staff=bool(context.get("for_staff")),
                    preferences_url=(_preferences_url() if notification.recipient_user_id
                                     else ""))
        rendered = self._emails[version]
        return {"subject": rendered.subject, "body_text": rendered.text,
                "body_html": rendered.html, "attachments": rendered.attachments}


def _record_failure(*, claim: Claim, error: str, permanent: bool, log,
                    rendered: dict[str, object]) -> None:
    attempts = claim.notification.attempts
    if permanent or attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
        if _claimed(claim).update(status=Status.FAILED, claimed_at=None, next_attempt_at=None,
                                  error=error, **rendered):
            log.error("notification_failed", error=error, permanent=permanent)
        return
    delay = retry_delay(attempts=attempts)
    if _claimed(claim).update(status=Status.PENDING, claimed_at=None, error=error,
                              next_attempt_at=timezone.now() + timedelta(seconds=delay),
                              **rendered):
        log.warning("notification_retry", error=error, delay=round(delay, 1))


def sweep_notifications() -> int:
    """Enqueue every due notification; take back claims of workers that died mid-send.

    Covers an enqueue lost after commit, a broker that lost its queue and a killed worker.
    Returns how many notifications were enqueued.
    """
    now = timezone.now()
    abandoned = Notification.objects.filter(
        status=Status.SENDING,
        claimed_at__lt=now - timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT_SECONDS))
    given_up = abandoned.filter(attempts__gte=settings.NOTIFICATION_MAX_ATTEMPTS).update(
        status=Status.FAILED, claimed_at=None, next_attempt_at=None,
        error=_("The worker sending it stopped before recording the outcome."))
    taken_back = abandoned.update(status=Status.PENDING, claimed_at=None, next_attempt_at=now)
    if given_up or taken_back:
        logger.warning("notification_claims_taken_back", failed=given_up, retried=taken_back)
    due = selectors.due_notification_ids(limit=SWEEP_BATCH)
    # Not through the flag: after a broker restart, it may say a drain is queued when none is.
    if due:
        notification_tasks.send_due_notifications.delay()
    return len(due)


def resend_notifications(*, notification_ids: Iterable[int]) -> int:
    """Send failed (or still waiting) notifications again now, with a fresh set of attempts.

    Sent ones are left alone: sending the same message twice is what the log prevents.
    Returns how many were queued.
    """
    with transaction.atomic():
        ids = list(Notification.objects.select_for_update().filter(
            pk__in=list(notification_ids), status__in=[Status.FAILED, Status.PENDING],
        ).values_list("pk", flat=True))
        Notification.objects.filter(pk__in=ids).update(
            status=Status.PENDING, attempts=0, claimed_at=None, next_attempt_at=timezone.now())
        _send_after_commit(ids)
    logger.info("notifications_resent", count=len(ids))
    return len(ids)


# --- Preferences -------------------------------------------------------------------------
def set_email_preferences(*, user: User, enabled_events: Iterable[str]) -> None:
    """Store the user's choice for every event they can choose: the ones given email them."""
    events = selectors.preference_events_for(user=user)
    enabled = set(enabled_events)
    if unknown := enabled - set(events):
        raise ValueError(f"Events not available to this user: {sorted(unknown)}")
    with transaction.atomic():
        for event in events:
            NotificationPreference.objects.update_or_create(
                user=user, event=event, defaults={"email_enabled": event in enabled})


# --- Messages to suppliers ---------------------------------------------------------------
def send_supplier_message(*, to_email: str, subject: str, body_text: str, body_html: str,
                          dedup_key: str, order: Order | None = None,
                          attachments: list[dict] | None = None) -> Notification | None:
    """Email a supplier (a purchase order to its order desk) once per `dedup_key`.

    Recorded in the caller's transaction and sent after commit like every notification;
    returns None when this message was already recorded. Attachments are
    {"filename", "content" (text), "mimetype"}.
    """
    key = _fit_key(f"supplier:{dedup_key}")
    if Notification.objects.filter(dedup_key=key).exists():
        return None
    notification = _record(
        dedup_key=key, kind=Notification.Kind.SUPPLIER_MESSAGE, event="purchase_order",
        order=order, recipient_email=to_email, language=settings.LANGUAGE_CODE,
        subject=subject[:255], body_text=body_text, body_html=body_html,
        attachments=attachments or [], context={"dedup_key": dedup_key},
        next_attempt_at=timezone.now())
    if notification is not None:
        _send_after_commit([notification.pk])
        logger.info("supplier_message_recorded", recipient=to_email, dedup_key=dedup_key,
                    order_number=order and order.number)
    return notification
