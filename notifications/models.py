from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.TextChoices):
    """What happened to an order, as clients and staff are told about it."""

    AWAITING_APPROVAL = "awaiting_approval", _("Order awaiting approval")
    PLACED = "placed", _("Order placed")
    FORWARDED = "forwarded", _("Order sent for fulfilment")
    CONFIRMED = "confirmed", _("Order confirmed")
    ON_HOLD = "on_hold", _("Order on hold")
    REJECTED = "rejected", _("Order rejected")
    BACKORDERED = "backordered", _("Order backordered")
    PARTIALLY_SHIPPED = "partially_shipped", _("Part of an order shipped")
    SHIPPED = "shipped", _("Order shipped")
    DELIVERED = "delivered", _("Order delivered")
    CANCELLED = "cancelled", _("Order cancelled")
    NEEDS_ATTENTION = "needs_attention", _("Order needs attention")


class AlertKind(models.TextChoices):
    """Problems staff must look at; they go to the staff mailbox only."""

    NEEDS_ATTENTION = "needs_attention", _("Order needs attention")
    SUPPLIER_REJECTION = "supplier_rejection", _("Supplier rejection")
    SUPPLIER_AUTH_FAILURE = "supplier_auth_failure", _("Supplier refused our credentials")
    WEBHOOK_SIGNATURE_BURST = "webhook_signature_burst", _("Burst of bad webhook signatures")
    INVENTORY_SYNC_FAILURE = "inventory_sync_failure", _("Inventory sync failure")


class Notification(models.Model):
    """One message to one recipient: a row before it is sent, so nothing is lost or sent twice.

    The message is rendered when the row is created, in the recipient's language, so what
    admin shows is exactly what was (or will be) sent, whatever happens to the order later.
    """

    class Kind(models.TextChoices):
        ORDER_EVENT = "order_event", _("Order event")
        STAFF_ALERT = "staff_alert", _("Staff alert")
        SUPPLIER_MESSAGE = "supplier_message", _("Message to a supplier")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    # (order, event, recipient): the same message is never sent twice.
    dedup_key = models.CharField(_("deduplication key"), max_length=255, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices,
                            default=Kind.ORDER_EVENT)
    # An Event value for order events, an AlertKind value for staff alerts.
    event = models.CharField(_("event"), max_length=40)
    order = models.ForeignKey("orders.Order", verbose_name=_("order"), on_delete=models.CASCADE,
                              null=True, blank=True, related_name="notifications")
    recipient_email = models.EmailField(_("recipient"))
    recipient_user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recipient user"),
                                       on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="notifications")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices,
                               default=Channel.EMAIL)
    language = models.CharField(_("language"), max_length=10, default=settings.LANGUAGE_CODE)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body_text = models.TextField(_("plain-text body"), blank=True)
    body_html = models.TextField(_("HTML body"), blank=True)
    # [{"filename", "mimetype", "content"}]: small text files such as the shipped IMEIs.
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    # The facts the message was rendered from (status, reason, shipment).
    context = models.JSONField(_("context"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # Set while a worker sends it; also the claim's token, so a late worker records nothing.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_due"),
        ]

    def __str__(self):
        return f"{self.event} → {self.recipient_email}"


class NotificationPreference(models.Model):
    """A user's choice for one event; without a row, the default for their role applies."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"),
                             on_delete=models.CASCADE, related_name="notification_preferences")
    event = models.CharField(_("event"), max_length=40, choices=Event.choices)
    email_enabled = models.BooleanField(_("email"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["user", "event"]
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="one_preference_per_event"),
        ]

    def __str__(self):
        return f"{self.user}: {self.event} {'✓' if self.email_enabled else '✗'}"
