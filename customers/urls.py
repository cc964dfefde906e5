from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.account, name="account"),
    path("users/", views.users, name="users"),
    path("users/invite/", views.invite_user, name="invite-user"),
    path("users/<int:pk>/", views.user_detail, name="user"),
    path("users/<int:pk>/active/", views.set_user_active, name="user-active"),
    path("users/<int:pk>/invitation/", views.resend_invitation, name="user-invitation"),
    path("addresses/", views.addresses, name="addresses"),
    path("addresses/new/", views.address_create, name="address-create"),
    path("addresses/<int:pk>/", views.address_edit, name="address-edit"),
    path("addresses/<int:pk>/delete/", views.address_delete, name="address-delete"),
    path("addresses/<int:pk>/default/", views.address_make_default, name="address-default"),
]
