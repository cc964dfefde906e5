from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from notifications import client_webhooks, services
from notifications.models import (
    ClientWebhookAttempt,
    ClientWebhookDelivery,
    ClientWebhookEndpoint,
    Notification,
    NotificationPreference,
)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "event", "order", "recipient_email", "subject",
                    "status", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["status", "kind", "event", "channel", "language"]
    search_fields = ["recipient_email", "order__number", "subject", "dedup_key", "error"]
    list_select_related = ["order"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Notification._meta.fields]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send again (failed or waiting ones)"))
    def resend(self, request, queryset):
        queued = services.resend_notifications(
            notification_ids=queryset.values_list("pk", flat=True))
        skipped = queryset.count() - queued
        self.message_user(request, ngettext("%(count)d notification queued to be sent again.",
                                            "%(count)d notifications queued to be sent again.",
                                            queued) % {"count": queued}, messages.SUCCESS)
        if skipped:
            self.message_user(request, ngettext(
                "%(count)d notification was skipped: already sent or being sent.",
                "%(count)d notifications were skipped: already sent or being sent.",
                skipped) % {"count": skipped}, messages.WARNING)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "event", "email_enabled", "updated_at"]
    list_filter = ["event", "email_enabled"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


class ClientWebhookAttemptInline(admin.TabularInline):
    model = ClientWebhookAttempt
    fields = ["attempted_at", "response_status", "duration_ms", "error", "response_body"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ClientWebhookDelivery)
class ClientWebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event_type", "order", "endpoint", "webhook_id", "status",
                    "attempts", "last_response_status", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "event_type", ("endpoint__company", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["webhook_id", "order__number", "endpoint__url", "endpoint__company__name",
                     "last_error"]
    list_select_related = ["order", "endpoint"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in ClientWebhookDelivery._meta.fields]
    inlines = [ClientWebhookAttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send again (with the same webhook id)"))
    def resend(self, request, queryset):
        queued = client_webhooks.resend_deliveries(
            delivery_ids=queryset.values_list("pk", flat=True))
        skipped = queryset.count() - queued
        self.message_user(request, ngettext("%(count)d delivery queued to be sent again.",
                                            "%(count)d deliveries queued to be sent again.",
                                            queued) % {"count": queued}, messages.SUCCESS)
        if skipped:
            self.message_user(request, ngettext(
                "%(count)d delivery was skipped: being sent, or its endpoint is disabled.",
                "%(count)d deliveries were skipped: being sent, or their endpoint is disabled.",
                skipped) % {"count": skipped}, messages.WARNING)


@admin.register(ClientWebhookEndpoint)
class ClientWebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "company", "description", "is_active", "consecutive_failures",
                    "disabled_at", "created_at"]
    list_filter = ["is_active", ("company", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["url", "description", "company__name", "company__account_number"]
    list_select_related = ["company"]
    # The client manages its endpoints in the portal; staff see them and act through actions.
    # The secrets are the client's: never shown here.
    fields = readonly_fields = [
        "company", "url", "description", "events", "is_active", "disabled_at",
        "disabled_reason", "consecutive_failures", "previous_secret_expires_at", "created_by",
        "created_at", "updated_at"]
    actions = ["enable", "disable"]

    def has_add_permission(self, request):
        return False

    def delete_model(self, request, obj):
        client_webhooks.delete_endpoint(endpoint=obj)

    @admin.action(description=_("Enable (and send what waited)"))
    def enable(self, request, queryset):
        queued = sum(client_webhooks.enable_endpoint(endpoint=endpoint)
                     for endpoint in queryset.filter(is_active=False))
        self.message_user(request, ngettext("%(count)d waiting delivery queued.",
                                            "%(count)d waiting deliveries queued.",
                                            queued) % {"count": queued}, messages.SUCCESS)

    @admin.action(description=_("Disable"))
    def disable(self, request, queryset):
        for endpoint in queryset.filter(is_active=True):
            client_webhooks.disable_endpoint(
                endpoint=endpoint,
                reason=gettext("Disabled by PhoneExport staff (%(user)s).") % {
                    "user": request.user.email})
        self.message_user(request, _("The selected endpoints are disabled."), messages.SUCCESS)
