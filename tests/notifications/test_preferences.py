"""The client portal page where each user chooses which events email them."""

import pytest
from django.urls import reverse

from customers.models import User
from notifications import selectors
from notifications.models import Event, NotificationPreference

pytestmark = pytest.mark.django_db
URL = "/account/notifications/"


def sign_in(client, user):
    # As stored: the factory sets the password on the instance only.
    client.force_login(User.objects.get(pk=user.pk))


def checked(response) -> set[str]:
    form = response.context["form"]
    return set(form["events"].value())


def test_signing_in_is_required(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_defaults_by_role(client, people):
    sign_in(client, people.buyer)
    response = client.get(URL)
    assert response.status_code == 200
    assert checked(response) == set(selectors.CLIENT_EVENTS)
    assert Event.NEEDS_ATTENTION.value not in response.content.decode()

    sign_in(client, people.viewer)
    assert checked(client.get(URL)) == {Event.PARTIALLY_SHIPPED, Event.SHIPPED, Event.DELIVERED}


def test_a_user_saves_their_choice(client, people):
    sign_in(client, people.colleague)
    response = client.post(URL, {"events": [Event.SHIPPED, Event.DELIVERED]}, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert "Your email preferences are saved." in response.content.decode()
    assert checked(response) == {Event.SHIPPED, Event.DELIVERED}
    assert selectors.email_events_for(user=people.colleague) == {Event.SHIPPED, Event.DELIVERED}
    assert NotificationPreference.objects.filter(user=people.colleague).count() == len(
        selectors.CLIENT_EVENTS)


def test_events_a_client_cannot_choose_are_refused(client, people):
    sign_in(client, people.buyer)
    response = client.post(URL, {"events": [Event.NEEDS_ATTENTION]})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not NotificationPreference.objects.exists()


def test_the_page_speaks_the_users_language(client, people):
    sign_in(client, people.admin)  # Spanish
    response = client.get(URL)
    assert '<html lang="es">' in response.content.decode()
