"""Credit limits, holds and staff approval in the order service; payments and the balance."""

from decimal import Decimal

import pytest

from inventory.models import SupplierOffer
from orders import services
from orders.errors import InvalidOrder, InvalidTransition
from orders.models import Order
from orders.services import Actor, LineRequest
from orders.states import OrderStatus
from suppliers import services as forwarding
from suppliers.models import SupplierOrder
from tests.factories import DEMO_SHIP_TO, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db
State = SupplierOrder.ForwardingState
STAFF = Actor(label="staff:desk@phoneexport.test")


@pytest.fixture
def buyer():
    return UserFactory()


@pytest.fixture
def product():
    return ProductFactory(offer__quantity=50, sell_price=Decimal("100.00"))


def place(buyer, product, quantity=1):
    return services.place_order(company=buyer.company, user=buyer, ship_to=DEMO_SHIP_TO,
                                lines=[LineRequest(sku=product.sku, quantity=quantity)])


def set_limit(company, limit):
    company.credit_limit = Decimal(limit)
    company.save()


def test_no_credit_limit_means_no_approval(buyer, product):
    assert place(buyer, product, quantity=40).status == OrderStatus.PLACED


@pytest.mark.parametrize(("quantity", "expected"), [
    (8, OrderStatus.PLACED),              # 800 of 1,000: at 80 %, not over it
    (7, OrderStatus.PLACED),              # just under
    (9, OrderStatus.AWAITING_APPROVAL),   # over 80 %
    (10, OrderStatus.AWAITING_APPROVAL),  # at the limit: still over 80 %
    (11, OrderStatus.AWAITING_APPROVAL),  # over the limit
])
def test_the_share_of_the_credit_limit_decides(buyer, product, quantity, expected, settings):
    settings.CREDIT_APPROVAL_SHARE = Decimal("0.8")
    set_limit(buyer.company, "1000.00")
    assert place(buyer, product, quantity=quantity).status == expected


@pytest.mark.parametrize(("quantity", "expected"), [
    (9, OrderStatus.PLACED), (10, OrderStatus.PLACED), (11, OrderStatus.AWAITING_APPROVAL)])
def test_at_just_under_and_just_over_the_limit_itself(buyer, product, quantity, expected,
                                                      settings):
    settings.CREDIT_APPROVAL_SHARE = Decimal("1")
    set_limit(buyer.company, "1000.00")
    order = place(buyer, product, quantity=quantity)
    assert order.status == expected
    if expected == OrderStatus.AWAITING_APPROVAL:
        assert "over the credit limit" in order.status_reason


def test_unpaid_orders_count_and_payments_free_the_balance(buyer, product, settings):
    settings.CREDIT_APPROVAL_SHARE = Decimal("1")
    set_limit(buyer.company, "1000.00")
    first = place(buyer, product, quantity=6)
    assert services.open_balance(company=buyer.company) == Decimal("600.00")
    assert place(buyer, product, quantity=5).status == OrderStatus.AWAITING_APPROVAL

    services.record_payment(order=first, actor=STAFF, reference="WIRE-88")
    assert services.open_balance(company=buyer.company) == Decimal("500.00")  # the waiting one
    assert place(buyer, product, quantity=5).status == OrderStatus.PLACED
    services.mark_unpaid(order=first, actor=STAFF)
    assert services.open_balance(company=buyer.company) == Decimal("1600.00")


def test_a_company_on_hold_waits_for_approval_whatever_the_amount(buyer, product):
    buyer.company.on_hold = True
    buyer.company.hold_reason = "Invoice 1142 overdue"
    buyer.company.save()
    order = place(buyer, product)
    assert order.status == OrderStatus.AWAITING_APPROVAL
    assert "Invoice 1142 overdue" in order.status_reason


def test_an_order_awaiting_approval_is_not_sent_until_approved(buyer, product):
    set_limit(buyer.company, "100.00")
    order = place(buyer, product, quantity=2)
    supplier_order = order.supplier_order
    assert supplier_order.forwarding_state == State.AWAITING_APPROVAL
    assert supplier_order.next_attempt_at is None
    assert SupplierOffer.objects.get(product=product).reserved_quantity == 2

    assert forwarding.sweep_supplier_orders() == 0  # not due: nothing to send

    approved = services.approve_order(order=order, actor=STAFF)
    assert approved.status == OrderStatus.PLACED
    supplier_order.refresh_from_db()
    assert supplier_order.forwarding_state == State.PENDING
    assert forwarding.sweep_supplier_orders() == 1
    assert approved.events.filter(to_status=OrderStatus.PLACED).exists()
    with pytest.raises(InvalidTransition):
        services.approve_order(order=order, actor=STAFF)


def test_declined_releases_stock_and_tells_the_client(buyer, product):
    set_limit(buyer.company, "100.00")
    order = place(buyer, product, quantity=3)
    with pytest.raises(InvalidOrder):
        services.decline_order(order=order, actor=STAFF, reason="  ")

    declined = services.decline_order(order=order, actor=STAFF, reason="Credit review failed")

    assert declined.status == OrderStatus.REJECTED
    assert declined.status_reason == "Credit review failed"
    assert SupplierOffer.objects.get(product=product).reserved_quantity == 0
    assert SupplierOrder.objects.get(order=order).forwarding_state == State.CANCELLED
    events = set(declined.notifications.values_list("event", flat=True))
    assert {"awaiting_approval", "rejected"} <= events


def test_the_client_may_cancel_while_awaiting_approval(buyer, product):
    set_limit(buyer.company, "100.00")
    order = place(buyer, product, quantity=3)
    cancelled = services.cancel_order(order=order, actor=Actor(user=buyer))
    assert cancelled.status == OrderStatus.CANCELLED
    assert SupplierOffer.objects.get(product=product).reserved_quantity == 0
    assert Order.objects.get(pk=order.pk).supplier_order.forwarding_state == State.CANCELLED


# --- From the admin desk -----------------------------------------------------------------
@pytest.fixture
def desk(client):
    from customers.models import User

    staff = User.objects.create_superuser(email="desk@phoneexport.test", password="x" * 12)
    client.force_login(staff)
    return client


def run_action(desk, action, orders, **fields):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.urls import reverse

    return desk.post(reverse("admin:orders_order_changelist"),
                     {"action": action, ACTION_CHECKBOX_NAME: [order.pk for order in orders],
                      **fields})


def test_staff_approve_and_decline_from_the_order_list(desk, buyer, product):
    set_limit(buyer.company, "100.00")
    to_approve, to_decline = place(buyer, product, 2), place(buyer, product, 2)

    assert run_action(desk, "approve_orders", [to_approve]).status_code == 302
    asked = run_action(desk, "decline_orders", [to_decline])
    assert asked.status_code == 200 and b"Reason, sent to the client" in asked.content
    assert run_action(desk, "decline_orders", [to_decline], apply="1",
                      reason="Over the agreed terms").status_code == 302

    to_approve.refresh_from_db()
    to_decline.refresh_from_db()
    assert to_approve.status == OrderStatus.PLACED
    assert (to_decline.status, to_decline.status_reason) == (OrderStatus.REJECTED,
                                                            "Over the agreed terms")


def test_staff_record_a_payment_with_its_reference(desk, buyer, product):
    order = place(buyer, product, 2)
    run_action(desk, "record_payments", [order], apply="1", paid_on="2026-11-20",
               reference="WIRE-0042")
    order.refresh_from_db()
    assert order.is_paid and order.payment_reference == "WIRE-0042"
    assert order.paid_at.date().isoformat() == "2026-11-20"
    assert services.open_balance(company=buyer.company) == Decimal("0")
