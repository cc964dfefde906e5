"""The project's URLs plus the inventory pages, which the project's URLconf will include."""

from django.urls import include, path

from phoneexport.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("prices/", include("inventory.urls"))]
