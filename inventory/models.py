from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Grade(models.Model):
    """Our cosmetic grade scale, best first (rank 1 is the best)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=80)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True,
                                            help_text=_("1 is the best grade."))
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["rank"]
        verbose_name = _("grade")
        verbose_name_plural = _("grades")

    def __str__(self):
        return self.name


class Carrier(models.Model):
    """The network a phone is locked to, or unlocked."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    is_unlocked = models.BooleanField(_("unlocked"), default=False)

    class Meta:
        ordering = ["-is_unlocked", "name"]
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")

    def __str__(self):
        return self.name


class Warehouse(models.Model):
    """Where stock ships from; each warehouse has its own service terms."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")

    def __str__(self):
        return self.name


class SupplierCodeMapping(models.Model):
    """A supplier's code for one of our vocabularies. No target yet: held back, shown to staff."""

    supplier = models.ForeignKey("suppliers.Supplier", verbose_name=_("supplier"),
                                 on_delete=models.CASCADE)
    supplier_code = models.CharField(_("supplier code"), max_length=80)
    created_at = models.DateTimeField(_("first seen at"), auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["supplier", "supplier_code"]

    def __str__(self):
        return f"{self.supplier_code} → {self.target or '?'}"


class GradeMapping(SupplierCodeMapping):
    target = models.ForeignKey(Grade, verbose_name=_("our grade"), on_delete=models.PROTECT,
                               null=True, blank=True)

    class Meta(SupplierCodeMapping.Meta):
        verbose_name = _("grade mapping")
        verbose_name_plural = _("grade mappings")
        constraints = [models.UniqueConstraint(fields=["supplier", "supplier_code"],
                                               name="unique_grade_mapping")]


class CarrierMapping(SupplierCodeMapping):
    target = models.ForeignKey(Carrier, verbose_name=_("our carrier"), on_delete=models.PROTECT,
                               null=True, blank=True)

    class Meta(SupplierCodeMapping.Meta):
        verbose_name = _("carrier mapping")
        verbose_name_plural = _("carrier mappings")
        constraints = [models.UniqueConstraint(fields=["supplier", "supplier_code"],
                                               name="unique_carrier_mapping")]


class WarehouseMapping(SupplierCodeMapping):
    target = models.ForeignKey(Warehouse, verbose_name=_("our warehouse"),
                               on_delete=models.PROTECT, null=True, blank=True)

    class Meta(SupplierCodeMapping.Meta):
        verbose_name = _("warehouse mapping")
        verbose_name_plural = _("warehouse mappings")
        constraints = [models.UniqueConstraint(fields=["supplier", "supplier_code"],
                                               name="unique_warehouse_mapping")]


class Product(models.Model):
    """A phone as we sell it, keyed by our SKU."""

    sku = models.CharField(_("SKU"), max_length=80, unique=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=80)
    model_name = models.CharField(_("model"), max_length=120)
    storage_gb = models.PositiveIntegerField(_("storage (GB)"))
    colour = models.CharField(_("colour"), max_length=60)
    grade = models.ForeignKey(Grade, verbose_name=_("grade"), on_delete=models.PROTECT)
    carrier = models.ForeignKey(Carrier, verbose_name=_("carrier"), on_delete=models.PROTECT)
    warehouse = models.ForeignKey(Warehouse, verbose_name=_("warehouse"),
                                  on_delete=models.PROTECT)
    sell_price = models.DecimalField(_("sell price"), max_digits=12, decimal_places=2,
                                     null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    is_active = models.BooleanField(_("on sale"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["manufacturer", "model_name", "storage_gb", "grade__rank"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [
            models.Index(fields=["manufacturer", "model_name", "storage_gb"],
                         name="product_model"),
            models.Index(fields=["sell_price"], name="product_price"),
        ]

    def __str__(self):
        return f"{self.manufacturer} {self.model_name} {self.storage_gb}GB {self.colour} ({self.sku})"

    @property
    def description(self) -> str:
        return (f"{self.manufacturer} {self.model_name} {self.storage_gb}GB {self.colour}, "
                f"{self.grade.name}, {self.carrier.name}")


class SupplierOffer(models.Model):
    """What a supplier offers for one of its SKUs, as its feed last said, with its raw codes."""

    supplier = models.ForeignKey("suppliers.Supplier", verbose_name=_("supplier"),
                                 on_delete=models.CASCADE, related_name="offers")
    supplier_sku = models.CharField(_("supplier SKU"), max_length=120)
    # Empty while a grade, carrier or warehouse code has no mapping: stored, not sold.
    product = models.OneToOneField(Product, verbose_name=_("product"), on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="offer")
    manufacturer = models.CharField(_("manufacturer"), max_length=80)
    model_name = models.CharField(_("model"), max_length=120)
    storage_gb = models.PositiveIntegerField(_("storage (GB)"))
    colour = models.CharField(_("colour"), max_length=60)
    grade_code = models.CharField(_("supplier grade"), max_length=80)
    carrier_code = models.CharField(_("supplier carrier"), max_length=80)
    warehouse_code = models.CharField(_("supplier warehouse"), max_length=80)
    quantity = models.PositiveIntegerField(_("supplier quantity"), default=0)
    # Units in our orders that the supplier has not confirmed yet.
    reserved_quantity = models.PositiveIntegerField(_("reserved"), default=0)
    cost_price = models.DecimalField(_("cost price"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    supplier_updated_at = models.DateTimeField(_("updated at the supplier"), null=True,
                                               blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["supplier", "supplier_sku"]
        verbose_name = _("supplier offer")
        verbose_name_plural = _("supplier offers")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "supplier_sku"],
                                    name="unique_supplier_sku"),
            models.CheckConstraint(condition=Q(cost_price__gte=0), name="offer_cost_not_negative"),
        ]
        indexes = [
            models.Index(fields=["supplier", "grade_code", "carrier_code", "warehouse_code"],
                         name="offer_codes"),
        ]

    def __str__(self):
        return f"{self.supplier_sku} × {self.quantity}"

    @property
    def available_quantity(self) -> int:
        return max(self.quantity - self.reserved_quantity, 0)
