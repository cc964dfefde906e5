from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from suppliers import selectors, webhooks
from suppliers.models import Supplier, SupplierOrder, WebhookEvent


class RejectedWebhookFilter(admin.SimpleListFilter):
    title = _("rejected")
    parameter_name = "rejected"

    def lookups(self, request, model_admin):
        return [("yes", _("Not applied: invalid, unknown or given up"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return selectors.rejected_webhooks(queryset)
        return queryset


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "route", "is_active", "forwarding_paused_at"]
    list_filter = ["is_active", "route"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at", "forwarding_paused_at", "forwarding_paused_reason"]


@admin.register(SupplierOrder)
class SupplierOrderAdmin(admin.ModelAdmin):
    list_display = ["order", "supplier", "supplier_order_id", "forwarding_state",
                    "supplier_status", "supplier_version", "attempts", "next_attempt_at",
                    "last_synced_at"]
    list_filter = ["forwarding_state", "supplier", "supplier_status", "created_at",
                   "last_synced_at"]
    search_fields = ["order__number", "supplier_order_id", "idempotency_key"]
    list_select_related = ["order", "supplier"]
    readonly_fields = [field.name for field in SupplierOrder._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["webhook_id", "supplier", "event_type", "outcome", "order",
                    "order_version", "received_at", "processed_at"]
    list_filter = [RejectedWebhookFilter, "outcome", "event_type", "supplier"]
    search_fields = ["webhook_id", "supplier_order_id", "order__number"]
    list_select_related = ["supplier", "order"]
    date_hierarchy = "received_at"
    readonly_fields = [field.name for field in WebhookEvent._meta.fields]
    actions = ["reprocess"]

    @admin.action(description=_("Process again from the stored body"))
    def reprocess(self, request, queryset):
        for event in queryset:
            webhooks.reprocess(event=event)
        count = queryset.count()
        self.message_user(request, ngettext("%(count)d event queued for processing.",
                                            "%(count)d events queued for processing.", count)
                          % {"count": count}, messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# The manual route's work queue (its own module: suppliers/manual_admin.py).
from suppliers import manual_admin  # noqa: E402,F401
