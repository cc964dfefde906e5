from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import ClientCompany
from inventory.models import Carrier, Grade, Product, Warehouse
from inventory.selectors import (
    MAX_CATALOGUE_PAGE, CatalogueFacets, CatalogueFilters, CatalogueSort,
)


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


class CatalogueFilterForm(forms.Form):
    """The catalogue's filters, read from the query string; choices come from the facets.

    Grades, carriers and warehouses too are the facets' (cached) rows: the form reads nothing
    from the database.
    """

    q = forms.CharField(label=_("Search"), max_length=100, required=False,
                        help_text=_("SKU, model, colour..."))
    manufacturer = forms.ChoiceField(label=_("Manufacturer"), required=False)
    model = forms.ChoiceField(label=_("Model"), required=False)
    storage = forms.TypedChoiceField(label=_("Storage"), required=False, coerce=int,
                                     empty_value=None)
    colour = forms.ChoiceField(label=_("Colour"), required=False)
    grade = forms.ChoiceField(label=_("Grade"), required=False)
    carrier = forms.ChoiceField(label=_("Carrier"), required=False)
    warehouse = forms.ChoiceField(label=_("Warehouse"), required=False)
    in_stock = forms.BooleanField(label=_("In stock only"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=[
        (CatalogueSort.MODEL, _("Model")),
        (CatalogueSort.PRICE, _("Price, lowest first")),
        (CatalogueSort.PRICE_DESCENDING, _("Price, highest first")),
    ])
    page = forms.IntegerField(min_value=1, max_value=MAX_CATALOGUE_PAGE, required=False,
                              widget=forms.HiddenInput)
    # Where the page starts: a previous page's next_cursor (the page links carry it).
    after = forms.CharField(max_length=500, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, facets: CatalogueFacets, **kwargs):
        super().__init__(*args, **kwargs)
        any_value = [("", _("Any"))]
        self.fields["manufacturer"].choices = any_value + [(name, name)
                                                           for name in facets.manufacturers]
        self.fields["model"].choices = any_value + [(name, name) for name in facets.model_names]
        self.fields["storage"].choices = any_value + [(str(size), f"{size} GB")
                                                      for size in facets.storages_gb]
        self.fields["colour"].choices = any_value + [(name, name) for name in facets.colours]
        # By code, as in the query string: {field name: {code: row}}.
        self._rows: dict[str, dict[str, Grade | Carrier | Warehouse]] = {
            "grade": {grade.code: grade for grade in facets.grades},
            "carrier": {carrier.code: carrier for carrier in facets.carriers},
            "warehouse": {warehouse.code: warehouse for warehouse in facets.warehouses},
        }
        for name, rows in self._rows.items():
            self.fields[name].choices = any_value + [(code, str(row))
                                                     for code, row in rows.items()]

    def filters(self) -> CatalogueFilters:
        """The filters from the fields that validated; a bad value filters nothing."""
        self.is_valid()
        data = self.cleaned_data
        chosen = {name: rows.get(data.get(name) or "") for name, rows in self._rows.items()}
        return CatalogueFilters(
            manufacturer=data.get("manufacturer") or "", model_name=data.get("model") or "",
            storage_gb=data.get("storage"), colour=data.get("colour") or "",
            grade=chosen["grade"], carrier=chosen["carrier"], warehouse=chosen["warehouse"],
            in_stock_only=bool(data.get("in_stock")), search=data.get("q") or "",
            sort=data.get("sort") or CatalogueSort.MODEL, page=data.get("page") or 1,
            after=data.get("after") or "")
