"""The order API's shapes: what a client sends (input) and what it reads (output), apart."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications.emails import tracking_url
from orders.states import OrderStatus

MAX_LINES = 200
MAX_QUANTITY = 10_000


# --- Input ---------------------------------------------------------------------------------
class LineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=80)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class ShipToInputSerializer(serializers.Serializer):
    """The ship-to address, in the fields of the supplier contract."""

    company = serializers.CharField(max_length=200)
    name = serializers.CharField(max_length=200)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                   default="")
    postal_code = serializers.CharField(max_length=20)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", max_length=2, help_text=_(
        "ISO 3166-1 alpha-2 code, e.g. US."), error_messages={
        "invalid": _("Use a two-letter country code, e.g. US.")})


class OrderCreateInputSerializer(serializers.Serializer):
    lines = LineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)
    ship_to = ShipToInputSerializer()
    po_reference = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                         default="")
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                  default="")


class CancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                   default="")


class OrderListFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
    cursor = serializers.CharField(max_length=200, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, required=False, default=25)


# --- Output --------------------------------------------------------------------------------
class LineOutputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    quantity_shipped = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)


class ShipmentLineOutputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    imeis = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_imeis(self, shipment_line) -> list[str]:
        return [imei.imei for imei in shipment_line.imeis.all()]


class ShipmentOutputSerializer(serializers.Serializer):
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    tracking_url = serializers.SerializerMethodField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    lines = ShipmentLineOutputSerializer(many=True)

    def get_tracking_url(self, shipment) -> str:
        return tracking_url(carrier=shipment.carrier, tracking_number=shipment.tracking_number)


class ShipToOutputSerializer(serializers.Serializer):
    company = serializers.CharField()
    name = serializers.CharField()
    phone = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    region = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()


class OrderSummaryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    status_reason = serializers.CharField()
    po_reference = serializers.CharField()
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OrderOutputSerializer(OrderSummaryOutputSerializer):
    notes = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2)
    ship_to = ShipToOutputSerializer()
    lines = LineOutputSerializer(many=True)
    shipments = ShipmentOutputSerializer(many=True)


class OrderPageOutputSerializer(serializers.Serializer):
    results = OrderSummaryOutputSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text=_(
        "Pass as `cursor` for the next page; null on the last page."))
