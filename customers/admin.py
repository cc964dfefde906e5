from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from customers.models import ClientCompany, PricingTier, ShippingAddress, User


@admin.register(PricingTier)
class PricingTierAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "rank"]
    search_fields = ["name", "code"]


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
    list_display = ["name", "account_number", "pricing_tier", "is_active", "created_at"]
    list_filter = ["is_active", "pricing_tier"]
    search_fields = ["name", "account_number", "users__email"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [UserInline, ShippingAddressInline]


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
