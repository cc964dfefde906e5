from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class PricingTier(models.Model):
    """A commercial tier (bronze, silver...) that pricing rules and visibility hang on."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    rank = models.PositiveSmallIntegerField(_("rank"), default=0,
                                            help_text=_("Lower ranks are listed first."))
    # What the tier's clients see: none chosen means every grade (carrier).
    visible_grades = models.ManyToManyField(
        "inventory.Grade", verbose_name=_("visible grades"), blank=True, related_name="+",
        help_text=_("Leave empty to show every grade."))
    visible_carriers = models.ManyToManyField(
        "inventory.Carrier", verbose_name=_("visible carriers"), blank=True, related_name="+",
        help_text=_("Leave empty to show every carrier (lock status)."))
    show_out_of_stock = models.BooleanField(_("list out-of-stock products"), default=True)

    class Meta:
        ordering = ["rank", "name"]
        verbose_name = _("pricing tier")
        verbose_name_plural = _("pricing tiers")

    def __str__(self):
        return self.name


class PaymentTerms(models.TextChoices):
    PREPAID = "prepaid", _("Prepaid")
    NET_15 = "net15", _("Net 15")
    NET_30 = "net30", _("Net 30")
    NET_60 = "net60", _("Net 60")


class ClientCompany(models.Model):
    """A wholesale client: the unit every order, address, price and document belongs to."""

    name = models.CharField(_("name"), max_length=200)
    account_number = models.CharField(_("account number"), max_length=20, unique=True)
    pricing_tier = models.ForeignKey(PricingTier, verbose_name=_("pricing tier"),
                                     on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="companies")
    is_active = models.BooleanField(_("active"), default=True)
    # Visibility overrides: they beat the tier's choice where set.
    visible_grades = models.ManyToManyField(
        "inventory.Grade", verbose_name=_("visible grades"), blank=True, related_name="+",
        help_text=_("Overrides the tier: leave empty to use the tier's grades."))
    visible_carriers = models.ManyToManyField(
        "inventory.Carrier", verbose_name=_("visible carriers"), blank=True, related_name="+",
        help_text=_("Overrides the tier: leave empty to use the tier's carriers."))
    show_out_of_stock = models.BooleanField(
        _("list out-of-stock products"), null=True, blank=True,
        help_text=_("Overrides the tier when set."))
    payment_terms = models.CharField(_("payment terms"), max_length=10,
                                     choices=PaymentTerms.choices, default=PaymentTerms.PREPAID)
    credit_limit = models.DecimalField(
        _("credit limit"), max_digits=14, decimal_places=2, null=True, blank=True,
        help_text=_("Leave blank for no limit."))
    # A company on hold may still order, but every order waits for staff approval.
    on_hold = models.BooleanField(_("on hold"), default=False)
    hold_reason = models.CharField(_("hold reason"), max_length=200, blank=True)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account manager"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="managed_companies",
        limit_choices_to={"is_staff": True},
        help_text=_("A staff member who receives this client's order emails."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("client company")
        verbose_name_plural = _("client companies")
        indexes = [models.Index(Lower("name"), name="clientcompany_lower_name")]

    def __str__(self):
        return f"{self.name} ({self.account_number})"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in: a client user (with a company and a role) or a staff member."""

    class Role(models.TextChoices):
        ACCOUNT_ADMIN = "account_admin", _("Account admin")
        BUYER = "buyer", _("Buyer")
        VIEWER = "viewer", _("Viewer")

    username = None
    email = models.EmailField(_("email address"), unique=True)
    company = models.ForeignKey(ClientCompany, verbose_name=_("company"),
                                on_delete=models.PROTECT, null=True, blank=True,
                                related_name="users")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []
    objects = UserManager()

    class Meta:
        ordering = ["email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(company__isnull=True, role="")
                | models.Q(company__isnull=False) & ~models.Q(role=""),
                name="user_company_has_role",
            ),
        ]

    def __str__(self):
        return self.email

    @property
    def can_order(self) -> bool:
        return self.company_id is not None and self.role in {
            self.Role.ACCOUNT_ADMIN, self.Role.BUYER}


class ShippingAddress(models.Model):
    """An address in a client's address book; orders keep their own snapshot of it."""

    company = models.ForeignKey(ClientCompany, verbose_name=_("company"),
                                on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(_("label"), max_length=80)
    company_name = models.CharField(_("company name"), max_length=200)
    contact_name = models.CharField(_("contact name"), max_length=200)
    phone = models.CharField(_("phone"), max_length=40)
    line1 = models.CharField(_("address line 1"), max_length=200)
    line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100)
    region = models.CharField(_("region"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20)
    country = models.CharField(_("country"), max_length=2,
                               help_text=_("ISO 3166-1 alpha-2 code, e.g. US."))
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["company", "-is_default", "label"]
        verbose_name = _("shipping address")
        verbose_name_plural = _("shipping addresses")
        constraints = [
            models.UniqueConstraint(fields=["company"], condition=models.Q(is_default=True),
                                    name="one_default_address_per_company"),
        ]

    def __str__(self):
        return f"{self.label}: {self.line1}, {self.city}"

    def as_ship_to(self) -> dict:
        """The snapshot an order keeps, in the field names of the supplier contract."""
        return {
            "company": self.company_name, "name": self.contact_name, "phone": self.phone,
            "line1": self.line1, "line2": self.line2, "city": self.city,
            "region": self.region, "postal_code": self.postal_code, "country": self.country,
        }
