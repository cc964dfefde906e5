from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications import services
from notifications.models import Notification, NotificationPreference


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
