import pytest

from orders.errors import InvalidTransition
from orders.states import (
    CANCELLABLE_STATUSES, OPEN_STATUSES, TERMINAL_STATUSES, TRANSITIONS, OrderStatus,
    can_transition, check_transition,
)

S = OrderStatus

# The supplier's lifecycle in the order it moves forward; no move may go back along it.
FORWARD = [S.PLACED, S.SUBMITTED, S.CONFIRMED, S.PROCESSING, S.PARTIALLY_SHIPPED, S.SHIPPED,
           S.DELIVERED]


def test_every_status_has_an_entry():
    assert set(TRANSITIONS) == set(OrderStatus)


@pytest.mark.parametrize("status", [S.DELIVERED, S.CANCELLED, S.REJECTED])
def test_terminal_statuses_are_final(status):
    assert status in TERMINAL_STATUSES
    for target in OrderStatus:
        assert not can_transition(status, target)


@pytest.mark.parametrize("earlier,later", [
    (FORWARD[i], FORWARD[j]) for i in range(len(FORWARD)) for j in range(i + 1, len(FORWARD))
])
def test_any_later_status_can_be_reached_directly(earlier, later):
    # Statuses can be skipped: a webhook may be faster than the answer to our POST.
    assert can_transition(earlier, later)


@pytest.mark.parametrize("earlier,later", [
    (FORWARD[i], FORWARD[j]) for i in range(1, len(FORWARD)) for j in range(i)
])
def test_no_going_back(earlier, later):
    with pytest.raises(InvalidTransition):
        check_transition(earlier, later)


def test_delivered_never_goes_back_to_processing():
    assert not can_transition(S.DELIVERED, S.PROCESSING)


@pytest.mark.parametrize("status", [S.SUBMITTED, S.CONFIRMED, S.PROCESSING])
def test_on_hold_goes_back_to_where_it_was(status):
    assert can_transition(status, S.ON_HOLD)
    assert can_transition(S.ON_HOLD, status)
    assert can_transition(S.ON_HOLD, S.CANCELLED)


def test_backordered_resumes_processing():
    assert can_transition(S.CONFIRMED, S.BACKORDERED)
    assert can_transition(S.BACKORDERED, S.PROCESSING)


def test_rejection_only_before_the_supplier_confirms():
    assert can_transition(S.PLACED, S.REJECTED)
    assert can_transition(S.SUBMITTED, S.REJECTED)
    assert not can_transition(S.CONFIRMED, S.REJECTED)
    assert not can_transition(S.SHIPPED, S.REJECTED)


def test_cancellation_only_before_any_unit_shipped():
    assert CANCELLABLE_STATUSES == {S.AWAITING_APPROVAL, S.PLACED, S.SUBMITTED, S.CONFIRMED,
                                    S.ON_HOLD, S.PROCESSING, S.BACKORDERED, S.NEEDS_ATTENTION}


def test_awaiting_approval_is_released_or_declined_by_staff():
    assert TRANSITIONS[S.AWAITING_APPROVAL] == {S.PLACED, S.CANCELLED, S.REJECTED}


def test_needs_attention_can_be_resent_or_moved_on_by_the_supplier():
    assert can_transition(S.NEEDS_ATTENTION, S.PLACED)
    assert can_transition(S.NEEDS_ATTENTION, S.SHIPPED)
    assert can_transition(S.PROCESSING, S.NEEDS_ATTENTION)


def test_open_statuses_exclude_final_and_unapproved():
    assert OPEN_STATUSES.isdisjoint(TERMINAL_STATUSES)
    assert S.AWAITING_APPROVAL not in OPEN_STATUSES
    assert S.SHIPPED in OPEN_STATUSES  # still waits for delivery


def test_invalid_transition_names_both_statuses():
    with pytest.raises(InvalidTransition, match="'shipped' to 'processing'"):
        check_transition(S.SHIPPED, S.PROCESSING)
