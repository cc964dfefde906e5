"""The client order API: each view validates input, calls one service or selector, answers."""

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import selectors, services
from orders.api.serializers import (
    CancelInputSerializer, OrderCreateInputSerializer, OrderListFilterSerializer,
    OrderOutputSerializer, OrderPageOutputSerializer,
)
from orders.models import Order
from phoneexport.api import ErrorSerializer, ScopedPerTokenRateThrottle

IDEMPOTENCY_KEY_MAX_LENGTH = 100
TAGS = ["orders"]


def _errors(*codes: int) -> dict:
    return {code: OpenApiResponse(ErrorSerializer) for code in codes}


class IsClientUser(permissions.BasePermission):
    """A user of a client company; staff accounts have no orders of their own."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated
                    and request.user.company_id is not None)


class CanOrderOrReadOnly(permissions.BasePermission):
    """Viewers read; account admins and buyers also place and cancel."""

    message = gettext_lazy("Your account cannot place or cancel orders.")

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or request.user.can_order


class OrderAPIView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsClientUser, CanOrderOrReadOnly]
    parser_classes = [JSONParser]

    def get_order(self, public_id) -> Order:
        try:
            return selectors.order_detail(company=self.request.user.company, public_id=public_id)
        except Order.DoesNotExist:
            raise Http404 from None

    def client_ip(self) -> str | None:
        return self.request.META.get("REMOTE_ADDR")


class OrderListCreateView(OrderAPIView):
    throttle_scope = "orders_create"

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(ScopedPerTokenRateThrottle())
        return throttles

    @extend_schema(
        operation_id="orders_list", tags=TAGS,
        summary="List your orders, newest first",
        parameters=[OrderListFilterSerializer],
        responses={200: OrderPageOutputSerializer, **_errors(400, 401, 403, 429)})
    def get(self, request):
        filters = OrderListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        try:
            page = selectors.orders_for_client(
                company=request.user.company, status=filters.validated_data.get("status"),
                cursor=filters.validated_data.get("cursor"),
                limit=filters.validated_data["limit"])
        except selectors.InvalidCursor:
            raise ValidationError({"cursor": [_("Not a cursor from a previous page.")]}) from None
        return Response(OrderPageOutputSerializer(
            {"results": page.orders, "next_cursor": page.next_cursor}).data)

    @extend_schema(
        operation_id="orders_create", tags=TAGS,
        summary="Place an order",
        description=("Send an `Idempotency-Key` header to make retries safe: a key already "
                     "used answers the order it created (200) instead of placing another."),
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR,
                                     OpenApiParameter.HEADER, required=False)],
        request=OrderCreateInputSerializer,
        responses={201: OrderOutputSerializer, 200: OrderOutputSerializer,
                   **_errors(400, 401, 403, 422, 429)})
    def post(self, request):
        request_key = request.headers.get("Idempotency-Key", "").strip() or None
        if request_key and (len(request_key) > IDEMPOTENCY_KEY_MAX_LENGTH
                            or not request_key.isprintable()):
            raise ValidationError({"Idempotency-Key": [
                _("Use at most %(count)d printable characters.")
                % {"count": IDEMPOTENCY_KEY_MAX_LENGTH}]})
        payload = OrderCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        replay = bool(request_key) and selectors.order_for_request_key(
            company=request.user.company, request_key=request_key) is not None
        order = services.place_order(
            company=request.user.company, user=request.user,
            lines=[services.LineRequest(sku=line["sku"], quantity=line["quantity"])
                   for line in data["lines"]],
            ship_to=data["ship_to"], po_reference=data["po_reference"], notes=data["notes"],
            ip_address=self.client_ip(), request_key=request_key)
        return Response(OrderOutputSerializer(self.get_order(order.public_id)).data,
                        status=status.HTTP_200_OK if replay else status.HTTP_201_CREATED)


class OrderDetailView(OrderAPIView):
    @extend_schema(operation_id="orders_retrieve", tags=TAGS, summary="One of your orders",
                   responses={200: OrderOutputSerializer, **_errors(401, 403, 404, 429)})
    def get(self, request, public_id):
        return Response(OrderOutputSerializer(self.get_order(public_id)).data)


class OrderCancelView(OrderAPIView):
    @extend_schema(operation_id="orders_cancel", tags=TAGS,
                   summary="Cancel an order that has not shipped",
                   request=CancelInputSerializer,
                   responses={200: OrderOutputSerializer,
                              **_errors(400, 401, 403, 404, 409, 429)})
    def post(self, request, public_id):
        order = self.get_order(public_id)
        payload = CancelInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.cancel_order(order=order, reason=payload.validated_data["reason"],
                              actor=services.Actor(user=request.user,
                                                   ip_address=self.client_ip()))
        return Response(OrderOutputSerializer(self.get_order(public_id)).data)
