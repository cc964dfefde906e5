from django.urls import path

from orders import cart_views

app_name = "cart"

urlpatterns = [
    path("", cart_views.cart_detail, name="detail"),
    path("add/", cart_views.cart_add, name="add"),
    path("update/", cart_views.cart_update, name="update"),
    path("checkout/", cart_views.checkout, name="checkout"),
    path("orders/<uuid:public_id>/", cart_views.confirmation, name="confirmation"),
]
