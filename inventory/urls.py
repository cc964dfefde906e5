from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("price-list.csv", views.price_list, name="price-list"),
    path("price-list.xlsx", views.price_list_xlsx, name="price-list-xlsx"),
]

# Mounted at catalogue/ under the "catalogue" namespace.
catalogue_urlpatterns = [
    path("", views.catalogue, name="list"),
]
