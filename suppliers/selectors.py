from django.db.models import Q, QuerySet

from suppliers.models import WebhookEvent

Outcome = WebhookEvent.Outcome
# Stored events we will not apply without staff: a body of the wrong shape or a type we do
# not know, and events whose processing was given up (failed, or their order never came).
# Events failing the signature check are refused, not stored: the signature alert covers them.
REJECTED_WEBHOOKS = (Q(outcome__in=[Outcome.INVALID, Outcome.UNKNOWN_TYPE])
                     | Q(outcome__in=[Outcome.FAILED, Outcome.UNKNOWN_ORDER],
                         next_attempt_at__isnull=True))


def rejected_webhooks(events: QuerySet[WebhookEvent] | None = None) -> QuerySet[WebhookEvent]:
    events = WebhookEvent.objects.all() if events is None else events
    return events.filter(REJECTED_WEBHOOKS)
