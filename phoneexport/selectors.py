"""Reads across apps: what the wholesale desk must look at, for the admin's front page."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from inventory import selectors as inventory_selectors
from inventory.models import CarrierMapping, GradeMapping, SyncRun, WarehouseMapping
from notifications.models import AlertKind, Notification
from orders import desk
from orders.models import Order
from orders.states import OrderStatus
from suppliers import selectors as supplier_selectors
from suppliers.models import Supplier

# Rejected webhooks and signature alerts older than this are history, not news.
RECENT = timedelta(days=7)
# A supplier whose last complete sync is older than this has stale stock and costs.
SYNC_STALE_AFTER = timedelta(hours=2)
NEEDS_ATTENTION_LISTED = 10


@dataclass(frozen=True)
class AttentionCount:
    label: str
    count: int
    url: str


@dataclass(frozen=True)
class SupplierSyncStatus:
    supplier: Supplier
    last_run: SyncRun | None
    last_success: SyncRun | None
    is_stale: bool


@dataclass(frozen=True)
class DeskAttention:
    counts: list[AttentionCount]
    needs_attention_orders: list[Order]
    syncs: list[SupplierSyncStatus]

    @property
    def total(self) -> int:
        return sum(item.count for item in self.counts)


def desk_attention(*, now: datetime | None = None) -> DeskAttention:
    """Everything on the desk that needs a person, each with a link to the list behind it."""
    now = now or timezone.now()
    since = (now - RECENT).isoformat()
    orders = Order.objects.all()
    counts = [
        AttentionCount(_("Orders needing attention"),
                       orders.filter(status=OrderStatus.NEEDS_ATTENTION).count(),
                       _admin_list("orders", "order", attention="yes")),
        AttentionCount(_("Orders waiting on the supplier for over %(hours)d hours")
                       % {"hours": desk.SUPPLIER_WAIT_LIMIT // timedelta(hours=1)},
                       desk.waiting_on_supplier_too_long(orders, now=now).count(),
                       _admin_list("orders", "order", waiting="long")),
        AttentionCount(_("Supplier webhooks not applied (7 days)"),
                       supplier_selectors.rejected_webhooks().filter(
                           received_at__gte=now - RECENT).count(),
                       _admin_list("suppliers", "webhookevent", rejected="yes",
                                   received_at__gte=since)),
        AttentionCount(_("Bursts of bad webhook signatures (7 days)"),
                       Notification.objects.filter(
                           kind=Notification.Kind.STAFF_ALERT,
                           event=AlertKind.WEBHOOK_SIGNATURE_BURST,
                           created_at__gte=now - RECENT).count(),
                       _admin_list("notifications", "notification",
                                   event=AlertKind.WEBHOOK_SIGNATURE_BURST,
                                   created_at__gte=since)),
        AttentionCount(_("Emails that failed to send"),
                       Notification.objects.filter(status=Notification.Status.FAILED).count(),
                       _admin_list("notifications", "notification",
                                   status__exact=Notification.Status.FAILED)),
        *(AttentionCount(label, model.objects.filter(target__isnull=True).count(),
                         _admin_list("inventory", model._meta.model_name, mapped="no"))
          for label, model in [(_("Supplier grades not mapped"), GradeMapping),
                               (_("Supplier carriers not mapped"), CarrierMapping),
                               (_("Supplier warehouses not mapped"), WarehouseMapping)]),
        AttentionCount(_("Inventory removals held for review"),
                       SyncRun.objects.filter(removals_status=SyncRun.Removals.HELD).count(),
                       _admin_list("inventory", "syncrun",
                                   removals_status__exact=SyncRun.Removals.HELD)),
    ]
    needs_attention = list(orders.filter(status=OrderStatus.NEEDS_ATTENTION)
                           .select_related("company").order_by("status_changed_at")
                           [:NEEDS_ATTENTION_LISTED])
    return DeskAttention(counts=counts, needs_attention_orders=needs_attention,
                         syncs=[_sync_status(supplier, now=now) for supplier in
                                Supplier.objects.filter(is_active=True).order_by("name")])


def _sync_status(supplier: Supplier, *, now: datetime) -> SupplierSyncStatus:
    last_run = (SyncRun.objects
                .filter(supplier=supplier, kind__in=[SyncRun.Kind.FULL, SyncRun.Kind.DELTA])
                .order_by("-started_at", "-pk").first())
    last_success = inventory_selectors.last_successful_sync(supplier=supplier)
    is_stale = last_success is None or last_success.started_at < now - SYNC_STALE_AFTER
    return SupplierSyncStatus(supplier=supplier, last_run=last_run, last_success=last_success,
                              is_stale=is_stale)


def _admin_list(app_label: str, model_name: str, **filters) -> str:
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url
