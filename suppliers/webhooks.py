"""Supplier webhooks: received fast and strictly, stored once, applied once and in version order.

Receiving verifies the signature before anything else is read, stores the raw event under its
unique webhook id and enqueues processing after commit. Processing parses the stored body
again, finds our order and hands the supplier's snapshot to the order service, which applies
it only when its version is newer than the one we have.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inventory import services as inventory_services
from notifications import services as notifications
from orders import services as order_services
from phoneexport.db import batched_inserts, insert_unless_conflict, update_instances
from phoneexport.memo import batch_memo
from phoneexport.queueing import (
    BackgroundWaker, drain_batches, enqueue_on_commit, wake,
)
from suppliers import tasks as supplier_tasks
from suppliers.adapters import get_adapter
from suppliers.adapters.base import (
    EventKind, InvalidWebhookError, SupplierEvent, SupplierOrderInfo, WebhookVerificationError,
)
from suppliers.models import Supplier, SupplierOrder, WebhookEvent
from suppliers.selectors import due_webhook_events
from suppliers.webhook_signatures import lowercase_headers

logger = structlog.get_logger(__name__)

Outcome = WebhookEvent.Outcome
# Only these headers are kept with the raw body: what proves, identifies and routes an event.
KEPT_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type",
                "user-agent", "x-phonex-source-tenant", "x-request-id")
SWEEP_BATCH = 500
# Set while a drain task is queued: a burst of webhooks publishes one task, not one each.
DRAIN_QUEUED_FLAG = "suppliers:webhook-drain-queued"
DRAIN_SLOTS = "suppliers:webhook-drains"
# How often, at most, one process asks Redis whether a drain is queued, under a stream of
# webhooks: each request is then spared a round trip, and a drain waits for its events at
# most this much longer.
DRAIN_WAKE_INTERVAL_SECONDS = 0.01


@dataclass(frozen=True)
class Receipt:
    event: WebhookEvent
    duplicate: bool


class WebhookRefused(Exception):
    """The request is not a webhook we accept; `status` is the HTTP answer."""

    def __init__(self, *, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def receive_webhook(*, supplier: Supplier, body: bytes, headers: Mapping[str, str]) -> Receipt:
    """Verify, store once and queue a supplier webhook.

    Raises WebhookRefused (401) for a signature, header or timestamp that does not prove the
    supplier sent it now, and (400) for a signed body not of the promised shape, which is
    kept for staff review. A webhook id seen before is a duplicate: stored data is untouched.
    """
    # Once, into a plain dict: a request's header mapping is rebuilt from its environment
    # on every pass over it.
    headers = lowercase_headers(headers)
    adapter = get_adapter(supplier.slug, route=supplier.effective_route)
    try:
        adapter.verify_webhook(body=body, headers=headers)
    except WebhookVerificationError as exc:
        logger.warning("webhook_refused", supplier=supplier.slug, reason=exc.reason)
        notifications.record_bad_webhook_signature(supplier_slug=supplier.slug)
        raise WebhookRefused(status=401, code=exc.reason,
                             message="The webhook signature could not be verified.") from exc
    webhook_id = headers["webhook-id"]
    try:
        parsed = adapter.parse_webhook(body=body, headers=headers)
    except InvalidWebhookError as exc:
        receipt = _store(supplier=supplier, webhook_id=webhook_id, body=body, headers=headers,
                         parsed=None, error=str(exc))
        if receipt.duplicate:
            return receipt
        raise WebhookRefused(status=400, code=exc.reason,
                             message="The webhook body is not of the expected shape.") from exc
    return _store(supplier=supplier, webhook_id=webhook_id, body=body, headers=headers,
                  parsed=parsed, error="")


def _store(*, supplier: Supplier, webhook_id: str, body: bytes, headers: dict[str, str],
           parsed: SupplierEvent | None, error: str) -> Receipt:
    fields = {
        "headers": {name: headers[name] for name in KEPT_HEADERS if name in headers},
        "raw_body": body.decode("utf-8", errors="replace"),
        "event_type": parsed.event_type[:100] if parsed else "",
        "outcome": Outcome.PENDING if parsed else Outcome.INVALID,
        "error": error,
        "next_attempt_at": timezone.now() if parsed else None,
    }
    if parsed and parsed.order:
        fields["supplier_order_id"] = parsed.order.supplier_order_id[:100]
        fields["order_version"] = parsed.order.version
    # Alone, one INSERT commits by itself: a transaction would only add round trips.
    event = WebhookEvent(supplier=supplier, webhook_id=webhook_id, **fields)
    if not insert_unless_conflict(event, unique_fields=("supplier", "webhook_id")):
        event = WebhookEvent.objects.get(supplier=supplier, webhook_id=webhook_id)
        return Receipt(event=event, duplicate=True)
    if parsed:
        drain_waker.wake_on_commit()
    return Receipt(event=event, duplicate=False)


def _wake_drain() -> None:
    wake(supplier_tasks.process_due_webhook_events, flag=DRAIN_QUEUED_FLAG,
         seconds=settings.WEBHOOK_DRAIN_WAKE_SECONDS)


drain_waker = BackgroundWaker(_wake_drain, name="webhook-drain-waker",
                              interval=DRAIN_WAKE_INTERVAL_SECONDS)


def process_webhook_event(*, event_id: int) -> str:
    """Apply one stored event; safe to call any number of times. Returns the outcome."""
    claimed = due_webhook_events().filter(pk=event_id).update(
        next_attempt_at=_claim_expiry())
    if not claimed:
        return WebhookEvent.objects.get(pk=event_id).outcome
    return _process(WebhookEvent.objects.select_related("supplier").get(pk=event_id))


def process_due_webhook_events(*, limit: int | None = None) -> int:
    """Apply due events in batches, each order's in version order, until none is left (or
    for WEBHOOK_DRAIN_SECONDS); returns how many were claimed.

    What one event does is what `process_webhook_event` does; a batch's order events are
    applied in one transaction (`_apply_order_events`). Each full batch first wakes another
    drain, so that drains share a backlog, up to WEBHOOK_DRAINS_PER_WORKER in each worker
    process; one woken beyond that returns at once, its events left to those at work.
    An event whose processing fails stays claimed until the claim expires; then the sweeper
    finds it due again.
    """
    return drain_batches(
        flag=DRAIN_QUEUED_FLAG, slots_name=DRAIN_SLOTS, slots=settings.WEBHOOK_DRAINS_PER_WORKER,
        batch=limit or settings.WEBHOOK_DRAIN_BATCH, seconds=settings.WEBHOOK_DRAIN_SECONDS,
        claim=lambda batch: _claim_due_events(limit=batch), process=_process_batch,
        wake_another=_wake_drain, any_due=lambda: due_webhook_events().exists())


def _claim_expiry():
    return timezone.now() + timedelta(seconds=settings.WEBHOOK_PROCESSING_CLAIM_SECONDS)


def _claim_due_events(*, limit: int) -> list[WebhookEvent]:
    """Claim up to `limit` due events that no other drain holds, oldest first."""
    with transaction.atomic():
        event_ids = list(due_webhook_events().order_by("next_attempt_at")
                         .select_for_update(skip_locked=True)
                         .values_list("pk", flat=True)[:limit])
        WebhookEvent.objects.filter(pk__in=event_ids).update(next_attempt_at=_claim_expiry())
    return list(WebhookEvent.objects.select_related("supplier").filter(pk__in=event_ids)
                .order_by("order_version", "pk"))


def _process_batch(events: list[WebhookEvent]) -> None:
    """Apply claimed events: order updates together, in the order given; any other alone."""
    order_events = []
    for event in events:
        try:
            parsed = _parse_stored(event)
            if parsed is None:
                continue
            if parsed.kind == EventKind.ORDER_UPDATE:
                order_events.append((event, parsed))
            else:
                _process(event, parsed=parsed)
        except Exception:
            logger.exception("webhook_processing_failed", webhook_id=event.webhook_id)
    if not order_events:
        return
    try:
        _apply_order_events(order_events)
    except Exception:
        # The batch failed (one event failed, or a deadlock on its locks) and wrote nothing:
        # each event gets its own transaction instead, from its stored state, so that only
        # a failing event fails.
        logger.exception("webhook_batch_failed", events=len(order_events))
        for event in WebhookEvent.objects.select_related("supplier").filter(
                pk__in=[event.pk for event, _parsed in order_events]).order_by(
                "order_version", "pk"):
            try:
                _process(event)
            except Exception:
                logger.exception("webhook_processing_failed", webhook_id=event.webhook_id)


def _parse_stored(event: WebhookEvent) -> SupplierEvent | None:
    """The stored body parsed again; None, and the event finished as invalid, if it fails."""
    adapter = get_adapter(event.supplier.slug, route=event.supplier.effective_route)
    try:
        return adapter.parse_webhook(body=event.raw_body.encode(), headers=event.headers)
    except InvalidWebhookError as exc:
        _finish(event, outcome=Outcome.INVALID, error=str(exc))
        event.save(update_fields=PROCESSED_FIELDS)
        return None


def _process(event: WebhookEvent, *, parsed: SupplierEvent | None = None) -> str:
    if parsed is None:
        parsed = _parse_stored(event)
        if parsed is None:
            return event.outcome
    if parsed.kind == EventKind.ORDER_UPDATE:
        with transaction.atomic():
            supplier_order = _LockedSupplierOrders.lock([(event, parsed)]).find(
                supplier_id=event.supplier_id, info=parsed.order)
            outcome = _apply_order_event(event=event, info=parsed.order,
                                         supplier_order=supplier_order)
            # In the same transaction: an event is marked applied exactly when its change is.
            event.save(update_fields=PROCESSED_FIELDS)
        return outcome
    if parsed.kind == EventKind.INVENTORY_UPDATE:
        outcome = _apply_inventory_event(event=event, parsed=parsed)
    else:
        outcome = _finish(event, outcome=Outcome.UNKNOWN_TYPE)
    event.save(update_fields=PROCESSED_FIELDS)
    return outcome


def _apply_order_events(batch: list[tuple[WebhookEvent, SupplierEvent]]) -> None:
    """Apply order events in one transaction, their supplier orders and orders locked up
    front (`_LockedSupplierOrders.lock`).

    One commit, one lock read, one read of the orders' shipments, one write of the events'
    outcomes and one of their timeline entries for the whole batch, and the recipients and
    endpoints of each company read once (`batch_memo`), instead of once per event. An event
    that fails rolls the whole batch back (`_process_batch` then applies each event alone):
    failures are rare, and a savepoint per event would cost every event two more statements.
    """
    with batch_memo(), transaction.atomic(), batched_inserts():
        locked = _LockedSupplierOrders.lock(batch)
        supplier_orders = [locked.find(supplier_id=event.supplier_id, info=parsed.order)
                           for event, parsed in batch]
        order_services.prefetch_shipments(list({
            supplier_order.order_id: supplier_order.order
            for supplier_order, (_event, parsed) in zip(supplier_orders, batch)
            if supplier_order is not None and parsed.order.shipments}.values()))
        for supplier_order, (event, parsed) in zip(supplier_orders, batch):
            _apply_order_event(event=event, info=parsed.order, supplier_order=supplier_order)
        update_instances([event for event, _parsed in batch], fields=PROCESSED_FIELDS)


class _LockedSupplierOrders:
    """A batch's supplier orders with their orders, locked, by supplier id and by our number."""

    def __init__(self):
        self._by_pk: dict[int, SupplierOrder] = {}
        self._by_supplier_id: dict[tuple[int, str], int] = {}
        self._by_reference: dict[tuple[int, str], int] = {}

    @classmethod
    def lock(cls, batch: list[tuple[WebhookEvent, SupplierEvent]]) -> "_LockedSupplierOrders":
        """By the supplier's ids, else by our numbers (an event may race our forwarding
        answer): two indexed reads, the second only for the events the first did not match,
        rather than one OR across a join, which no index serves."""
        locked = cls()
        for lookup, key in (("supplier_order_id__in", "supplier_order_id"),
                            ("order__number__in", "reference")):
            wanted: dict[int, set[str]] = {}
            for event, parsed in batch:
                value = getattr(parsed.order, key)
                if value and locked.find(supplier_id=event.supplier_id, info=parsed.order) is None:
                    wanted.setdefault(event.supplier_id, set()).add(value)
            for supplier_id, values in wanted.items():
                for supplier_order in order_services.lock_supplier_orders(
                        SupplierOrder.objects.filter(
                            supplier_id=supplier_id, **{lookup: sorted(values)}).exclude(
                            pk__in=list(locked._by_pk))):
                    locked._add(supplier_order)
        return locked

    def _add(self, supplier_order: SupplierOrder) -> None:
        self._by_pk[supplier_order.pk] = supplier_order
        if supplier_order.supplier_order_id:
            self._by_supplier_id[supplier_order.supplier_id,
                                 supplier_order.supplier_order_id] = supplier_order.pk
        self._by_reference[supplier_order.supplier_id, supplier_order.order.number] = \
            supplier_order.pk

    def find(self, *, supplier_id: int, info: SupplierOrderInfo) -> SupplierOrder | None:
        pk = (info.supplier_order_id
              and self._by_supplier_id.get((supplier_id, info.supplier_order_id))) or (
            info.reference and self._by_reference.get((supplier_id, info.reference)))
        return self._by_pk.get(pk) if pk else None


def _apply_order_event(*, event: WebhookEvent, info: SupplierOrderInfo,
                       supplier_order: SupplierOrder | None) -> str:
    """Apply one event to its locked supplier order; sets the event's outcome, unsaved."""
    if supplier_order is None:
        # The order may not be ours yet (the forwarding answer is on its way): try later.
        return _retry_later(event, outcome=Outcome.UNKNOWN_ORDER,
                            error=f"No order {info.supplier_order_id} / {info.reference} "
                                  "yet.")
    with structlog.contextvars.bound_contextvars(order_number=supplier_order.order.number):
        applied = order_services.apply_locked_supplier_update(
            supplier_order=supplier_order, info=info, webhook_event=event,
            actor=order_services.Actor(label=f"supplier:{event.supplier.slug}"))
        logger.info("webhook_applied" if applied else "webhook_stale",
                    webhook_id=event.webhook_id, version=info.version)
    event.order_id = supplier_order.order_id
    return _finish(event, outcome=Outcome.APPLIED if applied else Outcome.STALE)


def _apply_inventory_event(*, event: WebhookEvent, parsed: SupplierEvent) -> str:
    run = inventory_services.apply_inventory_items(supplier=event.supplier,
                                                   items=parsed.inventory_items,
                                                   rejected=parsed.rejected_items)
    return _finish(event, outcome=Outcome.APPLIED, error=run.error_summary())


# What processing sets on an event (`_finish`, `_retry_later`); the caller saves them.
PROCESSED_FIELDS = ["outcome", "error", "attempts", "processed_at", "next_attempt_at", "order"]


def _finish(event: WebhookEvent, *, outcome: str, error: str = "") -> str:
    event.outcome = outcome
    event.error = error
    event.attempts += 1
    event.processed_at = timezone.now()
    event.next_attempt_at = None
    return outcome


def _retry_later(event: WebhookEvent, *, outcome: str, error: str) -> str:
    if event.attempts + 1 >= settings.WEBHOOK_PROCESSING_MAX_ATTEMPTS:
        logger.warning("webhook_given_up", webhook_id=event.webhook_id, error=error)
        return _finish(event, outcome=outcome, error=error)
    event.attempts += 1
    delay = min(settings.WEBHOOK_RETRY_CAP_SECONDS,
                settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (event.attempts - 1))
    event.outcome = outcome
    event.error = error
    event.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    if delay <= settings.RETRY_COUNTDOWN_MAX_SECONDS:
        enqueue_on_commit(supplier_tasks.process_webhook_event, event.pk, countdown=delay)
    return outcome


def reprocess(*, event: WebhookEvent) -> None:
    """Staff: process a stored event again from its raw body (after a mapping fix, say)."""
    WebhookEvent.objects.filter(pk=event.pk).update(
        outcome=Outcome.PENDING, next_attempt_at=timezone.now(), error="")
    enqueue_on_commit(supplier_tasks.process_webhook_event, event.pk)


def sweep_webhook_events() -> int:
    """Enqueue drains for the stored events due for processing: covers a lost message, a
    broker that lost its queue and a dead worker. Returns how many events are due."""
    due = due_webhook_events().count()
    # Not through the flag: after a broker restart, it may say a drain is queued when none is.
    for _batch in range(0, due, settings.WEBHOOK_DRAIN_BATCH):
        supplier_tasks.process_due_webhook_events.delay()
    return due
