"""Order reads: company scope, keyset pages, search, the client's timeline, live versions."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import selectors
from orders.models import Order, OrderEvent
from orders.states import OrderStatus
from tests.orders.conftest import place

pytestmark = pytest.mark.django_db


def all_pages(**filters):
    seen, cursor = [], None
    while True:
        page = selectors.orders_for_client(cursor=cursor, **filters)
        seen.extend(page.orders)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_pages_walk_every_order_once_newest_first_even_with_equal_times(buyer, product):
    orders = [place(buyer, product, quantity=1) for _ in range(7)]
    # Orders placed in the same instant still page in a stable order.
    Order.objects.filter(pk__in=[order.pk for order in orders[2:5]]).update(
        created_at=orders[2].created_at)
    walked = all_pages(company=buyer.company, limit=2)
    assert [order.pk for order in walked] == sorted((order.pk for order in orders),
                                                    reverse=True)


def test_status_and_search_narrow_the_list_to_the_company(buyer, stranger, product):
    mine = place(buyer, product, po_reference="Spring restock 12")
    place(buyer, product, po_reference="other")
    theirs = place(stranger, product, po_reference="Spring restock 12")
    assert all_pages(company=buyer.company, search="RESTOCK") == [mine]
    assert all_pages(company=stranger.company, search=theirs.number) == [theirs]
    Order.objects.filter(pk=mine.pk).update(status=OrderStatus.CONFIRMED)
    assert all_pages(company=buyer.company, status="confirmed") == [mine]
    assert all_pages(company=buyer.company, status="shipped") == []


def test_a_forged_cursor_is_refused(buyer):
    for cursor in ("%%%", "bm90IGEgY3Vyc29y", "MjAyNi0xMS0yNXwx"):
        with pytest.raises(selectors.InvalidCursor):
            selectors.orders_for_client(company=buyer.company, cursor=cursor)


def test_order_detail_is_scoped_to_the_company(buyer, stranger, order):
    assert selectors.order_detail(company=buyer.company, public_id=order.public_id) == order
    with pytest.raises(Order.DoesNotExist):
        selectors.order_detail(company=stranger.company, public_id=order.public_id)


def test_the_clients_timeline_has_status_changes_and_shipments_only(buyer, order, ship):
    OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.NOTE,
                              message="Staff: client called.")
    ship(order)
    detail = selectors.order_detail(company=buyer.company, public_id=order.public_id)
    titles = [entry.title for entry in selectors.client_timeline(detail)]
    assert titles == ["Placed", "Shipment SHP-1: UPS 1Z999AA10123456784.", "Shipped"]


def test_the_live_version_changes_with_every_update_the_client_sees(buyer, stranger, order,
                                                                   ship):
    def version():
        return selectors.live_versions(company=buyer.company,
                                       public_ids=[order.public_id])[str(order.public_id)]

    before = version()
    assert before["status"] == "placed"
    assert selectors.live_versions(company=stranger.company, public_ids=[order.public_id]) == {}
    ship(order)
    after = version()
    assert after["status"] == "shipped" and after["version"] != before["version"]
    assert version() == after  # nothing new, nothing changed


@pytest.mark.postgres
@pytest.mark.parametrize("filters, index", [
    ({}, "order_company_recent"),
    ({"search": "PO-7781"}, "order_company_recent"),
    ({"status": "placed"}, "order_company_status"),
])
def test_every_page_of_the_list_is_an_index_walk_without_a_full_sort(buyer, product,
                                                                       filters, index):
    for _ in range(3):
        place(buyer, product, quantity=1, po_reference="PO-7781")
    first = selectors.orders_for_client(company=buyer.company, limit=1, **filters)
    with CaptureQueriesContext(connection) as queries:
        selectors.orders_for_client(company=buyer.company, limit=1,
                                    cursor=first.next_cursor, **filters)
    with connection.cursor() as cursor:
        # On a small table the planner prefers a scan; forbid it to see the plan that a
        # million orders get.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {queries.captured_queries[-1]['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"Index Scan using {index}" in plan, plan
    assert "Index Cond: ((company_id = " in plan and "created_at <=" in plan, plan
    # At most an incremental sort on the id tie-break, never a sort of the whole list.
    assert not re.search(r"(?<!Incremental )Sort  \(", plan), plan
