"""The bare endpoint's work (check an HMAC, insert a row) inside Django and DRF, and nothing else.

Served like PhoneExport: its settings, its middleware with the webhook's short path past the
middleware made for people, the webhook view's DRF configuration, a Django database connection
with its health check. What it answers is the most any endpoint built on Django and DRF can
answer on this machine, before any work of PhoneExport's own.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoneexport.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402 (Django is set up above)
from django.db import connection  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.response import Response  # noqa: E402

from phoneexport.benchmarks.bare_webhook import INSERT, signed  # noqa: E402
from suppliers.middleware import WEBHOOK_URL_NAME  # noqa: E402
from suppliers.views import SupplierWebhookView  # noqa: E402


class BareWebhookView(SupplierWebhookView):
    def post(self, request, slug: str):
        body = request.body
        if not signed(request.META, body):
            return Response(status=401)
        with connection.cursor() as cursor:
            cursor.execute(INSERT, (request.META.get("HTTP_WEBHOOK_ID", ""), body.decode()))
        return Response({"status": "accepted"})


urlpatterns = [path("webhooks/suppliers/<slug:slug>/", BareWebhookView.as_view(),
                    name=WEBHOOK_URL_NAME)]
# This process serves only the view above; the handler reads the setting on every request.
settings.ROOT_URLCONF = __name__
