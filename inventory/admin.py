from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from inventory import selectors, services
from inventory.errors import InventoryError
from inventory.forms import PriceListForm, PricePreviewForm
from inventory.models import (
    Carrier, CarrierMapping, Grade, GradeMapping, PriceChange, PricingRule, Product,
    SupplierOffer, SyncRun, Warehouse, WarehouseMapping,
)
from inventory.views import price_list_response


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
    list_display = ["name", "code", "is_cancellable", "is_returnable", "lead_time_max_days",
                    "warranty_days"]
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
    list_display = ["supplier", "supplier_code", "target", "waiting_offers", "created_at"]
    list_editable = ["target"]
    list_filter = [MappedFilter, "supplier"]
    search_fields = ["supplier_code"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        return selectors.with_waiting_offers(super().get_queryset(request))

    @admin.display(description=_("offers held back"), ordering="waiting_offers")
    def waiting_offers(self, mapping):
        return mapping.waiting_offers

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "target" in form.changed_data:
            counts = services.apply_code_mapping(mapping=obj)
            self.message_user(request, gettext(
                "%(code)s: %(on_sale)d offer(s) put on sale, %(off_sale)d taken off sale.") % {
                "code": obj.supplier_code, "on_sale": counts.products_linked,
                "off_sale": counts.products_unlinked})


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


class PriceChangeInline(admin.TabularInline):
    model = PriceChange
    fields = ["recorded_at", "reason", "previous_cost_price", "cost_price", "cost_change_percent",
              "previous_sell_price", "sell_price", "needs_review"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "manufacturer", "model_name", "storage_gb", "colour", "grade",
                    "carrier", "warehouse", "sell_price", "available", "is_active"]
    list_filter = ["is_active", "manufacturer", "grade", "carrier", "warehouse"]
    search_fields = ["sku", "model_name", "manufacturer"]
    list_select_related = ["grade", "carrier", "warehouse"]
    readonly_fields = ["price_preview", "created_at", "updated_at"]
    inlines = [SupplierOfferInline, PriceChangeInline]
    show_full_result_count = False
    # What the supplier's feed, the code mappings and the pricing rules decide.
    DERIVED_FIELDS = ["sku", "manufacturer", "model_name", "storage_gb", "colour", "grade",
                      "carrier", "warehouse", "sell_price", "currency"]

    def get_queryset(self, request):
        return selectors.with_available_quantity(super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and SupplierOffer.objects.filter(product=obj).exists():
            return [*self.DERIVED_FIELDS, *self.readonly_fields]
        return self.readonly_fields

    @admin.display(description=_("available"), ordering="available_quantity")
    def available(self, product):
        return product.available_quantity

    @admin.display(description=_("price"))
    def price_preview(self, product):
        if product.pk is None:
            return "—"
        url = reverse("admin:inventory_pricingrule_preview") + "?" + urlencode(
            {"sku": product.sku})
        return format_html('<a href="{}">{}</a>', url, gettext("How this price is made"))


class HeldBackFilter(admin.SimpleListFilter):
    title = _("on sale")
    parameter_name = "held_back"

    def lookups(self, request, model_admin):
        return [("yes", _("Held back: a code is not mapped")), ("no", _("Has a product"))]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(product__isnull=self.value() == "yes")
        return queryset


@admin.register(SupplierOffer)
class SupplierOfferAdmin(admin.ModelAdmin):
    """What the feed said: read only, the sync writes it."""

    list_display = ["supplier_sku", "supplier", "product", "grade_code", "carrier_code",
                    "warehouse_code", "quantity", "reserved_quantity", "cost_price",
                    "supplier_updated_at"]
    list_filter = [HeldBackFilter, "supplier", "warehouse_code", "grade_code", "carrier_code"]
    search_fields = ["supplier_sku", "model_name", "product__sku"]
    list_select_related = ["supplier", "product"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PricingRule)
class PricingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "scope", "priority", "formula", "rounding", "is_active",
                    "updated_at"]
    list_filter = ["is_active", "rounding", "tier", "grade", "warehouse"]
    search_fields = ["name", "manufacturer", "model_name", "company__name"]
    autocomplete_fields = ["company"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "is_active", "priority"]}),
        (_("Scope"), {
            "fields": ["company", "tier", "manufacturer", "model_name", "grade", "warehouse"],
            "description": _("Empty fields match everything. The most specific rule wins: "
                             "a client's, then its tier's, then a model's, then "
                             "manufacturer, grade or warehouse rules, then rules for "
                             "everything."),
        }),
        (_("Formula"), {
            "fields": ["markup_percent", "markup_amount", "fixed_price", "floor_price",
                       "cap_price", "rounding"],
            "description": _("Cost, plus the markup percentage, plus the markup amount; then "
                             "the floor and the cap; then the rounding. A fixed price "
                             "replaces all of it."),
        }),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=_("scope"))
    def scope(self, rule):
        conditions = [str(value) for value in (rule.company, rule.tier, rule.manufacturer,
                                               rule.model_name, rule.grade, rule.warehouse)
                      if value]
        label = str(rule.level_label).capitalize()
        return f"{label}: {', '.join(conditions)}" if conditions else label

    @admin.display(description=_("formula"))
    def formula(self, rule):
        if rule.fixed_price is not None:
            return gettext("fixed %(price)s") % {"price": rule.fixed_price}
        parts = []
        if rule.markup_percent is not None:
            parts.append(f"{rule.markup_percent:+} %")
        if rule.markup_amount is not None:
            parts.append(f"{rule.markup_amount:+}")
        if rule.floor_price is not None:
            parts.append(gettext("floor %(price)s") % {"price": rule.floor_price})
        if rule.cap_price is not None:
            parts.append(gettext("cap %(price)s") % {"price": rule.cap_price})
        return ", ".join(parts)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.schedule_price_recompute()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.schedule_price_recompute()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.schedule_price_recompute()

    def get_urls(self):
        return [
            path("preview/", self.admin_site.admin_view(self.preview_view),
                 name="inventory_pricingrule_preview"),
            path("price-list/", self.admin_site.admin_view(self.price_list_view),
                 name="inventory_pricingrule_price_list"),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """For a product and a client: the rule that applies and each step to the price."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PricePreviewForm(request.GET or None)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": _("Price preview"), "form": form,
                   "price_list_form": PriceListForm()}
        if form.is_valid():
            product, company = form.product, form.cleaned_data["company"]
            context.update(
                product=product,
                explanation=selectors.explain_price(product=product, company=company),
                client_price=(selectors.client_prices(company=company, products=[product])
                              [product.pk] if company else product.sell_price),
                available=selectors.available_quantities(products=[product])[product.pk])
        return TemplateResponse(request, "admin/inventory/pricingrule/preview.html", context)

    def price_list_view(self, request):
        """A client's price list, as the client downloads it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PriceListForm(request.GET)
        if not form.is_valid():
            self.message_user(request, gettext("Choose a client company."), messages.ERROR)
            return TemplateResponse(request, "admin/inventory/pricingrule/preview.html", {
                **self.admin_site.each_context(request), "opts": self.model._meta,
                "title": _("Price preview"), "form": PricePreviewForm(),
                "price_list_form": form})
        return price_list_response(company=form.cleaned_data["company"])


class NeedsReviewFilter(admin.SimpleListFilter):
    title = _("review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("needed", _("Cost change to review"))]

    def queryset(self, request, queryset):
        if self.value() == "needed":
            return queryset.filter(needs_review=True, reviewed_at__isnull=True)
        return queryset


@admin.register(PriceChange)
class PriceChangeAdmin(admin.ModelAdmin):
    list_display = ["recorded_at", "product", "reason", "previous_cost_price", "cost_price",
                    "cost_change_percent", "previous_sell_price", "sell_price", "needs_review",
                    "reviewed_at"]
    list_filter = [NeedsReviewFilter, "reason", "needs_review"]
    search_fields = ["product__sku"]
    list_select_related = ["product"]
    date_hierarchy = "recorded_at"
    readonly_fields = [field.name for field in PriceChange._meta.fields]
    actions = ["mark_reviewed"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Mark the cost changes as reviewed"),
                  permissions=["change"])
    def mark_reviewed(self, request, queryset):
        count = services.review_price_changes(changes=queryset, user=request.user)
        self.message_user(request, ngettext("%(count)d cost change marked as reviewed.",
                                            "%(count)d cost changes marked as reviewed.",
                                            count) % {"count": count}, messages.SUCCESS)


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["__str__", "supplier", "status", "started_at", "duration_shown",
                    "progress", "pages", "items_seen", "items_created", "items_updated",
                    "items_out_of_stock", "items_rejected", "items_unmapped",
                    "cost_changes_flagged", "removals_status"]
    list_filter = ["status", "kind", "removals_status", "supplier"]
    list_select_related = ["supplier"]
    date_hierarchy = "started_at"
    show_full_result_count = False
    actions = ["confirm_removals", "discard_removals"]
    fieldsets = [
        (None, {"fields": ["supplier", "kind", "status", "updated_since", "webhook_id",
                           "started_at", "finished_at", "duration_shown", "progress"]}),
        (_("Counts"), {"fields": ["pages", "items_seen", "items_created", "items_updated",
                                  "items_out_of_stock", "items_rejected", "items_unmapped",
                                  "products_created", "prices_changed",
                                  "cost_changes_flagged"]}),
        (_("Removals"), {"fields": ["removals_status", "held_removals", "held_sample",
                                    "removals_decided_at", "removals_decided_by"]}),
        (_("Problems"), {"fields": ["error_list", "rejection_table"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [name for fieldset in self.fieldsets for name in fieldset[1]["fields"]]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("duration"))
    def duration_shown(self, run):
        duration = run.duration
        return "—" if duration is None else f"{duration.total_seconds():.1f} s"

    @admin.display(description=_("progress"))
    def progress(self, run):
        if run.status != SyncRun.Status.RUNNING:
            return "—"
        text = gettext("page %(pages)d, %(items)d items") % {"pages": run.pages,
                                                              "items": run.items_seen}
        if run.expected_items:
            text += gettext(" of about %(expected)d (%(percent)d %%)") % {
                "expected": run.expected_items,
                "percent": min(99, run.items_seen * 100 // run.expected_items)}
        if run.heartbeat_at:
            text += gettext(", last progress %(seconds)d s ago") % {
                "seconds": (timezone.now() - run.heartbeat_at).total_seconds()}
        return text

    @admin.display(description=_("errors"))
    def error_list(self, run):
        return format_html_join("\n", "<p>{}</p>", ((error,) for error in run.errors)) or "—"

    @admin.display(description=_("rejected items"))
    def rejection_table(self, run):
        if not run.rejections:
            return "—"
        rows = format_html_join("\n", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                                ((rejection.get("page", ""), rejection.get("sku", ""),
                                  rejection.get("reason", "")) for rejection in run.rejections))
        return format_html("<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
                           gettext("page"), gettext("SKU"), gettext("reason"), rows)

    @admin.display(description=_("offers held in stock"))
    def held_sample(self, run):
        if not run.held_offer_ids:
            return "—"
        sample = (SupplierOffer.objects.filter(pk__in=run.held_offer_ids[:20])
                  .order_by("supplier_sku").values_list("supplier_sku", flat=True))
        more = len(run.held_offer_ids) - len(sample)
        text = ", ".join(sample)
        return text + (gettext(" and %(count)d more") % {"count": more} if more > 0 else "")

    @admin.action(description=_("Confirm the held removals (out of stock)"),
                  permissions=["change"])
    def confirm_removals(self, request, queryset):
        self._decide(request, queryset, lambda run: services.confirm_held_removals(
            run=run, user=request.user))

    @admin.action(description=_("Discard the held removals (keep selling)"),
                  permissions=["change"])
    def discard_removals(self, request, queryset):
        self._decide(request, queryset, lambda run: services.discard_held_removals(
            run=run, user=request.user))

    def _decide(self, request, queryset, decide) -> None:
        for run in queryset:
            try:
                decide(run)
            except InventoryError as exc:
                self.message_user(request, f"{run}: {exc}", messages.ERROR)
            else:
                self.message_user(request, gettext("%(run)s: done.") % {"run": run},
                                  messages.SUCCESS)


# Stock-list uploads and imports (their own module: inventory/stocklist_admin.py).
from inventory import stocklist_admin  # noqa: E402,F401
