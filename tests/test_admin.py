"""Every model has a working admin: list, search and (where it exists) change page."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from customers.models import User


@pytest.fixture
def staff_client(client, db):
    call_command("seed_demo")
    user = User.objects.create_superuser(email="staff@phoneexport.example", password="x" * 12)
    client.force_login(user)
    return client


OUR_APPS = {"customers", "inventory", "suppliers", "orders", "notifications"}
OUR_MODELS = [model for model in admin.site._registry if model._meta.app_label in OUR_APPS]


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda model: model.__name__)
def test_admin_pages_render(staff_client, model):
    info = model._meta.app_label, model._meta.model_name
    changelist = staff_client.get(reverse("admin:%s_%s_changelist" % info), {"q": "a"})
    assert changelist.status_code == 200
    instance = model.objects.first()
    if instance is not None:
        change = staff_client.get(reverse("admin:%s_%s_change" % info, args=[instance.pk]))
        assert change.status_code == 200


@pytest.mark.django_db
def test_admin_login_page(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"PhoneExport" in response.content

