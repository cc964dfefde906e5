from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from inventory.models import (
    Carrier, CarrierMapping, Grade, GradeMapping, Product, SupplierOffer, Warehouse,
    WarehouseMapping,
)


@admin.register(Grade)
class GradeAdmin(admin.ModelAdmin):
    list_display = ["rank", "code", "name"]
    list_display_links = ["code"]
    search_fields = ["code", "name"]


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "is_unlocked"]
    search_fields = ["code", "name"]


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["code", "name"]


class MappedFilter(admin.SimpleListFilter):
    title = _("mapped")
    parameter_name = "mapped"

    def lookups(self, request, model_admin):
        return [("no", _("Not mapped yet")), ("yes", _("Mapped"))]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(target__isnull=self.value() == "no")
        return queryset


class MappingAdmin(admin.ModelAdmin):
    list_display = ["supplier", "supplier_code", "target", "created_at"]
    list_editable = ["target"]
    list_filter = [MappedFilter, "supplier"]
    search_fields = ["supplier_code"]
    readonly_fields = ["created_at"]


admin.site.register(GradeMapping, MappingAdmin)
admin.site.register(CarrierMapping, MappingAdmin)
admin.site.register(WarehouseMapping, MappingAdmin)


class SupplierOfferInline(admin.StackedInline):
    model = SupplierOffer
    extra = 0
    readonly_fields = ["supplier", "supplier_sku", "quantity", "reserved_quantity", "cost_price",
                       "currency", "supplier_updated_at", "updated_at"]
    fields = readonly_fields
    can_delete = False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "manufacturer", "model_name", "storage_gb", "colour", "grade",
                    "carrier", "warehouse", "sell_price", "is_active"]
    list_filter = ["is_active", "manufacturer", "grade", "carrier", "warehouse"]
    search_fields = ["sku", "model_name", "manufacturer"]
    list_select_related = ["grade", "carrier", "warehouse"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [SupplierOfferInline]


@admin.register(SupplierOffer)
class SupplierOfferAdmin(admin.ModelAdmin):
    list_display = ["supplier_sku", "supplier", "product", "grade_code", "carrier_code",
                    "warehouse_code", "quantity", "reserved_quantity", "cost_price",
                    "supplier_updated_at"]
    list_filter = ["supplier", "warehouse_code", "grade_code", "carrier_code"]
    search_fields = ["supplier_sku", "model_name", "product__sku"]
    list_select_related = ["supplier", "product"]
    readonly_fields = ["created_at", "updated_at", "supplier_updated_at"]
    raw_id_fields = ["product"]
