from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from inventory.models import Warehouse
from orders import desk, services
from orders.admin_approval import (
    PaymentFilter, approve_orders, decline_orders, mark_unpaid, record_payments,
)
from orders.errors import OrderError
from orders.models import Order, OrderEvent, OrderLine, Shipment, ShipmentImei, ShipmentLine
from orders.states import OrderStatus
from suppliers import services as supplier_services
from suppliers.adapters.base import SupplierError
from suppliers.models import SupplierOrder, WebhookEvent


def staff_actor(request) -> services.Actor:
    return services.Actor(user=request.user, ip_address=request.META.get("REMOTE_ADDR"))


def run_for_each(modeladmin, request, queryset, action, done_message: str) -> None:
    """Run a service on each selected order; report successes and each refusal."""
    done = 0
    for order in queryset.select_related("supplier_order__supplier"):
        try:
            action(order)
        except (OrderError, SupplierError) as exc:
            modeladmin.message_user(request, f"{order.number}: {exc}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = _("attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", _("Needs attention"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=OrderStatus.NEEDS_ATTENTION)
        return queryset


class WaitingOnSupplierFilter(admin.SimpleListFilter):
    title = _("waiting on the supplier")
    parameter_name = "waiting"

    def lookups(self, request, model_admin):
        return [("long", _("Too long"))]

    def queryset(self, request, queryset):
        if self.value() == "long":
            return desk.waiting_on_supplier_too_long(queryset)
        return queryset


class WarehouseFilter(admin.SimpleListFilter):
    """Orders with at least one line shipping from the chosen warehouse."""

    title = _("warehouse")
    parameter_name = "warehouse"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in Warehouse.objects.values_list("pk", "name")]

    def queryset(self, request, queryset):
        if not (self.value() or "").isdigit():
            return queryset
        return queryset.filter(Exists(OrderLine.objects.filter(
            order=OuterRef("pk"), product__warehouse_id=int(self.value()))))


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ["sku", "description", "quantity", "unit_price", "unit_cost", "quantity_shipped"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class SupplierOrderInline(admin.StackedInline):
    model = SupplierOrder
    fields = ["supplier", "supplier_order_id", "forwarding_state", "supplier_status",
              "supplier_version", "attempts", "next_attempt_at", "last_attempted_at",
              "last_error", "idempotency_key", "revision", "last_synced_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ShipmentInline(admin.TabularInline):
    model = Shipment
    fields = ["supplier_shipment_id", "carrier", "tracking_number", "shipped_at", "issues"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    verbose_name_plural = _("timeline")
    fields = ["created_at", "kind", "from_status", "to_status", "actor", "actor_label",
              "ip_address", "message", "webhook_event"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class WebhookEventInline(admin.TabularInline):
    """The supplier's events about this order, as received, whatever became of them."""

    model = WebhookEvent
    verbose_name_plural = _("supplier webhook events")
    fields = ["received_at", "event_type", "order_version", "outcome", "processed_at", "error"]
    readonly_fields = fields
    ordering = ["received_at"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """The wholesale desk: every order with its supplier order, money and where it stands."""

    list_display = ["number", "supplier_order_number", "client", "warehouse", "total",
                    "margin", "margin_percent", "status", "days_in_status", "forwarding_state",
                    "payment", "created_at"]
    list_filter = [NeedsAttentionFilter, WaitingOnSupplierFilter, "status",
                   "supplier_order__supplier", "company", WarehouseFilter,
                   "supplier_order__forwarding_state", PaymentFilter, "created_at",
                   "status_changed_at"]
    search_fields = ["number", "public_id", "po_reference", "company__name",
                     "company__account_number", "supplier_order__supplier_order_id",
                     "lines__sku"]
    date_hierarchy = "created_at"
    readonly_fields = ["number", "public_id", "company", "placed_by", "status",
                       "status_changed_at", "days_in_status", "status_reason", "ship_to",
                       "shipping_method", "po_reference", "currency", "subtotal", "total",
                       "cost_total", "margin", "margin_percent", "warehouse", "paid_at",
                       "payment_reference", "created_at", "updated_at"]
    fields = readonly_fields + ["notes"]
    inlines = [OrderLineInline, SupplierOrderInline, ShipmentInline, OrderEventInline,
               WebhookEventInline]
    show_full_result_count = False
    actions = ["resend_now", "cancel_orders", "refresh_from_supplier", "export_csv",
               approve_orders, decline_orders, record_payments, mark_unpaid]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Re-send to the supplier now"))
    def resend_now(self, request, queryset):
        run_for_each(self, request, queryset, lambda order: supplier_services.resend_now(
            supplier_order=order.supplier_order, actor=staff_actor(request)),
            ngettext("%(count)d order queued for sending.",
                     "%(count)d orders queued for sending.", queryset.count()))

    @admin.action(description=_("Cancel (at the supplier too)"))
    def cancel_orders(self, request, queryset):
        run_for_each(self, request, queryset, lambda order: services.cancel_order(
            order=order, actor=staff_actor(request), reason=_("Cancelled by staff.")),
            ngettext("%(count)d order cancelled.", "%(count)d orders cancelled.",
                     queryset.count()))

    @admin.action(description=_("Refresh the status from the supplier"))
    def refresh_from_supplier(self, request, queryset):
        run_for_each(self, request, queryset, lambda order: supplier_services.refresh_from_supplier(
            supplier_order=order.supplier_order, actor=staff_actor(request)),
            ngettext("%(count)d order refreshed.", "%(count)d orders refreshed.",
                     queryset.count()))

    @admin.action(description=_("Export to CSV"))
    def export_csv(self, request, queryset):
        # Re-read by primary key: the export has its own figures, whatever the list shows.
        orders = Order.objects.filter(pk__in=queryset.values("pk")).order_by("-created_at")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        filename = f"orders-{timezone.now():%Y%m%d-%H%M}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        desk.write_orders_csv(orders=orders, stream=response)
        return response

    def get_queryset(self, request):
        return desk.with_desk_figures(super().get_queryset(request).distinct())

    @admin.display(description=_("supplier order"), ordering="supplier_order__supplier_order_id")
    def supplier_order_number(self, order):
        supplier_order = getattr(order, "supplier_order", None)
        return supplier_order.supplier_order_id if supplier_order else ""

    @admin.display(description=_("client"), ordering="company__name")
    def client(self, order):
        return order.company.name

    @admin.display(description=_("warehouse"), ordering="desk_warehouse")
    def warehouse(self, order):
        return desk.warehouse_label(order)

    @admin.display(description=_("margin"), ordering="desk_margin")
    def margin(self, order):
        return desk.margin_of(order)

    @admin.display(description=_("margin %"), ordering="desk_margin_percent")
    def margin_percent(self, order):
        if order.desk_margin_percent is None:
            return "—"
        return f"{order.desk_margin_percent:.1f}"

    @admin.display(description=_("days in status"), ordering="status_changed_at")
    def days_in_status(self, order):
        return desk.days_in_status(order)

    @admin.display(description=_("payment"), ordering="paid_at")
    def payment(self, order):
        if order.paid_at is not None:
            return _("Paid")
        if order.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
            return "-"
        days = (timezone.now() - order.created_at).days
        return ngettext("Unpaid, %(days)d day", "Unpaid, %(days)d days", days) % {"days": days}

    @admin.display(description=_("forwarding"), ordering="supplier_order__forwarding_state")
    def forwarding_state(self, order):
        supplier_order = getattr(order, "supplier_order", None)
        return supplier_order.get_forwarding_state_display() if supplier_order else ""


class ShipmentImeiInline(admin.TabularInline):
    model = ShipmentImei
    fields = ["imei", "is_valid"]
    readonly_fields = fields
    extra = 0


@admin.register(ShipmentLine)
class ShipmentLineAdmin(admin.ModelAdmin):
    list_display = ["shipment", "sku", "quantity"]
    search_fields = ["sku", "shipment__order__number", "imeis__imei"]
    readonly_fields = ["shipment", "order_line", "sku", "quantity"]
    inlines = [ShipmentImeiInline]


class ShipmentLineInline(admin.TabularInline):
    model = ShipmentLine
    fields = ["sku", "quantity", "order_line"]
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = ["supplier_shipment_id", "order", "carrier", "tracking_number", "shipped_at"]
    list_filter = ["carrier", "shipped_at"]
    search_fields = ["supplier_shipment_id", "tracking_number", "order__number",
                     "lines__imeis__imei"]
    list_select_related = ["order"]
    readonly_fields = ["order", "supplier_shipment_id", "carrier", "tracking_number",
                       "shipped_at", "issues", "created_at", "updated_at"]
    inlines = [ShipmentLineInline]

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()


@admin.register(ShipmentImei)
class ShipmentImeiAdmin(admin.ModelAdmin):
    list_display = ["imei", "is_valid", "shipment_line"]
    list_filter = ["is_valid"]
    search_fields = ["imei"]
    readonly_fields = ["imei", "is_valid", "shipment_line"]


@admin.register(OrderEvent)
class OrderEventAdmin(admin.ModelAdmin):
    list_display = ["order", "created_at", "kind", "from_status", "to_status", "actor",
                    "actor_label"]
    list_filter = ["kind", "to_status", "created_at"]
    search_fields = ["order__number", "message"]
    list_select_related = ["order", "actor"]
    readonly_fields = [field.name for field in OrderEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
