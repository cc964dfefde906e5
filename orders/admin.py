from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from orders.models import Order, OrderEvent, OrderLine, Shipment, ShipmentImei, ShipmentLine
from suppliers.models import SupplierOrder


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


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "company", "status", "total", "currency", "po_reference",
                    "status_changed_at", "created_at"]
    list_filter = ["status", "created_at", "company"]
    search_fields = ["number", "public_id", "po_reference", "company__name",
                     "supplier_order__supplier_order_id", "lines__sku"]
    list_select_related = ["company"]
    date_hierarchy = "created_at"
    readonly_fields = ["number", "public_id", "company", "placed_by", "status",
                       "status_changed_at", "ship_to", "shipping_method", "po_reference",
                       "currency", "subtotal", "total", "cost_total", "created_at", "updated_at"]
    fields = readonly_fields + ["notes"]
    inlines = [OrderLineInline, SupplierOrderInline, ShipmentInline, OrderEventInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()


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
