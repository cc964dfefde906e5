"""The client portal pages where account admins manage their webhook endpoints."""

import pytest
from django.urls import reverse
from standardwebhooks.webhooks import Webhook

from customers.models import User
from notifications import client_webhooks
from notifications.models import ClientWebhookDelivery, ClientWebhookEndpoint
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LIST_URL = "/account/notifications/webhooks/"


@pytest.fixture(autouse=True)
def _allow_https_only(settings):
    settings.CLIENT_WEBHOOK_ALLOW_LOCALHOST = False


def sign_in(client, user):
    client.force_login(User.objects.get(pk=user.pk))


def endpoint_url(endpoint, action=""):
    return f"{LIST_URL}{endpoint.pk}/{action}"


@pytest.fixture
def endpoint(people):
    return client_webhooks.create_endpoint(company=people.company, url="https://erp.acme.test/h",
                                           events=["shipped"], created_by=people.admin)


def test_an_account_admin_adds_an_endpoint_and_sees_its_secret_once(client, people):
    sign_in(client, people.admin)
    assert client.get(LIST_URL).status_code == 200
    response = client.post(f"{LIST_URL}add/", {
        "url": "https://erp.acme.test/webhooks", "description": "ERP",
        "events": ["shipped", "delivered"]})
    assert response.status_code == 200
    endpoint = ClientWebhookEndpoint.objects.get()
    assert endpoint.company == people.company and endpoint.created_by == people.admin
    assert endpoint.events == ["shipped", "delivered"]
    assert endpoint.secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    Webhook(endpoint.secret)  # a valid Standard Webhooks secret
    for page in (LIST_URL, endpoint_url(endpoint)):
        shown = client.get(page)
        assert shown.status_code == 200 and endpoint.secret not in shown.content.decode()
        assert endpoint.url in shown.content.decode()


def test_plain_http_is_refused_with_a_clear_message(client, people):
    sign_in(client, people.admin)
    response = client.post(f"{LIST_URL}add/", {"url": "http://erp.acme.test/webhooks",
                                               "events": ["shipped"]})
    assert response.status_code == 200
    assert "https://" in response.content.decode()
    assert not ClientWebhookEndpoint.objects.exists()


def test_rotating_shows_the_new_secret_once(client, people, endpoint):
    sign_in(client, people.admin)
    old_secret = endpoint.secret
    response = client.post(endpoint_url(endpoint, "rotate-secret/"))
    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret and endpoint.previous_secret == old_secret
    assert endpoint.secret in response.content.decode()


def test_disable_enable_test_resend_and_delete(client, people, endpoint):
    sign_in(client, people.admin)
    client.post(endpoint_url(endpoint, "disable/"))
    endpoint.refresh_from_db()
    assert not endpoint.is_active and people.admin.email in endpoint.disabled_reason
    client.post(endpoint_url(endpoint, "test/"))
    assert not ClientWebhookDelivery.objects.exists()  # not to a disabled endpoint
    client.post(endpoint_url(endpoint, "enable/"))
    endpoint.refresh_from_db()
    assert endpoint.is_active
    client.post(endpoint_url(endpoint, "test/"))
    delivery = ClientWebhookDelivery.objects.get()
    assert delivery.event_type == "webhook.test"
    ClientWebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=ClientWebhookDelivery.Status.FAILED)
    page = client.get(endpoint_url(endpoint)).content.decode()
    assert delivery.webhook_id in page
    client.post(endpoint_url(endpoint, f"deliveries/{delivery.pk}/resend/"))
    delivery.refresh_from_db()
    assert delivery.status == ClientWebhookDelivery.Status.PENDING
    response = client.post(endpoint_url(endpoint, "delete/"))
    assert response.status_code == 302 and response["Location"] == reverse(
        "notifications:webhook_endpoints")
    assert not ClientWebhookEndpoint.objects.exists()


@pytest.mark.parametrize("action", ["", "rotate-secret/", "disable/", "enable/", "delete/",
                                    "test/"])
def test_another_company_s_endpoint_is_not_found(client, people, endpoint, action):
    outsider = UserFactory(role=User.Role.ACCOUNT_ADMIN)
    sign_in(client, outsider)
    method = client.get if not action else client.post
    assert method(endpoint_url(endpoint, action)).status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.is_active and ClientWebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_another_company_s_delivery_is_not_found(client, people, endpoint):
    other = client_webhooks.create_endpoint(company=UserFactory().company,
                                            url="https://other.test/h", events=["shipped"])
    delivery = client_webhooks.send_test_event(endpoint=other)
    sign_in(client, people.admin)
    response = client.post(endpoint_url(endpoint, f"deliveries/{delivery.pk}/resend/"))
    assert response.status_code == 404


@pytest.mark.parametrize("role", ["buyer", "viewer", "staff"])
def test_only_account_admins_see_the_pages(client, people, endpoint, role):
    user = {"buyer": people.buyer, "viewer": people.viewer,
            "staff": UserFactory(company=None, role="", is_staff=True)}[role]
    sign_in(client, user)
    for url in (LIST_URL, f"{LIST_URL}add/", endpoint_url(endpoint)):
        assert client.get(url).status_code == 404
    assert client.post(endpoint_url(endpoint, "delete/")).status_code == 404
    assert ClientWebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_signing_in_is_required(client):
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
