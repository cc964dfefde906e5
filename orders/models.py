import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from orders.states import OrderStatus

ORDER_NUMBER_PREFIX = "PE-"


def format_order_number(order_id: int) -> str:
    return f"{ORDER_NUMBER_PREFIX}{order_id:06d}"


class Order(models.Model):
    """A client's order, as we keep it: our statuses, prices and a snapshot of the ship-to."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    # Given from the primary key right after insert; null until then so inserts never clash.
    number = models.CharField(_("number"), max_length=20, unique=True, null=True, editable=False)
    company = models.ForeignKey("customers.ClientCompany", verbose_name=_("client"),
                                on_delete=models.PROTECT, related_name="orders")
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("placed by"),
                                  on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="orders_placed")
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices,
                              default=OrderStatus.PLACED)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    # Why the order is in its status, in plain words (a rejection, a hold...).
    status_reason = models.TextField(_("reason"), blank=True)
    # True while the order's units count against the supplier's quantity for other clients.
    stock_reserved = models.BooleanField(_("stock reserved"), default=False)
    ship_to = models.JSONField(_("ship to"), help_text=_("Snapshot of the address."))
    shipping_method = models.CharField(_("shipping method"), max_length=40, default="ground")
    po_reference = models.CharField(_("PO reference"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # The client's Idempotency-Key (API) or checkout form token: a repeated request answers
    # the order it already created.
    request_key = models.CharField(_("request key"), max_length=100, null=True, blank=True,
                                   editable=False)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    subtotal = models.DecimalField(_("subtotal"), max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=0)
    cost_total = models.DecimalField(_("supplier cost"), max_digits=14, decimal_places=2,
                                     default=0)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["company", "-created_at"], name="order_company_recent"),
            models.Index(fields=["company", "status", "-created_at"],
                         name="order_company_status"),
            models.Index(fields=["status", "status_changed_at"], name="order_status_age"),
            models.Index(fields=["-created_at"], name="order_recent"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["company", "request_key"],
                                    condition=Q(request_key__isnull=False),
                                    name="unique_request_key_per_company"),
        ]

    def __str__(self):
        return self.number or str(self.public_id)

    @property
    def margin(self):
        return self.total - self.cost_total

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None


class OrderLine(models.Model):
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE,
                              related_name="lines")
    product = models.ForeignKey("inventory.Product", verbose_name=_("product"),
                                on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="order_lines")
    sku = models.CharField(_("SKU"), max_length=80)
    supplier_sku = models.CharField(_("supplier SKU"), max_length=120)
    description = models.CharField(_("description"), max_length=300)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    unit_cost = models.DecimalField(_("unit cost"), max_digits=12, decimal_places=2)
    quantity_shipped = models.PositiveIntegerField(_("quantity shipped"), default=0)

    class Meta:
        ordering = ["id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.UniqueConstraint(fields=["order", "sku"], name="unique_sku_per_order"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"

    @property
    def line_total(self):
        return self.unit_price * self.quantity


class Shipment(models.Model):
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE,
                              related_name="shipments")
    supplier_shipment_id = models.CharField(_("supplier shipment id"), max_length=100)
    carrier = models.CharField(pgettext_lazy("shipping company", "carrier"), max_length=40)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    # Checks against the order (units per SKU, repeated IMEIs...) that staff must look at.
    issues = models.JSONField(_("issues"), default=list, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["shipped_at", "id"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        constraints = [
            models.UniqueConstraint(fields=["order", "supplier_shipment_id"],
                                    name="unique_shipment_per_order"),
        ]

    def __str__(self):
        return f"{self.carrier} {self.tracking_number}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, verbose_name=_("shipment"), on_delete=models.CASCADE,
                                 related_name="lines")
    order_line = models.ForeignKey(OrderLine, verbose_name=_("order line"),
                                   on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="shipment_lines")
    sku = models.CharField(_("SKU"), max_length=120)
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")

    def __str__(self):
        return f"{self.quantity} × {self.sku}"


class ShipmentImei(models.Model):
    """One phone shipped. An IMEI failing its check digit is kept and flagged, never dropped."""

    shipment_line = models.ForeignKey(ShipmentLine, verbose_name=_("shipment line"),
                                      on_delete=models.CASCADE, related_name="imeis")
    imei = models.CharField(_("IMEI"), max_length=20, db_index=True)
    is_valid = models.BooleanField(_("valid check digit"), default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("IMEI")
        verbose_name_plural = _("IMEIs")

    def __str__(self):
        return self.imei


class OrderEvent(models.Model):
    """The order's timeline: every status change and action, by whom, from where, and why."""

    class Kind(models.TextChoices):
        STATUS_CHANGE = "status_change", _("Status change")
        ACTION = "action", _("Action")
        SUPPLIER = "supplier", _("Supplier update")
        NOTE = "note", _("Note")

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE,
                              related_name="events")
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    from_status = models.CharField(_("from"), max_length=20, choices=OrderStatus.choices,
                                   blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=OrderStatus.choices,
                                 blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"),
                              on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    # Who acted when no user did: "system", "supplier:wesellcellular"...
    actor_label = models.CharField(_("by (system)"), max_length=80, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    message = models.TextField(_("why"), blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    webhook_event = models.ForeignKey("suppliers.WebhookEvent", verbose_name=_("caused by event"),
                                      on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="order_events")

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline")
        indexes = [models.Index(fields=["order", "created_at"], name="orderevent_order")]

    def __str__(self):
        if self.kind == self.Kind.STATUS_CHANGE:
            return f"{self.from_status or '∅'} → {self.to_status}"
        return self.message[:80]
