from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Func, Q
from django.utils import timezone
from django.utils.translation import gettext
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
    # Service terms shown to clients at checkout and on their orders.
    is_cancellable = models.BooleanField(
        _("orders cancellable"), default=True,
        help_text=_("Orders from this warehouse can be cancelled before they ship."))
    is_returnable = models.BooleanField(_("returns accepted"), default=True)
    return_days = models.PositiveSmallIntegerField(
        _("return window (days)"), null=True, blank=True,
        help_text=_("Days after delivery within which returns are accepted."))
    lead_time_min_days = models.PositiveSmallIntegerField(
        _("lead time from (business days)"), null=True, blank=True)
    lead_time_max_days = models.PositiveSmallIntegerField(
        _("lead time to (business days)"), null=True, blank=True)
    warranty_days = models.PositiveSmallIntegerField(
        _("warranty (days)"), default=0, help_text=_("0: no warranty offered."))
    policy_notes = models.TextField(_("policy notes for clients"), blank=True)

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
    # The SupplierOffer field that holds this vocabulary's supplier code.
    offer_code_field = "grade_code"
    target = models.ForeignKey(Grade, verbose_name=_("our grade"), on_delete=models.PROTECT,
                               null=True, blank=True)

    class Meta(SupplierCodeMapping.Meta):
        verbose_name = _("grade mapping")
        verbose_name_plural = _("grade mappings")
        constraints = [models.UniqueConstraint(fields=["supplier", "supplier_code"],
                                               name="unique_grade_mapping")]


class CarrierMapping(SupplierCodeMapping):
    offer_code_field = "carrier_code"
    target = models.ForeignKey(Carrier, verbose_name=_("our carrier"), on_delete=models.PROTECT,
                               null=True, blank=True)

    class Meta(SupplierCodeMapping.Meta):
        verbose_name = _("carrier mapping")
        verbose_name_plural = _("carrier mappings")
        constraints = [models.UniqueConstraint(fields=["supplier", "supplier_code"],
                                               name="unique_carrier_mapping")]


class WarehouseMapping(SupplierCodeMapping):
    offer_code_field = "warehouse_code"
    target = models.ForeignKey(Warehouse, verbose_name=_("our warehouse"),
                               on_delete=models.PROTECT, null=True, blank=True)

    class Meta(SupplierCodeMapping.Meta):
        verbose_name = _("warehouse mapping")
        verbose_name_plural = _("warehouse mappings")
        constraints = [models.UniqueConstraint(fields=["supplier", "supplier_code"],
                                               name="unique_warehouse_mapping")]


class SearchText(Func):
    """Text fields in one upper-cased string, a space between them."""

    template = "UPPER(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = models.TextField()


# What the catalogue's text search reads: the SKU, manufacturer, model and colour as one
# string, so that a word is one LIKE, served on PostgreSQL by one trigram index (migration
# 0008, whose expression must stay the same). Search words hold no spaces, so none can match
# across two fields.
PRODUCT_SEARCH_TEXT = SearchText("sku", "manufacturer", "model_name", "colour")


class Product(models.Model):
    """A phone as we sell it, keyed by our SKU."""

    sku = models.CharField(_("SKU"), max_length=80)
    manufacturer = models.CharField(_("manufacturer"), max_length=80)
    model_name = models.CharField(_("model"), max_length=120)
    storage_gb = models.PositiveIntegerField(_("storage (GB)"))
    colour = models.CharField(_("colour"), max_length=60)
    # Unindexed: a handful of values each, and every index slows the sync's bulk inserts.
    grade = models.ForeignKey(Grade, verbose_name=_("grade"), on_delete=models.PROTECT,
                              db_index=False)
    carrier = models.ForeignKey(Carrier, verbose_name=_("carrier"), on_delete=models.PROTECT,
                                db_index=False)
    warehouse = models.ForeignKey(Warehouse, verbose_name=_("warehouse"),
                                  on_delete=models.PROTECT, db_index=False)
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
            # The catalogue's order, and its filters by manufacturer and model (admin's
            # order too). It carries every other column the catalogue filters on, and the id,
            # so a page, however deep, is counted off in the index without reading the table.
            models.Index(fields=["manufacturer", "model_name", "storage_gb", "colour", "sku"],
                         include=["is_active", "sell_price", "grade", "carrier", "warehouse",
                                  "id"],
                         name="product_catalogue"),
            # Sorting by price: the whole order, price then id.
            models.Index(fields=["sell_price", "id"], name="product_price"),
        ]
        constraints = [
            # A constraint, not unique=True: on PostgreSQL that would add a second index on
            # the SKU (for LIKE 'prefix%', which nothing asks) to every product written.
            models.UniqueConstraint(fields=["sku"], name="product_sku_unique"),
        ]

    def __str__(self):
        return f"{self.manufacturer} {self.model_name} {self.storage_gb}GB {self.colour} ({self.sku})"

    @property
    def description(self) -> str:
        return (f"{self.manufacturer} {self.model_name} {self.storage_gb}GB {self.colour}, "
                f"{self.grade.name}, {self.carrier.name}")


class SupplierOffer(models.Model):
    """What a supplier offers for one of its SKUs, as its feed last said, with its raw codes."""

    # Indexed by the (supplier, supplier SKU) constraint, which it leads.
    supplier = models.ForeignKey("suppliers.Supplier", verbose_name=_("supplier"),
                                 on_delete=models.CASCADE, related_name="offers",
                                 db_index=False)
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
    # A hash of the feed's values as last written: a full sync skips an item whose hash is
    # unchanged. Null: compare every value.
    feed_digest = models.BigIntegerField(_("feed digest"), null=True, blank=True,
                                         editable=False)
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


class PricingRule(models.Model):
    """How our sell price follows from the supplier's cost for the products (and clients) in scope.

    The most specific active rule wins: a client's rules over its tier's, over a model's, over
    manufacturer / grade / warehouse rules, over rules for everything (see `level`). Within one
    level, a rule with more product conditions wins, then the higher priority, then the older.
    """

    class Level(models.IntegerChoices):
        # Lower wins.
        CLIENT = 1, _("client company")
        TIER = 2, _("client tier")
        MODEL = 3, _("model")
        ATTRIBUTES = 4, _("manufacturer, grade or warehouse")
        GLOBAL = 5, _("everything")

    class Rounding(models.TextChoices):
        CENT = "cent", _("to the cent")
        NEXT_99 = "next_99", _("up to the next .99")
        NEXT_WHOLE = "next_whole", _("up to the next whole unit")

    name = models.CharField(_("name"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)
    priority = models.IntegerField(
        _("priority"), default=0,
        help_text=_("Between rules of the same scope and as many conditions, the higher wins."))
    company = models.ForeignKey("customers.ClientCompany", verbose_name=_("client company"),
                                on_delete=models.CASCADE, null=True, blank=True,
                                related_name="pricing_rules")
    tier = models.ForeignKey("customers.PricingTier", verbose_name=_("client tier"),
                             on_delete=models.CASCADE, null=True, blank=True,
                             related_name="pricing_rules")
    manufacturer = models.CharField(_("manufacturer"), max_length=80, blank=True)
    model_name = models.CharField(_("model"), max_length=120, blank=True)
    grade = models.ForeignKey(Grade, verbose_name=_("grade"), on_delete=models.PROTECT,
                              null=True, blank=True)
    warehouse = models.ForeignKey(Warehouse, verbose_name=_("warehouse"),
                                  on_delete=models.PROTECT, null=True, blank=True)
    markup_percent = models.DecimalField(_("markup (%)"), max_digits=7, decimal_places=2,
                                         null=True, blank=True)
    markup_amount = models.DecimalField(_("markup amount"), max_digits=12, decimal_places=2,
                                        null=True, blank=True,
                                        help_text=_("Added after the percentage."))
    fixed_price = models.DecimalField(_("fixed price"), max_digits=12, decimal_places=2,
                                      null=True, blank=True,
                                      help_text=_("Replaces the cost-based formula."))
    floor_price = models.DecimalField(_("floor"), max_digits=12, decimal_places=2,
                                      null=True, blank=True)
    cap_price = models.DecimalField(_("cap"), max_digits=12, decimal_places=2,
                                    null=True, blank=True)
    rounding = models.CharField(_("rounding"), max_length=12, choices=Rounding.choices,
                                default=Rounding.CENT)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-is_active", "name"]
        verbose_name = _("pricing rule")
        verbose_name_plural = _("pricing rules")
        constraints = [
            models.CheckConstraint(condition=Q(company__isnull=True) | Q(tier__isnull=True),
                                   name="pricingrule_client_or_tier"),
            models.CheckConstraint(
                condition=Q(fixed_price__isnull=True)
                | Q(markup_percent__isnull=True, markup_amount__isnull=True),
                name="pricingrule_fixed_or_markup"),
        ]

    def __str__(self):
        return self.name

    @property
    def level(self) -> "PricingRule.Level":
        if self.company_id:
            return self.Level.CLIENT
        if self.tier_id:
            return self.Level.TIER
        if self.model_name:
            return self.Level.MODEL
        if self.manufacturer or self.grade_id or self.warehouse_id:
            return self.Level.ATTRIBUTES
        return self.Level.GLOBAL

    @property
    def level_label(self) -> str:
        return self.Level(self.level).label

    @property
    def condition_count(self) -> int:
        return sum(1 for condition in (self.manufacturer, self.model_name, self.grade_id,
                                       self.warehouse_id) if condition)

    def clean(self):
        errors = {}
        if self.company_id and self.tier_id:
            errors["tier"] = _("A rule is for one client company or one tier, not both.")
        if self.fixed_price is not None:
            if self.markup_percent is not None or self.markup_amount is not None:
                errors["fixed_price"] = _("A fixed price takes no markup.")
            if self.fixed_price <= 0:
                errors["fixed_price"] = _("A fixed price must be above zero.")
        elif all(value is None for value in (self.markup_percent, self.markup_amount,
                                             self.floor_price, self.cap_price)):
            errors["markup_percent"] = _("Give a markup, a floor, a cap or a fixed price.")
        if self.markup_percent is not None and self.markup_percent <= -100:
            errors["markup_percent"] = _("A markup must be above -100 %.")
        for name in ("floor_price", "cap_price"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                errors[name] = _("This must be above zero.")
        if (self.floor_price is not None and self.cap_price is not None
                and self.floor_price > self.cap_price):
            errors["cap_price"] = _("The cap must not be below the floor.")
        if errors:
            raise ValidationError(errors)


class SyncRun(models.Model):
    """One reading of a supplier's feed (full, delta) or one inventory webhook, and what it did."""

    class Kind(models.TextChoices):
        FULL = "full", _("Full")
        DELTA = "delta", _("Changes since the last sync")
        WEBHOOK = "webhook", _("Webhook")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Removals(models.TextChoices):
        NONE = "", _("None held")
        HELD = "held", _("Held for staff")
        CONFIRMED = "confirmed", _("Confirmed by staff")
        DISCARDED = "discarded", _("Discarded by staff")
        SUPERSEDED = "superseded", _("Superseded by a later full sync")

    supplier = models.ForeignKey("suppliers.Supplier", verbose_name=_("supplier"),
                                 on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.RUNNING)
    updated_since = models.DateTimeField(_("changes since"), null=True, blank=True)
    webhook_id = models.CharField(_("webhook id"), max_length=255, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Written at every applied batch: a running sync whose heartbeat stops has died.
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    expected_items = models.PositiveIntegerField(
        _("expected items"), null=True, blank=True,
        help_text=_("Items the supplier offered at the start, to estimate progress."))
    pages = models.PositiveIntegerField(_("pages"), default=0)
    items_seen = models.PositiveIntegerField(_("items seen"), default=0)
    items_created = models.PositiveIntegerField(_("items created"), default=0)
    items_updated = models.PositiveIntegerField(_("items updated"), default=0)
    items_out_of_stock = models.PositiveIntegerField(_("gone out of stock"), default=0)
    items_rejected = models.PositiveIntegerField(_("items rejected"), default=0)
    items_unmapped = models.PositiveIntegerField(
        _("items held back"), default=0,
        help_text=_("Stored but not offered: a grade, carrier or warehouse code is not mapped."))
    products_created = models.PositiveIntegerField(_("products created"), default=0)
    prices_changed = models.PositiveIntegerField(_("prices changed"), default=0)
    cost_changes_flagged = models.PositiveIntegerField(_("cost changes flagged"), default=0)
    # [{"sku": ..., "reason": ..., "page": ...}], the first INVENTORY_MAX_RECORDED_REJECTIONS.
    rejections = models.JSONField(_("rejected items"), default=list, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    removals_status = models.CharField(_("removals"), max_length=12, choices=Removals.choices,
                                       default=Removals.NONE, blank=True)
    held_removals = models.PositiveIntegerField(_("removals held"), default=0)
    held_offer_ids = models.JSONField(_("offers held in stock"), default=list, blank=True)
    removals_decided_at = models.DateTimeField(_("removals decided at"), null=True, blank=True)
    removals_decided_by = models.ForeignKey(settings.AUTH_USER_MODEL,
                                            verbose_name=_("removals decided by"),
                                            on_delete=models.SET_NULL, null=True, blank=True,
                                            related_name="+")

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        indexes = [
            # The delta sync's baseline: the last successful sync of a supplier.
            models.Index(fields=["supplier", "status", "kind", "-started_at"],
                         name="syncrun_last_success"),
            models.Index(fields=["removals_status"], name="syncrun_removals"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def duration(self) -> timedelta | None:
        end = self.finished_at or (timezone.now() if self.status == self.Status.RUNNING else None)
        return end - self.started_at if end else None

    def error_summary(self) -> str:
        """The run's errors and rejected items, one a line ("" when there were none)."""
        lines = [*self.errors, *(f"{rejection['sku'] or '?'}: {rejection['reason']}"
                                 for rejection in self.rejections)]
        unlisted = self.items_rejected - len(self.rejections)
        if unlisted > 0:
            lines.append(gettext("and %(count)d more rejected items") % {"count": unlisted})
        return "\n".join(lines)


class SyncLock(models.Model):
    """One row per supplier: the sync run that holds it, if any; every feed writer locks it."""

    supplier = models.OneToOneField("suppliers.Supplier", verbose_name=_("supplier"),
                                    on_delete=models.CASCADE, primary_key=True,
                                    related_name="+")
    run = models.ForeignKey(SyncRun, verbose_name=_("sync run"), on_delete=models.SET_NULL,
                            null=True, blank=True, related_name="+")
    acquired_at = models.DateTimeField(_("acquired at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    # services.derivation_version() when every product was last derived again from its offer.
    derivation_version = models.BigIntegerField(_("derivation version"), null=True,
                                                blank=True)

    class Meta:
        verbose_name = _("sync lock")
        verbose_name_plural = _("sync locks")

    def __str__(self):
        return str(self.supplier_id)


class PriceChange(models.Model):
    """One change of a product's cost or sell price: the price history, and cost alerts.

    A product's first price is its sell price until its first change, whose previous price
    says what it was; so no row is written when a product is created.
    """

    class Reason(models.TextChoices):
        FEED = "feed", _("Supplier feed")
        RULES = "rules", _("Pricing rules")
        MAPPING = "mapping", _("Code mapping")

    # Indexed with recorded_at below.
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE,
                                related_name="price_changes", db_index=False)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    cost_price = models.DecimalField(_("cost price"), max_digits=12, decimal_places=2)
    previous_cost_price = models.DecimalField(_("previous cost price"), max_digits=12,
                                              decimal_places=2, null=True, blank=True)
    sell_price = models.DecimalField(_("sell price"), max_digits=12, decimal_places=2,
                                     null=True, blank=True)
    previous_sell_price = models.DecimalField(_("previous sell price"), max_digits=12,
                                              decimal_places=2, null=True, blank=True)
    cost_change_percent = models.DecimalField(_("cost change (%)"), max_digits=9,
                                              decimal_places=2, null=True, blank=True)
    # A cost move beyond INVENTORY_COST_CHANGE_ALERT_PERCENT, for staff to look at.
    needs_review = models.BooleanField(_("needs review"), default=False)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"),
                                    on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    sync_run = models.ForeignKey(SyncRun, verbose_name=_("sync run"), on_delete=models.SET_NULL,
                                 null=True, blank=True, related_name="price_changes")

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("price change")
        verbose_name_plural = _("price changes")
        indexes = [
            models.Index(fields=["product", "-recorded_at"], name="pricechange_product"),
            models.Index(fields=["needs_review", "reviewed_at"], name="pricechange_review"),
        ]

    def __str__(self):
        return f"{self.product_id}: {self.previous_sell_price} → {self.sell_price}"


class StockListImport(models.Model):
    """A supplier stock-list file (XLSX or CSV) read into the inventory through a sync run."""

    class Kind(models.TextChoices):
        FULL = "full", _("Full stock list")
        DELTA = "delta", _("New stock and price drops only")

    class Status(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        REFUSED = "refused", _("Refused: not readable")
        FAILED = "failed", _("Failed")

    supplier = models.ForeignKey("suppliers.Supplier", verbose_name=_("supplier"),
                                 on_delete=models.PROTECT, related_name="stock_list_imports")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    filename = models.CharField(_("file"), max_length=255)
    source = models.CharField(_("source"), max_length=20,
                              help_text=_("Uploaded in admin, or picked up from the folder."))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    error = models.TextField(_("error"), blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    # Rows the import could not use, with their values as read and why: the bad-row report.
    bad_rows = models.JSONField(_("bad rows"), default=list, blank=True)
    bad_row_count = models.PositiveIntegerField(_("bad rows"), default=0)
    sync_run = models.OneToOneField(SyncRun, verbose_name=_("sync run"), on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="stock_list_import")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"),
                                    on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("stock-list import")
        verbose_name_plural = _("stock-list imports")

    def __str__(self):
        return self.filename
