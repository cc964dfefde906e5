"""Reads for suppliers."""

import time

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from suppliers.models import Supplier, SupplierOrder, WebhookEvent

# slug -> (monotonic expiry, supplier); only suppliers that exist, so its size stays bounded
# whatever slugs strangers post to.
_webhook_suppliers: dict[str, tuple[float, Supplier]] = {}
Outcome = WebhookEvent.Outcome
# Stored events we will not apply without staff: a body of the wrong shape or a type we do
# not know, and events whose processing was given up (failed, or their order never came).
# Events failing the signature check are refused, not stored: the signature alert covers them.
REJECTED_WEBHOOKS = (Q(outcome__in=[Outcome.INVALID, Outcome.UNKNOWN_TYPE])
                     | Q(outcome__in=[Outcome.FAILED, Outcome.UNKNOWN_ORDER],
                         next_attempt_at__isnull=True))


# Outcomes that processing will try again (the `webhookevent_waiting` index's condition).
RETRYABLE_OUTCOMES = (Outcome.PENDING, Outcome.UNKNOWN_ORDER, Outcome.FAILED)


def due_webhook_events() -> QuerySet[WebhookEvent]:
    """Stored events due for processing and not claimed by a drain."""
    return WebhookEvent.objects.filter(outcome__in=RETRYABLE_OUTCOMES,
                                       next_attempt_at__lte=timezone.now())


def supplier_work_waiting(*, at_least: int) -> bool:
    """Whether at least `at_least` webhook events and orders to forward are due and not yet
    taken by a worker: the workers are behind."""
    waiting = due_webhook_events().order_by()[:at_least].count()
    if waiting < at_least:
        waiting += SupplierOrder.objects.filter(
            forwarding_state=SupplierOrder.ForwardingState.PENDING,
            next_attempt_at__lte=timezone.now(),
        ).order_by()[:at_least - waiting].count()
    return waiting >= at_least


def webhook_supplier(*, slug: str) -> Supplier | None:
    """The active supplier whose webhooks arrive at `slug`, or None.

    Every webhook asks and the row changes rarely: the process keeps it for
    WEBHOOK_SUPPLIER_CACHE_SECONDS. Readers only read it, so threads may share it.
    """
    now = time.monotonic()
    cached = _webhook_suppliers.get(slug)
    if cached is not None and cached[0] > now:
        return cached[1]
    supplier = Supplier.objects.filter(slug=slug, is_active=True).first()
    if supplier is None:
        _webhook_suppliers.pop(slug, None)
    else:
        _webhook_suppliers[slug] = (now + settings.WEBHOOK_SUPPLIER_CACHE_SECONDS, supplier)
    return supplier


def rejected_webhooks(events: QuerySet[WebhookEvent] | None = None) -> QuerySet[WebhookEvent]:
    events = WebhookEvent.objects.all() if events is None else events
    return events.filter(REJECTED_WEBHOOKS)
