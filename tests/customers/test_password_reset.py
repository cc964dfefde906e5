"""Forgotten and changed passwords, with our pages and a translatable email."""

import re

import pytest
from django.urls import reverse

from tests.customers.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "graded-phones-ship-friday"


def reset_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", message.body).group(1)


def test_password_reset_emails_a_link_that_sets_a_new_password(client, mailoutbox):
    user = make_user(email="jane@acme.example")
    response = client.post(reverse("password_reset"), {"email": "jane@acme.example"})
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["jane@acme.example"]
    assert message.subject == "Choose a new PhoneExport password"

    # The emailed link swaps its token for a session and asks for the new password.
    form_page = client.get(reset_link(message), follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    done = client.post(form_page.redirect_chain[-1][0],
                       {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done.url == reverse("password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    # The link works once.
    again = client.get(reset_link(message), follow=True)
    assert not again.context["validlink"]
    assert "This link no longer works" in again.content.decode()


def test_reset_refuses_a_weak_new_password(client, mailoutbox):
    user = make_user(email="jane@acme.example")
    client.post(reverse("password_reset"), {"email": user.email})
    form_page = client.get(reset_link(mailoutbox[0]), follow=True)
    response = client.post(form_page.redirect_chain[-1][0],
                           {"new_password1": "short", "new_password2": "short"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.example"})
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert mailoutbox == []


def test_the_reset_email_is_in_the_users_language(client, mailoutbox):
    make_user(email="ana@sur.example", language="es")
    client.post(reverse("password_reset"), {"email": "ANA@sur.example"},
                HTTP_ACCEPT_LANGUAGE="en")
    assert "teléfonos usados y reacondicionados al por mayor" in mailoutbox[0].body


def test_an_invited_user_who_lost_the_invitation_can_reset(client, mailoutbox):
    invited = make_user(email="nia@acme.example")
    invited.set_unusable_password()
    invited.save()
    client.post(reverse("password_reset"), {"email": invited.email})
    assert [message.to for message in mailoutbox] == [[invited.email]]


def test_a_deactivated_user_gets_no_reset_email(client, mailoutbox):
    make_user(email="gone@acme.example", is_active=False)
    client.post(reverse("password_reset"), {"email": "gone@acme.example"})
    assert mailoutbox == []


def test_signed_in_users_change_their_password(client):
    user = make_user()
    client.force_login(user)
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response.url == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_the_sign_in_page_offers_the_reset(client):
    assert reverse("password_reset").encode() in client.get(reverse("login")).content
