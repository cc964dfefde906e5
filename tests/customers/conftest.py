import pytest

from customers.models import User
from tests.factories import ClientCompanyFactory, ShippingAddressFactory, UserFactory

PASSWORD = "a-long-password"


def make_user(**fields) -> User:
    user = UserFactory(**fields)
    user.save()  # the factory sets the password without saving it
    return user


@pytest.fixture
def company(db):
    return ClientCompanyFactory(name="Acme Mobile LLC")


@pytest.fixture
def other_company(db):
    return ClientCompanyFactory(name="Rival Phones Inc.")


@pytest.fixture
def account_admin(company):
    return make_user(company=company, role=User.Role.ACCOUNT_ADMIN, email="admin@acme.example")


@pytest.fixture
def buyer(company):
    return make_user(company=company, role=User.Role.BUYER, email="buyer@acme.example")


@pytest.fixture
def viewer(company):
    return make_user(company=company, role=User.Role.VIEWER, email="viewer@acme.example")


@pytest.fixture
def outsider(other_company):
    return make_user(company=other_company, role=User.Role.BUYER, email="buyer@rival.example")


@pytest.fixture
def outsider_address(other_company):
    return ShippingAddressFactory(company=other_company, label="Rival HQ", is_default=True)


@pytest.fixture
def admin_client(client, account_admin):
    client.force_login(account_admin)
    return client
