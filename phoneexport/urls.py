from django.contrib import admin
from django.contrib.auth.views import PasswordResetView
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from customers.forms import ClientPasswordResetForm
from customers.views import set_language
from inventory.urls import catalogue_urlpatterns
from phoneexport.views import healthz, home
from suppliers.views import SupplierWebhookView

# No language prefix in URLs: the language is the user's choice (stored on the user, or
# the language cookie before sign-in), falling back to the browser's Accept-Language.
urlpatterns = [
    # First: thousands of supplier webhooks a second are resolved before any other pattern.
    path("webhooks/suppliers/<slug:slug>/", SupplierWebhookView.as_view(),
         name="supplier-webhook"),
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("accounts/password_reset/",
         PasswordResetView.as_view(form_class=ClientPasswordResetForm), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("account/notifications/", include("notifications.urls")),
    path("account/", include("customers.urls")),
    path("prices/", include("inventory.urls")),
    path("catalogue/", include((catalogue_urlpatterns, "catalogue"))),
    path("cart/", include("orders.cart_urls")),
    path("orders/", include("orders.urls")),
    path("api/v1/", include("phoneexport.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script from a URL, not inline, as our CSP requires.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
