from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_stock_list_columns(value: object) -> None:
    from inventory.stocklists import validate_column_mapping

    validate_column_mapping(value)


class Supplier(models.Model):
    """A supplier PhoneExport forwards orders to, and the route its orders take."""

    class Route(models.TextChoices):
        DEFAULT = "", _("As configured (SUPPLIER_TRANSPORT)")
        DIRECT = "direct", _("Direct API")
        PHONEX = "phonex", _("Through PhoneX")
        MANUAL = "manual", _("Manual (staff place orders)")

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=120)
    route = models.CharField(_("route"), max_length=10, choices=Route.choices, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Set when the supplier refuses our credentials: forwarding waits, attempts are not burned.
    forwarding_paused_at = models.DateTimeField(_("forwarding paused at"), null=True, blank=True)
    forwarding_paused_reason = models.TextField(_("reason forwarding is paused"), blank=True)
    # Manual route: where purchase orders are emailed when the supplier takes orders by email.
    order_desk_email = models.EmailField(
        _("order desk email"), blank=True,
        help_text=_("Purchase orders of the manual route are emailed here."))
    # Our field -> the column header in the supplier's stock-list export; missing fields use
    # the default headers (inventory.stocklists.DEFAULT_COLUMNS).
    stock_list_columns = models.JSONField(
        _("stock-list columns"), default=dict, blank=True,
        validators=[validate_stock_list_columns],
        help_text=_('Column headers of the supplier\'s stock-list export, e.g. '
                    '{"sku": "Item #", "quantity": "Avail"}. Fields left out use the '
                    'default headers.'))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")

    def __str__(self):
        return self.name

    @property
    def effective_route(self) -> str:
        return self.route or settings.SUPPLIER_TRANSPORT


class SupplierOrder(models.Model):
    """Our order as sent to (and seen by) the supplier: the unit of forwarding and sync."""

    class ForwardingState(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Waiting for staff approval")
        PENDING = "pending", _("Waiting to be sent")
        IN_FLIGHT = "in_flight", _("Being sent")
        FORWARDED = "forwarded", _("Accepted by the supplier")
        MANUAL = "manual", _("Waiting for staff to place it")
        NEEDS_ATTENTION = "needs_attention", _("Needs attention")
        REJECTED = "rejected", _("Rejected by the supplier")
        CANCELLED = "cancelled", _("Cancelled")

    order = models.OneToOneField("orders.Order", verbose_name=_("order"),
                                 on_delete=models.CASCADE, related_name="supplier_order")
    supplier = models.ForeignKey(Supplier, verbose_name=_("supplier"),
                                 on_delete=models.PROTECT, related_name="orders")
    # One key per order and revision, kept across every retry and restart.
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    revision = models.PositiveIntegerField(_("revision"), default=1)
    forwarding_state = models.CharField(_("forwarding state"), max_length=20,
                                        choices=ForwardingState.choices,
                                        default=ForwardingState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    first_attempted_at = models.DateTimeField(_("first attempted at"), null=True, blank=True)
    last_attempted_at = models.DateTimeField(_("last attempted at"), null=True, blank=True)
    forwarded_at = models.DateTimeField(_("forwarded at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_code = models.CharField(_("last error code"), max_length=50, blank=True)
    supplier_order_id = models.CharField(_("supplier order id"), max_length=100, blank=True)
    supplier_status = models.CharField(_("supplier status"), max_length=50, blank=True)
    supplier_version = models.PositiveIntegerField(_("supplier version"), default=0)
    last_synced_at = models.DateTimeField(_("last synced at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("supplier order")
        verbose_name_plural = _("supplier orders")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "supplier_order_id"],
                                    condition=~models.Q(supplier_order_id=""),
                                    name="unique_supplier_order_id"),
        ]
        indexes = [
            # The sweeper: orders due for an attempt.
            models.Index(fields=["forwarding_state", "next_attempt_at"],
                         name="supplierorder_due"),
            # Reconciliation: open orders with no news for a while.
            models.Index(fields=["forwarding_state", "last_synced_at"],
                         name="supplierorder_stale"),
        ]

    def __str__(self):
        return self.supplier_order_id or self.idempotency_key


class WebhookEvent(models.Model):
    """A signed event received from a supplier, stored raw before anything is done with it."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Waiting to be processed")
        APPLIED = "applied", _("Applied")
        STALE = "stale", _("Older than what we have; ignored")
        UNKNOWN_TYPE = "unknown_type", _("Unknown event type")
        UNKNOWN_ORDER = "unknown_order", _("Order not known yet")
        INVALID = "invalid", _("Invalid body")
        FAILED = "failed", _("Failed")

    # No index of its own: the unique (supplier, webhook id) constraint's index serves it.
    supplier = models.ForeignKey(Supplier, verbose_name=_("supplier"), db_index=False,
                                 on_delete=models.PROTECT, related_name="webhook_events")
    webhook_id = models.CharField(_("webhook id"), max_length=255)
    event_type = models.CharField(_("event type"), max_length=100, blank=True)
    headers = models.JSONField(_("headers"), default=dict)
    raw_body = models.TextField(_("raw body"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices,
                               default=Outcome.PENDING)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(_("processing attempts"), default=0)
    # When processing is tried again (an order not known yet, a failure); null when done.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    supplier_order_id = models.CharField(_("supplier order id"), max_length=100, blank=True)
    order_version = models.PositiveIntegerField(_("order version"), null=True, blank=True)
    order = models.ForeignKey("orders.Order", verbose_name=_("order"), on_delete=models.SET_NULL,
                              null=True, blank=True, related_name="webhook_events")

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "webhook_id"],
                                    name="unique_webhook_id_per_supplier"),
        ]
        indexes = [
            # Every index is written on each of an event's three writes: only the events staff
            # look for (not applied, or stale) are in this one.
            models.Index(fields=["outcome", "received_at"], name="webhookevent_to_review",
                         condition=~models.Q(outcome__in=["applied", "stale"])),
            # Only the events waiting to be processed: drains walk it oldest first, and an
            # event leaves it when done, so it stays small however many are stored.
            models.Index(fields=["next_attempt_at"], name="webhookevent_waiting",
                         condition=models.Q(outcome__in=["pending", "unknown_order", "failed"],
                                            next_attempt_at__isnull=False)),
        ]

    def __str__(self):
        return f"{self.event_type or '?'} {self.webhook_id}"


class ImeiList(models.Model):
    """A shipment staff recorded for a manual-route order, with the supplier's IMEI list.

    Kept as uploaded, row by row, whatever its checks found: a list that does not match the
    order is held for staff review before the client hears of the shipment.
    """

    class Status(models.TextChoices):
        HELD = "held", _("Held: does not match the order")
        APPLIED = "applied", _("Recorded on the order")
        DISCARDED = "discarded", _("Discarded")

    supplier_order = models.ForeignKey(SupplierOrder, verbose_name=_("supplier order"),
                                       on_delete=models.CASCADE, related_name="imei_lists")
    shipment_id = models.CharField(_("shipment id"), max_length=100)
    carrier = models.CharField(_("shipping carrier"), max_length=40)
    tracking_number = models.CharField(_("tracking number"), max_length=100)
    shipped_at = models.DateTimeField(_("shipped at"))
    filename = models.CharField(_("file"), max_length=255)
    # [{"row": 2, "sku": "...", "imei": "..."}], in the file's order.
    rows = models.JSONField(_("rows"), default=list)
    issues = models.JSONField(_("issues"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"),
                                    on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("IMEI list")
        verbose_name_plural = _("IMEI lists")
        constraints = [
            models.UniqueConstraint(fields=["supplier_order", "shipment_id"],
                                    name="unique_imei_list_shipment"),
        ]

    def __str__(self):
        return f"{self.shipment_id} ({self.filename})"


class ManualQueueOrder(SupplierOrder):
    """The staff work queue of the manual route, as its own admin page."""

    class Meta:
        proxy = True
        verbose_name = _("manual-route order")
        verbose_name_plural = _("manual-route work queue")
