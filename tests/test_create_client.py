import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from customers.models import ClientCompany, User

pytestmark = pytest.mark.django_db
PASSWORD = "orange-kettle-harbour-42"


def test_create_client_makes_the_company_and_user_and_prints_a_working_token(client, capsys):
    call_command("create_client", "--company", "Delta Phones Ltd", "--email",
                 "Buyer@Delta.example", "--password", PASSWORD)
    output = capsys.readouterr().out
    user = User.objects.get(email="buyer@delta.example")
    assert user.company.name == "Delta Phones Ltd"
    assert user.company.account_number.startswith("C-")
    assert user.role == User.Role.BUYER and user.check_password(PASSWORD)
    token = Token.objects.get(user=user).key
    assert f"API token: {token}" in output
    response = client.get("/api/v1/orders/", headers={"Authorization": f"Token {token}"})
    assert response.status_code == 200


def test_a_role_and_account_number_can_be_given(capsys):
    call_command("create_client", "--company", "Echo", "--email", "viewer@echo.example",
                 "--password", PASSWORD, "--role", "viewer", "--account-number", "C-9000")
    user = User.objects.get(email="viewer@echo.example")
    assert user.role == User.Role.VIEWER and user.company.account_number == "C-9000"


@pytest.mark.parametrize("arguments, message", [
    (["--email", "not-an-email", "--password", PASSWORD], "email"),
    (["--email", "ok@foxtrot.example", "--password", "short"], "password"),
    (["--email", "taken@foxtrot.example", "--password", PASSWORD], "already exists"),
])
def test_bad_input_is_refused_and_nothing_is_created(arguments, message):
    User.objects.create_user(email="taken@foxtrot.example", password=PASSWORD)
    companies = ClientCompany.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("create_client", "--company", "Foxtrot", *arguments)
    assert ClientCompany.objects.count() == companies
    assert User.objects.count() == 1


def test_an_unknown_role_is_refused():
    with pytest.raises(CommandError):
        call_command("create_client", "--company", "Golf", "--email", "a@golf.example",
                     "--password", PASSWORD, "--role", "owner")
    assert not ClientCompany.objects.exists()
