"""The REST API, version 1: every app's endpoints under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("", include("orders.api.urls")),
    path("", include("inventory.api.urls")),
]
