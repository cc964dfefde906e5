from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from customers.models import ClientCompany, ShippingAddress
from orders.cart import MAX_LINE_QUANTITY
from orders.services import SHIP_TO_FIELDS


# What the supplier's contract takes as free text; these are the services we offer.
SHIPPING_METHODS = [("ground", _("Ground")), ("two_day", _("Two-day")),
                    ("overnight", _("Overnight"))]


class CartQuantityForm(forms.Form):
    sku = forms.CharField(max_length=80)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, max_value=MAX_LINE_QUANTITY)


class CheckoutForm(forms.Form):
    """Where and how to ship the cart. The hidden token makes a repeated submit harmless."""

    request_key = forms.CharField(widget=forms.HiddenInput, max_length=64, validators=[
        RegexValidator(r"^[0-9a-f]{32}$", _("This form has expired: reload the page."))])
    address = forms.ModelChoiceField(
        label=_("Ship to"), queryset=ShippingAddress.objects.none(), required=False,
        empty_label=_("A new address (type it below)"))
    ship_company = forms.CharField(label=_("Company"), max_length=200, required=False)
    ship_name = forms.CharField(label=_("Contact name"), max_length=200, required=False)
    ship_phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    ship_line1 = forms.CharField(label=_("Address line 1"), max_length=200, required=False)
    ship_line2 = forms.CharField(label=_("Address line 2"), max_length=200, required=False)
    ship_city = forms.CharField(label=_("City"), max_length=100, required=False)
    ship_region = forms.CharField(label=_("Region or state"), max_length=100, required=False)
    ship_postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    ship_country = forms.CharField(label=_("Country"), max_length=2, required=False,
                                   help_text=_("Two-letter code, e.g. US."))
    shipping_method = forms.ChoiceField(label=_("Shipping method"), choices=SHIPPING_METHODS)
    po_reference = forms.CharField(label=_("Your PO reference"), max_length=100, required=False)
    notes = forms.CharField(label=_("Notes for this order"), max_length=2000, required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, company: ClientCompany, **kwargs):
        super().__init__(*args, **kwargs)
        addresses = ShippingAddress.objects.filter(company=company)
        self.fields["address"].queryset = addresses
        if not self.is_bound:
            self.fields["address"].initial = addresses.filter(is_default=True).first()

    def clean(self):
        cleaned = super().clean()
        typed = [name for name in SHIP_TO_FIELDS if cleaned.get(f"ship_{name}")]
        if cleaned.get("address") is not None and typed:
            # Never ship to the saved address when the buyer typed another one.
            raise forms.ValidationError(_(
                "You chose a saved address and typed a new one: choose \"A new address\" to "
                "ship to the one you typed, or clear it."))
        return cleaned

    def ship_to(self) -> dict[str, str]:
        """The chosen address book entry, or the address typed in (the order service checks
        that it is complete)."""
        address = self.cleaned_data.get("address")
        if address is not None:
            return address.as_ship_to()
        return {name: self.cleaned_data.get(f"ship_{name}", "") for name in SHIP_TO_FIELDS}

    def add_address_errors(self, details: list[dict]) -> None:
        """Put the order service's address errors beside the fields they are about."""
        for detail in details:
            field = f"ship_{detail.get('field')}"
            if self.cleaned_data.get("address") is None and field in self.fields:
                self.add_error(field, detail["error"])
            else:
                self.add_error("address", detail["error"])
