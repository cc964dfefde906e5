"""One error shape for the whole API: {"error": {"code", "message", "details"}}.

Domain errors raised by services become answers here, in one place.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from orders.errors import (
    InvalidOrder, InvalidTransition, NotAllowedToOrder, NotCancellable, OrderBusy, OrderError,
)

# Domain error class -> HTTP status; the most specific class listed first wins.
DOMAIN_ERROR_STATUS = [
    (InvalidOrder, status.HTTP_422_UNPROCESSABLE_ENTITY),  # out of stock, address, SKUs
    (NotAllowedToOrder, status.HTTP_403_FORBIDDEN),
    (NotCancellable, status.HTTP_409_CONFLICT),
    (InvalidTransition, status.HTTP_409_CONFLICT),
    (OrderBusy, status.HTTP_409_CONFLICT),
    (OrderError, status.HTTP_409_CONFLICT),
]


def _domain_error_response(exc: OrderError) -> Response:
    http_status = next(code for error_class, code in DOMAIN_ERROR_STATUS
                       if isinstance(exc, error_class))
    response = Response({"error": {"code": exc.code, "message": str(exc),
                                   "details": getattr(exc, "details", [])}},
                        status=http_status)
    if isinstance(exc, OrderBusy):
        response["Retry-After"] = "2"
    return response


def exception_handler(exc, context):
    if isinstance(exc, OrderError):
        return _domain_error_response(exc)
    # Django's own exceptions, as DRF would translate them, keeping a meaningful code.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        message, details = str(detail["detail"]), []
    else:
        message = str(getattr(exc, "default_detail", "Invalid request."))
        details = detail if isinstance(detail, list) else [detail]
    response.data = {"error": {"code": code, "message": message, "details": details}}
    return response


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.ListField(child=serializers.JSONField())


class ErrorSerializer(serializers.Serializer):
    """The API's one error shape, for the schema."""

    error = ErrorBodySerializer()


class _RatesReadPerRequest:
    # DRF copies the rates into the class when it is imported; reading them per request
    # lets a changed REST_FRAMEWORK setting (tests, a reload) take effect.
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class PerTokenRateThrottle(_RatesReadPerRequest, UserRateThrottle):
    """Requests per authenticated user (one API token per user), per client IP otherwise."""

    scope = "user"


class ScopedPerTokenRateThrottle(_RatesReadPerRequest, ScopedRateThrottle):
    """A tighter limit for a costly action (placing orders), set on the view's scope."""
