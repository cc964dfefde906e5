from django.conf import settings
from django.db import models
from django.utils import timezone
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
        CLIENT_ALERT = "client_alert", _("Client alert")

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


class ClientWebhookEndpoint(models.Model):
    """An HTTPS address of a client's own system that receives its order events, signed.

    The secret is in Standard Webhooks form (`whsec_` + base64). After a rotation the previous
    secret also signs every delivery until `previous_secret_expires_at`, so the client can
    switch their receiver over without missing a message.
    """

    company = models.ForeignKey("customers.ClientCompany", verbose_name=_("client"),
                                on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Event values (see Event); the client picks which they want.
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    previous_secret = models.CharField(_("previous signing secret"), max_length=100,
                                       blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(_("previous secret valid until"),
                                                      null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.TextField(_("why disabled"), blank=True)
    # Deliveries failed for good in a row; a delivered one resets it.
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["company", "created_at"]
        verbose_name = _("client webhook endpoint")
        verbose_name_plural = _("client webhook endpoints")

    def __str__(self):
        return self.url


class ClientWebhookDelivery(models.Model):
    """One event for one endpoint: a row before the POST, so nothing is lost or sent twice.

    `webhook_id` is the Standard Webhooks message id; it stays the same across retries and
    re-sends, so the client's receiver can drop a message it has already processed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(ClientWebhookEndpoint, verbose_name=_("endpoint"),
                                 on_delete=models.CASCADE, related_name="deliveries")
    order = models.ForeignKey("orders.Order", verbose_name=_("order"), on_delete=models.CASCADE,
                              null=True, blank=True, related_name="client_webhook_deliveries")
    # "order.shipped", "webhook.test"...
    event_type = models.CharField(_("event type"), max_length=40)
    webhook_id = models.CharField(_("webhook id"), max_length=60, unique=True)
    # (endpoint, order, event[, shipment]): a repeated order event records nothing more.
    dedup_key = models.CharField(_("deduplication key"), max_length=255, unique=True)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # Set while a worker sends it; also the claim's token, so a late worker records nothing.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # Retries stop this long after the first attempt (or a re-send).
    retry_until = models.DateTimeField(_("retried until"), null=True, blank=True)
    last_response_status = models.PositiveIntegerField(_("last response status"), null=True,
                                                       blank=True)
    last_response_body = models.TextField(_("last response (excerpt)"), blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_duration_ms = models.PositiveIntegerField(_("last duration (ms)"), null=True,
                                                   blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("client webhook delivery")
        verbose_name_plural = _("client webhook deliveries")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="client_webhook_due"),
            models.Index(fields=["endpoint", "-created_at"], name="client_webhook_recent"),
        ]

    def __str__(self):
        return f"{self.event_type} → {self.endpoint}"


class ClientWebhookAttempt(models.Model):
    """One HTTP try of a delivery, as the client's system answered it."""

    delivery = models.ForeignKey(ClientWebhookDelivery, verbose_name=_("delivery"),
                                 on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(_("attempted at"), default=timezone.now)
    response_status = models.PositiveIntegerField(_("response status"), null=True, blank=True)
    response_body = models.TextField(_("response (excerpt)"), blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        verbose_name = _("client webhook attempt")
        verbose_name_plural = _("client webhook attempts")

    def __str__(self):
        return f"{self.response_status or self.error[:40]}"
