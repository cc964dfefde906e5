from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.preferences, name="preferences"),
    path("webhooks/", views.webhook_endpoints, name="webhook_endpoints"),
    path("webhooks/add/", views.webhook_endpoint_add, name="webhook_endpoint_add"),
    path("webhooks/<int:endpoint_id>/", views.webhook_endpoint_detail, name="webhook_endpoint"),
    path("webhooks/<int:endpoint_id>/rotate-secret/", views.webhook_endpoint_rotate,
         name="webhook_endpoint_rotate"),
    path("webhooks/<int:endpoint_id>/disable/", views.webhook_endpoint_disable,
         name="webhook_endpoint_disable"),
    path("webhooks/<int:endpoint_id>/enable/", views.webhook_endpoint_enable,
         name="webhook_endpoint_enable"),
    path("webhooks/<int:endpoint_id>/delete/", views.webhook_endpoint_delete,
         name="webhook_endpoint_delete"),
    path("webhooks/<int:endpoint_id>/test/", views.webhook_endpoint_test,
         name="webhook_endpoint_test"),
    path("webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend/",
         views.webhook_delivery_resend, name="webhook_delivery_resend"),
]
