from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from suppliers.selectors import webhook_supplier
from suppliers.webhooks import WebhookRefused, receive_webhook


def error(http_status: int, code: str, message: str) -> Response:
    return Response({"error": {"code": code, "message": message}}, status=http_status)


class JSONOnly(BaseContentNegotiation):
    """The supplier's contract answers in JSON whatever the request accepts: no Accept header
    is parsed for thousands of webhooks a second."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


@extend_schema(exclude=True)  # the suppliers' contract, not part of the client API
class SupplierWebhookView(APIView):
    """Receives a supplier's signed events: verify, store once, answer at once."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    # The body is read raw, for its signature: nothing parses it here.
    parser_classes = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnly

    def post(self, request, slug: str):
        supplier = webhook_supplier(slug=slug)
        if supplier is None:
            return error(status.HTTP_404_NOT_FOUND, "unknown_supplier",
                         "No supplier receives webhooks at this address.")
        limit = settings.WEBHOOK_MAX_BODY_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit() or int(declared) > limit:
            return error(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
                         f"Webhook bodies are limited to {limit} bytes.")
        try:
            receipt = receive_webhook(supplier=supplier, body=request.body,
                                      headers=request.headers)
        except WebhookRefused as refusal:
            return error(refusal.status, refusal.code, refusal.message)
        return Response({"status": "duplicate" if receipt.duplicate else "accepted"},
                        status=status.HTTP_200_OK)
