"""The project's URLs plus the products API where the API root will mount it."""

from django.urls import include, path

from phoneexport.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("api/v1/", include("inventory.api.urls"))]
