import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from customers.models import ClientCompany, ShippingAddress, User


def counts():
    return {model.__name__: model.objects.count()
            for model in (ClientCompany, User, ShippingAddress)}


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_data(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert first["ClientCompany"] == 3
    assert first["User"] == 3 * 3 + 1
    output = capsys.readouterr().out
    assert "admin@phoneexport.example" in output
    assert "buyer@c1001.example" in output
    buyer_token = Token.objects.get(user__email="buyer@c1001.example").key
    assert f"buyer@c1001.example  (API token {buyer_token})" in output
    assert Token.objects.count() == 3 * 3  # one per client user, kept across runs


@pytest.mark.django_db
def test_seed_demo_creates_no_superuser_with_debug_off(settings):
    settings.DEBUG = False
    call_command("seed_demo")
    assert not User.objects.filter(is_superuser=True).exists()


@pytest.mark.django_db
def test_every_demo_company_has_each_role_and_a_default_address():
    call_command("seed_demo")
    for company in ClientCompany.objects.all():
        assert set(company.users.values_list("role", flat=True)) == {
            User.Role.ACCOUNT_ADMIN, User.Role.BUYER, User.Role.VIEWER}
        assert company.addresses.filter(is_default=True).count() == 1
