from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("price-list.csv", views.price_list, name="price-list"),
]
