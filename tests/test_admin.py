"""Every model has a working admin: list, search and (where it exists) change page."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from customers.models import User
from inventory.models import GradeMapping, SyncRun, Warehouse
from notifications.models import Notification
from orders.models import Order, OrderEvent, OrderLine, format_order_number
from phoneexport.selectors import desk_attention
from suppliers.models import Supplier, SupplierOrder, WebhookEvent
from tests.factories import DEMO_SHIP_TO, ClientCompanyFactory, ProductFactory


@pytest.fixture
def staff_client(client, db):
    call_command("seed_demo")
    user = User.objects.create_superuser(email="staff@phoneexport.example", password="x" * 12)
    client.force_login(user)
    return client


OUR_APPS = {"customers", "inventory", "suppliers", "orders", "notifications"}
OUR_MODELS = [model for model in admin.site._registry if model._meta.app_label in OUR_APPS]


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda model: model.__name__)
def test_admin_pages_render(staff_client, model):
    info = model._meta.app_label, model._meta.model_name
    changelist = staff_client.get(reverse("admin:%s_%s_changelist" % info), {"q": "a"})
    assert changelist.status_code == 200
    instance = model.objects.first()
    if instance is not None:
        change = staff_client.get(reverse("admin:%s_%s_change" % info, args=[instance.pk]))
        assert change.status_code == 200


@pytest.mark.django_db
def test_admin_login_page(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"PhoneExport" in response.content



# --- The wholesale desk: the order list, its filters and CSV export, the front page ---------
@pytest.fixture
def desk_client(client, db):
    staff = User.objects.create_superuser(email="desk@phoneexport.example", password="x" * 12)
    client.force_login(staff)
    return client


def desk_order(*, company, warehouses, total="500.00", cost="450.00", status="submitted",
               days_in_status=0, supplier_order_id="", po_reference="",
               forwarding=SupplierOrder.ForwardingState.FORWARDED) -> Order:
    """An order with one line per warehouse given, as placed and sent to the supplier."""
    changed_at = timezone.now() - timedelta(days=days_in_status, hours=1)
    order = Order.objects.create(company=company, ship_to=DEMO_SHIP_TO, status=status,
                                 status_changed_at=changed_at, total=Decimal(total),
                                 subtotal=Decimal(total), cost_total=Decimal(cost),
                                 po_reference=po_reference)
    order.number = format_order_number(order.pk)
    order.save(update_fields=["number"])
    for warehouse in warehouses:
        product = ProductFactory(warehouse=warehouse)
        OrderLine.objects.create(order=order, product=product, sku=product.sku,
                                 supplier_sku=product.sku, description=str(product), quantity=1,
                                 unit_price=Decimal(total), unit_cost=Decimal(cost))
    SupplierOrder.objects.create(order=order, supplier=Supplier.objects.get(slug="wesellcellular"),
                                 idempotency_key=f"test-{order.pk}", forwarding_state=forwarding,
                                 supplier_order_id=supplier_order_id)
    return order


@pytest.fixture
def desk_orders(db):
    miami = Warehouse.objects.create(code="miami", name="Miami")
    doral = Warehouse.objects.create(code="doral", name="Doral")
    acme = ClientCompanyFactory(name="Acme Mobile LLC", account_number="C-1001")
    bravo = ClientCompanyFactory(name="Bravo Wireless", account_number="C-1002")
    return {
        "late": desk_order(company=acme, warehouses=[miami, doral], total="1000.00",
                           cost="900.00", days_in_status=3, supplier_order_id="WSC-777",
                           po_reference="=HYPERLINK(\"http://evil\")"),
        "fresh": desk_order(company=bravo, warehouses=[doral], total="200.00", cost="150.00",
                            status="placed", forwarding=SupplierOrder.ForwardingState.PENDING),
        "stuck": desk_order(company=bravo, warehouses=[miami], status="needs_attention",
                            forwarding=SupplierOrder.ForwardingState.NEEDS_ATTENTION),
        "miami": miami, "doral": doral, "acme": acme, "bravo": bravo,
    }


CHANGELIST = "/admin/orders/order/"


def listed_numbers(response) -> set[str]:
    assert response.status_code == 200, response.headers.get("Location")
    return {order.number for order in response.context["cl"].result_list}


def test_the_desk_lists_what_staff_read(desk_client, desk_orders):
    response = desk_client.get(CHANGELIST)
    late = next(order for order in response.context["cl"].result_list
                if order.pk == desk_orders["late"].pk)
    row = response.content.decode().split(late.number, 1)[1].split("</tr>", 1)[0]
    for expected in ["WSC-777", "Acme Mobile LLC", "Doral +1", "1000.00", "100.00", "10.0",
                     "Submitted", ">3<", "Accepted by the supplier"]:
        assert expected in row, expected
    assert late.desk_margin == Decimal("100.00")


@pytest.mark.parametrize("query, expected", [
    ({"status__exact": "placed"}, {"fresh"}),
    ({"attention": "yes"}, {"stuck"}),
    ({"waiting": "long"}, {"late"}),
    ({"supplier_order__forwarding_state__exact": "pending"}, {"fresh"}),
])
def test_the_desk_filters_by_status_and_age(desk_client, desk_orders, query, expected):
    assert listed_numbers(desk_client.get(CHANGELIST, query)) == {
        desk_orders[name].number for name in expected}


def test_the_desk_filters_by_supplier_client_warehouse_and_date(desk_client, desk_orders):
    supplier = Supplier.objects.get(slug="wesellcellular")
    everything = {desk_orders[name].number for name in ("late", "fresh", "stuck")}
    assert listed_numbers(desk_client.get(
        CHANGELIST, {"supplier_order__supplier__id__exact": supplier.pk})) == everything
    assert listed_numbers(desk_client.get(
        CHANGELIST, {"company__id__exact": desk_orders["acme"].pk})) == {
        desk_orders["late"].number}
    assert listed_numbers(desk_client.get(
        CHANGELIST, {"warehouse": desk_orders["miami"].pk})) == {
        desk_orders["late"].number, desk_orders["stuck"].number}
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()
    assert listed_numbers(desk_client.get(CHANGELIST, {"created_at__gte": tomorrow})) == set()
    two_days_ago = (timezone.now() - timedelta(days=2)).isoformat()
    assert listed_numbers(desk_client.get(CHANGELIST, {"status_changed_at__lt": two_days_ago})) \
        == {desk_orders["late"].number}


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_csv_export_of_the_selected_orders(desk_client, desk_orders):
    late = desk_orders["late"]
    rows = read_csv(desk_client.post(CHANGELIST, {
        "action": "export_csv", "_selected_action": [late.pk, desk_orders["fresh"].pk]}))
    assert [row["Order"] for row in rows] == [desk_orders["fresh"].number, late.number]
    row = rows[1]
    assert row == {
        "Order": late.number, "Supplier order": "WSC-777", "Supplier": "WeSellCellular",
        "Client": "Acme Mobile LLC", "Account number": "C-1001", "Warehouse": "Doral +1",
        "Status": "Submitted", "Days in status": "3", "Forwarding": "Accepted by the supplier",
        "Currency": "USD", "Total": "1000.00", "Supplier cost": "900.00", "Margin": "100.00",
        "Margin %": "10.0", "PO reference": "'=HYPERLINK(\"http://evil\")",
        "Placed at": row["Placed at"], "Status changed at": row["Status changed at"]}


def test_csv_export_of_every_filtered_order(desk_client, desk_orders):
    rows = read_csv(desk_client.post(f"{CHANGELIST}?company__id__exact={desk_orders['bravo'].pk}", {
        "action": "export_csv", "select_across": "1",
        "_selected_action": [desk_orders["fresh"].pk]}))
    assert {row["Order"] for row in rows} == {desk_orders["fresh"].number,
                                             desk_orders["stuck"].number}


def test_the_desk_keeps_its_order_actions_and_timeline(desk_client, desk_orders):
    actions = desk_client.get(CHANGELIST).context["action_form"].fields["action"].choices
    assert {"resend_now", "cancel_orders", "refresh_from_supplier", "export_csv"} <= {
        name for name, _ in actions}
    order = desk_orders["late"]
    OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.NOTE, message="Called WSC.")
    WebhookEvent.objects.create(supplier=Supplier.objects.get(slug="wesellcellular"),
                                webhook_id="msg_shipped", event_type="order.shipped",
                                raw_body="{}", order=order, outcome=WebhookEvent.Outcome.APPLIED)
    page = desk_client.get(f"{CHANGELIST}{order.pk}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "Called WSC." in content and "Doral +1" in content and "order.shipped" in content


def test_the_desk_list_costs_the_same_whatever_its_length(desk_client, desk_orders,
                                                          django_assert_max_num_queries):
    with django_assert_max_num_queries(12) as few:
        desk_client.get(CHANGELIST)
    for _ in range(20):
        desk_order(company=desk_orders["acme"], warehouses=[desk_orders["miami"]])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = desk_client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == 23


def test_the_front_page_shows_what_needs_attention(desk_client, desk_orders):
    now = timezone.now()
    supplier = Supplier.objects.get(slug="wesellcellular")
    WebhookEvent.objects.create(supplier=supplier, webhook_id="msg_bad", raw_body="{",
                                outcome=WebhookEvent.Outcome.INVALID)
    Notification.objects.create(dedup_key="failed-1", recipient_email="a@b.example",
                                event="placed", status=Notification.Status.FAILED)
    GradeMapping.objects.create(supplier=supplier, supplier_code="Z-grade")
    SyncRun.objects.create(supplier=supplier, kind=SyncRun.Kind.DELTA,
                           status=SyncRun.Status.FAILED, errors=["feed timed out"],
                           started_at=now - timedelta(minutes=5))

    attention = desk_attention(now=now)
    counts = {item.label: item.count for item in attention.counts}
    assert counts["Orders needing attention"] == 1
    assert counts["Orders waiting on the supplier for over 48 hours"] == 1
    assert counts["Supplier webhooks not applied (7 days)"] == 1
    assert counts["Emails that failed to send"] == 1
    assert counts["Supplier grades not mapped"] == 1
    assert [order.number for order in attention.needs_attention_orders] == [
        desk_orders["stuck"].number]
    (sync,) = attention.syncs
    assert sync.last_run.status == SyncRun.Status.FAILED and sync.is_stale

    page = desk_client.get("/admin/")
    content = page.content.decode()
    assert "Orders needing attention" in content and "feed timed out" in content
    assert desk_orders["stuck"].number in content
    for item in attention.counts:  # every link opens its list, with the filter understood
        listed = desk_client.get(item.url)
        assert listed.status_code == 200, item.url
        assert listed.context["cl"].result_count == item.count, item.label


def test_the_front_page_costs_a_fixed_number_of_queries(desk_client, desk_orders,
                                                        django_assert_max_num_queries):
    with django_assert_max_num_queries(25):
        assert desk_client.get("/admin/").status_code == 200
