from decimal import Decimal

from django.contrib import admin
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from customers.models import ClientCompany, PricingTier, ShippingAddress, User
from orders.states import OrderStatus


@admin.register(PricingTier)
class PricingTierAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "rank", "show_out_of_stock"]
    search_fields = ["name", "code"]
    filter_horizontal = ["visible_grades", "visible_carriers"]


class UserInline(admin.TabularInline):
    model = User
    fields = ["email", "first_name", "last_name", "role", "language", "is_active", "last_login"]
    readonly_fields = ["last_login"]
    extra = 0
    show_change_link = True


class ShippingAddressInline(admin.StackedInline):
    model = ShippingAddress
    extra = 0


@admin.register(ClientCompany)
class ClientCompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "account_number", "pricing_tier", "payment_terms", "credit_limit",
                    "open_balance", "on_hold", "account_manager", "is_active"]
    list_filter = ["is_active", "on_hold", "pricing_tier", "payment_terms", "account_manager"]
    search_fields = ["name", "account_number", "users__email"]
    list_select_related = ["pricing_tier", "account_manager"]
    readonly_fields = ["open_balance", "created_at", "updated_at"]
    filter_horizontal = ["visible_grades", "visible_carriers"]
    fieldsets = [
        (None, {"fields": ["name", "account_number", "is_active", "account_manager"]}),
        (_("Credit"), {"fields": ["payment_terms", "credit_limit", "open_balance", "on_hold",
                                  "hold_reason"]}),
        (_("What the client sees"), {
            "fields": ["pricing_tier", "visible_grades", "visible_carriers",
                       "show_out_of_stock"],
            "description": _("The tier decides; the choices here override it.")}),
        (_("Dates"), {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [UserInline, ShippingAddressInline]

    def get_queryset(self, request):
        unpaid = Q(orders__paid_at__isnull=True) & ~Q(
            orders__status__in=[OrderStatus.CANCELLED, OrderStatus.REJECTED])
        return super().get_queryset(request).annotate(
            balance=Coalesce(Sum("orders__total", filter=unpaid), Decimal("0")))

    @admin.display(description=_("open balance"), ordering="balance")
    def open_balance(self, company):
        return company.balance

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "account_manager":
            kwargs["queryset"] = User.objects.filter(is_staff=True, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "company", "role", "is_staff",
                    "is_active", "last_login"]
    list_filter = ["is_staff", "is_active", "role", "language", "company"]
    search_fields = ["email", "first_name", "last_name", "company__name"]
    list_select_related = ["company"]
    readonly_fields = ["last_login", "date_joined"]
    autocomplete_fields = ["company"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal info"), {"fields": ["first_name", "last_name", "language"]}),
        (_("Client"), {"fields": ["company", "role"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups",
                                       "user_permissions"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"],
                "fields": ["email", "company", "role", "password1", "password2"]}),
    ]


@admin.register(ShippingAddress)
class ShippingAddressAdmin(admin.ModelAdmin):
    list_display = ["label", "company", "city", "country", "is_default"]
    list_filter = ["country", "is_default"]
    search_fields = ["label", "company__name", "company_name", "city", "postal_code"]
    list_select_related = ["company"]
    autocomplete_fields = ["company"]
