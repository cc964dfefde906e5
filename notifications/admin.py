from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "order", "recipient_email", "channel", "status",
                    "attempts", "sent_at"]
    list_filter = ["status", "event", "channel", "language"]
    search_fields = ["recipient_email", "order__number", "subject"]
    list_select_related = ["order"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Notification._meta.fields]

    def has_add_permission(self, request):
        return False
