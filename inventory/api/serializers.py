from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from inventory.models import Carrier, Grade, Warehouse
from inventory.selectors import (
    CATALOGUE_PAGE_SIZE, MAX_CATALOGUE_PAGE, MAX_CATALOGUE_PAGE_SIZE, CatalogueFilters,
    CatalogueSort,
)


class ProductFilterSerializer(serializers.Serializer):
    """The query parameters of the product list."""

    search = serializers.CharField(required=False, max_length=100,
                                   help_text=_("Words to find in the SKU, manufacturer, model "
                                               "or colour; every word must match."))
    manufacturer = serializers.CharField(required=False, max_length=80)
    model = serializers.CharField(required=False, max_length=120)
    storage_gb = serializers.IntegerField(required=False, min_value=1)
    colour = serializers.CharField(required=False, max_length=60)
    grade = serializers.SlugRelatedField(slug_field="code", queryset=Grade.objects.all(),
                                         required=False, help_text=_("Grade code, e.g. A."))
    carrier = serializers.SlugRelatedField(slug_field="code", queryset=Carrier.objects.all(),
                                           required=False,
                                           help_text=_("Carrier code, e.g. unlocked."))
    warehouse = serializers.SlugRelatedField(slug_field="code",
                                             queryset=Warehouse.objects.all(), required=False,
                                             help_text=_("Warehouse code."))
    in_stock = serializers.BooleanField(required=False, default=False,
                                        help_text=_("Only products with units available."))
    ordering = serializers.ChoiceField(choices=CatalogueSort.ALL, required=False,
                                       default=CatalogueSort.MODEL,
                                       help_text=_("model, price or -price."))
    page = serializers.IntegerField(required=False, min_value=1, max_value=MAX_CATALOGUE_PAGE,
                                    default=1)
    page_size = serializers.IntegerField(required=False, min_value=1,
                                         max_value=MAX_CATALOGUE_PAGE_SIZE,
                                         default=CATALOGUE_PAGE_SIZE)
    after = serializers.CharField(required=False, max_length=500,
                                  help_text=_("Set by the `next` link: the page starts where "
                                              "the previous one stopped, however deep."))

    def to_filters(self) -> CatalogueFilters:
        data = self.validated_data
        return CatalogueFilters(
            manufacturer=data.get("manufacturer", ""), model_name=data.get("model", ""),
            storage_gb=data.get("storage_gb"), colour=data.get("colour", ""),
            grade=data.get("grade"), carrier=data.get("carrier"),
            warehouse=data.get("warehouse"), in_stock_only=data["in_stock"],
            search=data.get("search", ""), sort=data["ordering"], page=data["page"],
            page_size=data["page_size"], after=data.get("after", ""))


class ProductSerializer(serializers.Serializer):
    """One catalogue row: a product with this client's price and the units it can order."""

    sku = serializers.CharField(source="product.sku")
    manufacturer = serializers.CharField(source="product.manufacturer")
    model = serializers.CharField(source="product.model_name")
    storage_gb = serializers.IntegerField(source="product.storage_gb")
    colour = serializers.CharField(source="product.colour")
    grade = serializers.CharField(source="product.grade.code")
    carrier = serializers.CharField(source="product.carrier.code")
    warehouse = serializers.CharField(source="product.warehouse.code")
    description = serializers.CharField(source="product.description")
    price = serializers.DecimalField(source="unit_price", max_digits=12, decimal_places=2)
    currency = serializers.CharField(source="product.currency")
    available_quantity = serializers.IntegerField()


class ProductPageSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.URLField(allow_null=True,
                                help_text=_("The next page, or null on the last one."))
    previous = serializers.URLField(allow_null=True)
    results = ProductSerializer(many=True)
