"""A client company's account pages: profile, users and roles, address book.

Account admins manage their own company only: another company's user or address is 404, so
its existence is not revealed. Buyers and viewers are 403 on management pages: they are
members of the company and know the pages exist; they are simply not allowed.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from customers.models import ShippingAddress, User
from tests.customers.conftest import PASSWORD
from tests.factories import ShippingAddressFactory

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "graded-phones-ship-friday"
ADDRESS = {"label": "Doral warehouse", "company_name": "Acme Mobile LLC",
           "contact_name": "Ana Gómez", "phone": "+1 786 555 0142", "line1": "8200 NW 25th St",
           "line2": "", "city": "Doral", "region": "FL", "postal_code": "33122", "country": "us"}


# --- Profile ------------------------------------------------------------------------------
def test_the_account_page_shows_the_company_and_saves_the_profile(client, buyer):
    client.force_login(buyer)
    page = client.get(reverse("customers:account"))
    assert page.status_code == 200
    assert "Acme Mobile LLC" in page.content.decode()
    assert buyer.company.account_number in page.content.decode()

    response = client.post(reverse("customers:account"),
                           {"first_name": " Jane ", "last_name": "Roe", "language": "es"})
    assert response.status_code == 302
    buyer.refresh_from_db()
    assert (buyer.first_name, buyer.last_name, buyer.language) == ("Jane", "Roe", "es")


def test_the_profile_refuses_an_unknown_language(client, buyer):
    client.force_login(buyer)
    response = client.post(reverse("customers:account"),
                           {"first_name": "", "last_name": "", "language": "xx"})
    assert response.status_code == 200 and response.context["form"].errors["language"]
    buyer.refresh_from_db()
    assert buyer.language == "en"


def test_the_header_links_signed_in_clients_to_their_account(client, buyer):
    account_url = reverse("customers:account").encode()
    assert account_url not in client.get("/").content
    client.force_login(buyer)
    assert account_url in client.get("/").content


def test_the_account_pages_need_a_sign_in(client):
    response = client.get(reverse("customers:account"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


# --- Users --------------------------------------------------------------------------------
def test_an_account_admin_lists_only_their_company_users(admin_client, buyer, outsider):
    page = admin_client.get(reverse("customers:users")).content.decode()
    assert buyer.email in page
    assert outsider.email not in page


def test_an_invited_user_gets_an_email_and_sets_their_password(admin_client, company,
                                                               mailoutbox, client):
    response = admin_client.post(reverse("customers:invite-user"), {
        "email": "New.Buyer@Acme.example", "first_name": "Nia", "last_name": "Bey",
        "role": "buyer", "language": "es"})
    assert response.status_code == 302 and response.url == reverse("customers:users")
    invited = User.objects.get(email="new.buyer@acme.example")
    assert (invited.company, invited.role, invited.language) == (company, "buyer", "es")
    assert not invited.has_usable_password()

    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["new.buyer@acme.example"]
    link = re.search(r"https?://\S+(/accounts/reset/\S+)", mailoutbox[0].body).group(1)
    admin_client.logout()
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    client.post(form_page.redirect_chain[-1][0],
                {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    invited.refresh_from_db()
    assert invited.check_password(NEW_PASSWORD)


def test_inviting_an_address_that_has_an_account_is_refused(admin_client, outsider,
                                                            mailoutbox):
    response = admin_client.post(reverse("customers:invite-user"), {
        "email": outsider.email.upper(), "role": "viewer", "language": "en"})
    assert response.status_code == 200
    assert "already has a PhoneExport account" in response.content.decode()
    outsider.refresh_from_db()
    assert outsider.company.name == "Rival Phones Inc."
    assert mailoutbox == []


def test_an_account_admin_changes_a_role(admin_client, buyer):
    response = admin_client.post(reverse("customers:user", args=[buyer.pk]), {"role": "viewer"})
    assert response.status_code == 302
    buyer.refresh_from_db()
    assert buyer.role == User.Role.VIEWER


def test_an_unknown_role_is_refused(admin_client, buyer):
    response = admin_client.post(reverse("customers:user", args=[buyer.pk]), {"role": "owner"})
    assert response.status_code == 200 and response.context["form"].errors["role"]
    buyer.refresh_from_db()
    assert buyer.role == User.Role.BUYER


def test_deactivating_a_user_stops_their_sign_in_and_their_api_token(admin_client, buyer,
                                                                     client):
    Token.objects.create(user=buyer)
    buyer_session = Client()
    buyer_session.force_login(buyer)
    admin_client.post(reverse("customers:user-active", args=[buyer.pk]), {"active": "0"})
    buyer.refresh_from_db()
    assert not buyer.is_active
    assert not Token.objects.filter(user=buyer).exists()
    # The session they had open no longer signs them in.
    assert buyer_session.get(reverse("customers:account")).status_code == 302
    admin_client.logout()
    response = client.post(reverse("login"), {"username": buyer.email, "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session

    client.force_login(User.objects.get(role=User.Role.ACCOUNT_ADMIN))
    client.post(reverse("customers:user-active", args=[buyer.pk]), {"active": "1"})
    buyer.refresh_from_db()
    assert buyer.is_active


def test_an_account_admin_cannot_demote_or_deactivate_themselves(admin_client, account_admin):
    admin_client.post(reverse("customers:user", args=[account_admin.pk]), {"role": "viewer"})
    response = admin_client.post(reverse("customers:user-active", args=[account_admin.pk]),
                                 {"active": "0"}, follow=True)
    assert "cannot change your own role" in response.content.decode()
    account_admin.refresh_from_db()
    assert account_admin.role == User.Role.ACCOUNT_ADMIN and account_admin.is_active


def test_the_invitation_can_be_sent_again(admin_client, company, mailoutbox):
    admin_client.post(reverse("customers:invite-user"), {
        "email": "late@acme.example", "role": "viewer", "language": "en"})
    invited = User.objects.get(email="late@acme.example")
    admin_client.post(reverse("customers:user-invitation", args=[invited.pk]))
    assert [message.to for message in mailoutbox] == [["late@acme.example"]] * 2


@pytest.mark.parametrize("name, method, data", [
    ("customers:user", "get", None),
    ("customers:user", "post", {"role": "account_admin"}),
    ("customers:user-active", "post", {"active": "0"}),
    ("customers:user-invitation", "post", None),
])
def test_another_companys_user_is_not_found(admin_client, outsider, mailoutbox,
                                            name, method, data):
    response = getattr(admin_client, method)(reverse(name, args=[outsider.pk]), data or {})
    assert response.status_code == 404
    outsider.refresh_from_db()
    assert outsider.role == User.Role.BUYER and outsider.is_active
    assert mailoutbox == []


@pytest.mark.parametrize("role", [User.Role.BUYER, User.Role.VIEWER])
@pytest.mark.parametrize("name, method, needs_pk", [
    ("customers:users", "get", False),
    ("customers:invite-user", "get", False),
    ("customers:invite-user", "post", False),
    ("customers:user", "post", True),
    ("customers:user-active", "post", True),
    ("customers:address-create", "post", False),
    ("customers:address-edit", "post", True),
    ("customers:address-delete", "post", True),
    ("customers:address-default", "post", True),
])
def test_buyers_and_viewers_cannot_manage_the_company(client, company, account_admin, role,
                                                      name, method, needs_pk):
    member = User.objects.create_user(email=f"{role}@acme.example", password=PASSWORD,
                                      company=company, role=role)
    address = ShippingAddressFactory(company=company, label="Second")
    client.force_login(member)
    target = account_admin.pk if name.startswith("customers:user") else address.pk
    url = reverse(name, args=[target] if needs_pk else [])
    data = {"role": "viewer", "active": "0", "email": "x@acme.example", "language": "en",
            **ADDRESS}
    response = getattr(client, method)(url, data)
    assert response.status_code == 403
    account_admin.refresh_from_db()
    assert account_admin.role == User.Role.ACCOUNT_ADMIN and account_admin.is_active
    assert list(ShippingAddress.objects.filter(company=company).values_list("label", flat=True)) \
        == ["Second"]


def test_staff_without_a_company_are_not_clients(client):
    staff = User.objects.create_superuser(email="desk@phoneexport.example", password=PASSWORD)
    client.force_login(staff)
    assert client.get(reverse("customers:account")).status_code == 200
    assert client.get(reverse("customers:users")).status_code == 403
    assert client.get(reverse("customers:addresses")).status_code == 403


# --- Address book -------------------------------------------------------------------------
def test_the_first_address_becomes_the_default(admin_client, company):
    response = admin_client.post(reverse("customers:address-create"), ADDRESS)
    assert response.status_code == 302
    address = ShippingAddress.objects.get(company=company)
    assert address.is_default and address.country == "US"


def test_an_address_is_validated(admin_client, company):
    response = admin_client.post(reverse("customers:address-create"),
                                 {**ADDRESS, "country": "USA", "phone": "call me"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"country", "phone"}
    assert not ShippingAddress.objects.filter(company=company).exists()


def test_an_account_admin_edits_and_sets_the_default_address(admin_client, company):
    main = ShippingAddressFactory(company=company, label="Main", is_default=True)
    second = ShippingAddressFactory(company=company, label="Second")
    response = admin_client.post(reverse("customers:address-edit", args=[second.pk]),
                                 {**ADDRESS, "label": "Second, renamed"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.label == "Second, renamed" and second.city == "Doral"

    admin_client.post(reverse("customers:address-default", args=[second.pk]))
    main.refresh_from_db()
    second.refresh_from_db()
    assert (main.is_default, second.is_default) == (False, True)

    admin_client.post(reverse("customers:address-edit", args=[main.pk]),
                      {**ADDRESS, "label": "Main", "make_default": "on"})
    assert ShippingAddress.objects.get(is_default=True, company=company) == main


def test_deleting_the_default_address_hands_the_default_on(admin_client, company):
    main = ShippingAddressFactory(company=company, label="Main", is_default=True)
    second = ShippingAddressFactory(company=company, label="Second")
    assert admin_client.get(reverse("customers:address-delete", args=[main.pk])).status_code == 200
    admin_client.post(reverse("customers:address-delete", args=[main.pk]))
    assert list(ShippingAddress.objects.filter(company=company)) == [second]
    second.refresh_from_db()
    assert second.is_default


@pytest.mark.parametrize("name, method", [
    ("customers:address-edit", "get"), ("customers:address-edit", "post"),
    ("customers:address-delete", "get"), ("customers:address-delete", "post"),
    ("customers:address-default", "post"),
])
def test_another_companys_address_is_not_found(admin_client, outsider_address, name, method):
    response = getattr(admin_client, method)(reverse(name, args=[outsider_address.pk]),
                                             {**ADDRESS, "label": "Hijacked"})
    assert response.status_code == 404
    outsider_address.refresh_from_db()
    assert outsider_address.label == "Rival HQ" and outsider_address.is_default


def test_every_member_reads_the_address_book_but_only_admins_see_the_tools(
        client, company, viewer, outsider_address):
    ShippingAddressFactory(company=company, label="Main", is_default=True)
    client.force_login(viewer)
    page = client.get(reverse("customers:addresses"))
    assert page.status_code == 200
    content = page.content.decode()
    assert "Main" in content and "Rival HQ" not in content
    assert reverse("customers:address-create") not in content

