from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import ClientCompany
from inventory.models import Product


class PricePreviewForm(forms.Form):
    sku = forms.CharField(label=_("product SKU"), max_length=80)
    company = forms.ModelChoiceField(
        label=_("client company"), queryset=ClientCompany.objects.all(), required=False,
        help_text=_("Leave empty for clients with no pricing rules of their own."))

    def clean_sku(self) -> str:
        sku = self.cleaned_data["sku"].strip()
        self.product = (Product.objects.select_related("grade", "carrier", "warehouse")
                        .filter(sku=sku).first())
        if self.product is None:
            raise forms.ValidationError(_("No product has this SKU."))
        return sku


class PriceListForm(forms.Form):
    company = forms.ModelChoiceField(label=_("client company"),
                                     queryset=ClientCompany.objects.filter(is_active=True))
