"""In Chromium: an account admin invites a colleague, who chooses a password and signs in."""

import re

import pytest

from customers.models import User
from tests.conftest import screenshot
from tests.factories import ClientCompanyFactory

PASSWORD = "a-long-password"
NEW_PASSWORD = "graded-phones-ship-friday"


def sign_in(page, base_url, email, password):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_invited_colleague_chooses_a_password_and_signs_in(live_server, browser_page,
                                                               mailoutbox):
    company = ClientCompanyFactory(name="Acme Mobile LLC")
    admin = User.objects.create_user(email="admin@acme.example", password=PASSWORD,
                                     company=company, role=User.Role.ACCOUNT_ADMIN)
    page, base_url = browser_page, live_server.url

    sign_in(page, base_url, admin.email, PASSWORD)
    page.click("header >> text=Account")
    page.click("nav >> text=Users")
    page.click("text=Invite a user")
    page.fill("#id_email", "nia@acme.example")
    page.fill("#id_first_name", "Nia")
    page.select_option("#id_role", "viewer")
    screenshot(page, "account-invite")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=nia@acme.example is invited")
    screenshot(page, "account-users")

    (invitation,) = mailoutbox
    link = re.search(r"https?://\S+(/accounts/reset/\S+)", invitation.body).group(1)
    page.context.clear_cookies()
    page.goto(f"{base_url}{link}")
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Your password is saved")

    sign_in(page, base_url, "nia@acme.example", NEW_PASSWORD)
    page.click("header >> text=Account")
    page.wait_for_selector("text=Viewer")
    # Viewers read the address book but are not offered the users page.
    assert page.locator("nav >> text=Users").count() == 0
    screenshot(page, "account-viewer")
