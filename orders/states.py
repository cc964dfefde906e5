"""Our order statuses and the moves allowed between them, written down once.

The supplier may skip statuses (its webhook can be faster than its answer to our POST, and
some events are never delivered), so from any status an order may jump to any later one on
the supplier's lifecycle. What can never happen is going back: a shipped order never returns
to processing, and terminal statuses are final.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.errors import InvalidTransition


class OrderStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    PLACED = "placed", _("Placed")
    SUBMITTED = "submitted", _("Submitted")
    CONFIRMED = "confirmed", _("Confirmed")
    ON_HOLD = "on_hold", _("On hold")
    PROCESSING = "processing", _("Processing")
    BACKORDERED = "backordered", _("Backordered")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    REJECTED = "rejected", _("Rejected")
    NEEDS_ATTENTION = "needs_attention", _("Needs attention")


S = OrderStatus

# Statuses from which the supplier may still move the order, before any unit shipped.
_BEFORE_SHIPPING = {S.SUBMITTED, S.CONFIRMED, S.ON_HOLD, S.PROCESSING, S.BACKORDERED}
_SHIPPING = {S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED}

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.AWAITING_APPROVAL: frozenset({S.PLACED, S.CANCELLED, S.REJECTED}),
    S.PLACED: frozenset(_BEFORE_SHIPPING | _SHIPPING
                        | {S.CANCELLED, S.REJECTED, S.NEEDS_ATTENTION}),
    S.SUBMITTED: frozenset(_BEFORE_SHIPPING - {S.SUBMITTED} | _SHIPPING
                           | {S.CANCELLED, S.REJECTED, S.NEEDS_ATTENTION}),
    S.CONFIRMED: frozenset({S.ON_HOLD, S.PROCESSING, S.BACKORDERED} | _SHIPPING
                           | {S.CANCELLED, S.NEEDS_ATTENTION}),
    # On hold goes back to where it was, or on, or is cancelled.
    S.ON_HOLD: frozenset(_BEFORE_SHIPPING - {S.ON_HOLD} | _SHIPPING
                         | {S.CANCELLED, S.NEEDS_ATTENTION}),
    S.PROCESSING: frozenset({S.ON_HOLD, S.BACKORDERED} | _SHIPPING
                            | {S.CANCELLED, S.NEEDS_ATTENTION}),
    S.BACKORDERED: frozenset({S.PROCESSING} | _SHIPPING | {S.CANCELLED, S.NEEDS_ATTENTION}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED, S.DELIVERED, S.NEEDS_ATTENTION}),
    S.SHIPPED: frozenset({S.DELIVERED, S.NEEDS_ATTENTION}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    # Staff resolve it: re-send (placed), cancel, or the supplier's own news moves it on.
    S.NEEDS_ATTENTION: frozenset({S.PLACED} | _BEFORE_SHIPPING | _SHIPPING
                                 | {S.CANCELLED, S.REJECTED}),
}

TERMINAL_STATUSES = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
# Statuses in which an order is still waiting for news from the supplier.
OPEN_STATUSES = frozenset(set(OrderStatus) - TERMINAL_STATUSES - {S.AWAITING_APPROVAL})
CANCELLABLE_STATUSES = frozenset(
    status for status, targets in TRANSITIONS.items() if S.CANCELLED in targets)


def can_transition(from_status: str, to_status: str) -> bool:
    return OrderStatus(to_status) in TRANSITIONS[OrderStatus(from_status)]


def check_transition(from_status: str, to_status: str) -> None:
    """Raise InvalidTransition unless the table allows the move."""
    if not can_transition(from_status, to_status):
        raise InvalidTransition(from_status, to_status)
