from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("live/", views.live_versions, name="live"),
    path("<uuid:public_id>/", views.order_detail, name="detail"),
    path("<uuid:public_id>/live/", views.order_live_fragment, name="live-fragment"),
    path("<uuid:public_id>/cancel/", views.cancel, name="cancel"),
    path("<uuid:public_id>/reorder/", views.reorder, name="reorder"),
    path("<uuid:public_id>/imeis.csv", views.imeis_csv, name="imeis-csv"),
]
