"""Reads for notifications: who is told about an order event, and what each user chose."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from customers.models import User
from notifications.models import (
    ClientWebhookAttempt,
    ClientWebhookDelivery,
    ClientWebhookEndpoint,
    Event,
    Notification,
    NotificationPreference,
)
from orders.models import Order
from phoneexport.memo import memoized

# Staff work, not client news: clients hear about the outcome (resumed, rejected, cancelled).
STAFF_ONLY_EVENTS = frozenset({Event.NEEDS_ATTENTION})
CLIENT_EVENTS = tuple(event for event in Event if event not in STAFF_ONLY_EVENTS)
# Viewers (often the receiving dock) hear only about goods on their way, by default.
VIEWER_DEFAULT_EVENTS = frozenset({Event.PARTIALLY_SHIPPED, Event.SHIPPED, Event.DELIVERED})


@dataclass(frozen=True)
class Recipient:
    email: str
    language: str
    user: User | None = None
    # Staff copies name the client and link to admin.
    for_staff: bool = False


def preference_events_for(*, user: User) -> tuple[str, ...]:
    """The events a user can choose to be emailed about."""
    return CLIENT_EVENTS if user.company_id else tuple(Event)


def default_email_events(*, user: User) -> frozenset[str]:
    if user.company_id and user.role == User.Role.VIEWER:
        return VIEWER_DEFAULT_EVENTS
    return frozenset(preference_events_for(user=user))


def email_events_for(*, user: User) -> frozenset[str]:
    """The events that email this user about orders they did not place."""
    chosen = dict(NotificationPreference.objects.filter(user=user)
                  .values_list("event", "email_enabled"))
    return frozenset(event for event in preference_events_for(user=user)
                     if chosen.get(event, event in default_email_events(user=user)))


def _opted_in(users: Iterable[User], event: str) -> list[User]:
    users = list(users)
    chosen = dict(NotificationPreference.objects.filter(user__in=users, event=event)
                  .values_list("user_id", "email_enabled"))
    return [user for user in users if event in preference_events_for(user=user)
            and chosen.get(user.pk, event in default_email_events(user=user))]


def order_event_recipients(*, order: Order, event: str) -> list[Recipient]:
    """Who is emailed about this event, each address once, in this order of precedence.

    The placing user if active, whatever their preferences (but never about staff-only
    events); the company's other active users who opted in; the client's account manager,
    if one is set and opted in; the staff mailbox, which receives every event.
    """
    return memoized(("order_event_recipients", order.company_id, order.placed_by_id, event),
                    lambda: _order_event_recipients(order=order, event=event))


def _order_event_recipients(*, order: Order, event: str) -> list[Recipient]:
    company = order.company
    candidates: list[Recipient] = []
    # The order service only takes orders from the company's own users.
    active_users = list(company.users.filter(is_active=True).order_by("pk"))
    placed_by = next((user for user in active_users if user.pk == order.placed_by_id), None)
    if placed_by is not None and event not in STAFF_ONLY_EVENTS:
        candidates.append(Recipient(email=placed_by.email, language=placed_by.language,
                                    user=placed_by))
    colleagues = [user for user in active_users if user.pk != order.placed_by_id]
    candidates += [Recipient(email=user.email, language=user.language, user=user)
                   for user in _opted_in(colleagues, event)]
    manager = company.account_manager
    if manager is not None and manager.is_active and _opted_in([manager], event):
        candidates.append(Recipient(email=manager.email, language=manager.language,
                                    user=manager, for_staff=True))
    if settings.STAFF_EMAIL:
        candidates.append(Recipient(email=settings.STAFF_EMAIL, language=settings.LANGUAGE_CODE,
                                    for_staff=True))
    recipients: dict[str, Recipient] = {}
    for recipient in candidates:
        recipients.setdefault(recipient.email.lower(), recipient)
    return list(recipients.values())


def _due_notifications() -> QuerySet[Notification]:
    return Notification.objects.filter(status=Notification.Status.PENDING,
                                       next_attempt_at__lte=timezone.now())


def due_notification_ids(*, limit: int, skip_locked: bool = False) -> list[int]:
    """Pending notifications whose next attempt is due, oldest due first.

    With `skip_locked`, inside a transaction: locked until it ends, and rows another
    transaction has locked are skipped.
    """
    due = _due_notifications().order_by("next_attempt_at")
    if skip_locked:
        due = due.select_for_update(skip_locked=True)
    return list(due.values_list("pk", flat=True)[:limit])


def oldest_due_notification_created_at():
    """When the longest-waiting due notification was recorded, or None."""
    return _due_notifications().order_by("next_attempt_at").values_list(
        "created_at", flat=True).first()


def webhook_endpoints_for(*, company_id: int) -> QuerySet[ClientWebhookEndpoint]:
    """The company's webhook endpoints, with their delivery counts by status."""
    statuses = ClientWebhookDelivery.Status
    return ClientWebhookEndpoint.objects.filter(company_id=company_id).annotate(
        delivered_count=Count("deliveries", filter=Q(deliveries__status=statuses.DELIVERED)),
        failed_count=Count("deliveries", filter=Q(deliveries__status=statuses.FAILED)),
        pending_count=Count("deliveries", filter=Q(deliveries__status__in=[
            statuses.PENDING, statuses.SENDING])),
    ).order_by("created_at")


def webhook_endpoint_for(*, company_id: int, endpoint_id: int) -> ClientWebhookEndpoint:
    """One of the company's endpoints; another company's is not found (404, not 403)."""
    return get_object_or_404(ClientWebhookEndpoint, pk=endpoint_id, company_id=company_id)


def recent_webhook_deliveries(*, endpoint: ClientWebhookEndpoint,
                              limit: int = 50) -> list[ClientWebhookDelivery]:
    """The endpoint's latest deliveries, each with its attempts, newest first."""
    return list(endpoint.deliveries.select_related("order").prefetch_related(
        Prefetch("attempt_log", queryset=ClientWebhookAttempt.objects.order_by("-attempted_at",
                                                                                "-id")),
    ).order_by("-created_at", "-id")[:limit])
