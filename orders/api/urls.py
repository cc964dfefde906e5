from django.urls import path

from orders.api import views

urlpatterns = [
    path("orders/", views.OrderListCreateView.as_view(), name="api-orders"),
    path("orders/<uuid:public_id>/", views.OrderDetailView.as_view(), name="api-order"),
    path("orders/<uuid:public_id>/cancel/", views.OrderCancelView.as_view(),
         name="api-order-cancel"),
]
