from django.urls import path

from inventory.api.views import ProductListView

urlpatterns = [
    path("products/", ProductListView.as_view(), name="products"),
]
