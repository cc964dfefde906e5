"""CSRF, sign-in throttling, passwords, cookies and HSTS, and the Content-Security-Policy."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from customers.models import User
from tests.factories import UserFactory
from tests.test_settings import PRODUCTION_LIKE, run_django

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-password"


@pytest.fixture
def throttled(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3


def client_user() -> User:
    user = UserFactory()
    user.save()  # the factory sets the password without saving it
    return user


def sign_in(client, url, email, password):
    return client.post(url, {"username": email, "password": password})


# --- CSRF ------------------------------------------------------------------------------------
def test_a_form_post_without_the_csrf_token_is_refused():
    user = client_user()
    client = Client(enforce_csrf_checks=True)
    assert sign_in(client, reverse("login"), user.email, PASSWORD).status_code == 403


# --- Sign-in throttling -----------------------------------------------------------------------
def test_sign_in_is_paused_after_repeated_wrong_passwords(client, throttled):
    user = client_user()
    for _ in range(3):
        response = sign_in(client, reverse("login"), user.email, "wrong-password")
        assert response.status_code in {200, 429}
    # Now even the right password is refused, with a page that says why.
    locked = sign_in(client, reverse("login"), user.email, PASSWORD)
    assert locked.status_code == 429
    assert b"Sign-in paused" in locked.content
    assert b"Please try again in 15 minutes" in locked.content
    assert "_auth_user_id" not in client.session


def test_throttling_counts_one_email_address_at_a_time(client, throttled):
    victim, other = client_user(), client_user()
    for _ in range(3):
        sign_in(client, reverse("login"), victim.email, "wrong-password")
    assert sign_in(client, reverse("login"), other.email, PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_earlier_failures(client, throttled):
    user = client_user()
    for _ in range(2):
        sign_in(client, reverse("login"), user.email, "wrong-password")
    assert sign_in(client, reverse("login"), user.email, PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        sign_in(client, reverse("login"), user.email, "wrong-password")
    assert sign_in(client, reverse("login"), user.email, PASSWORD).status_code == 302


def test_admin_sign_in_works_and_is_throttled_too(client, throttled):
    staff = User.objects.create_superuser(email="desk@phoneexport.example", password=PASSWORD)
    response = sign_in(client, "/admin/login/?next=/admin/", staff.email, PASSWORD)
    assert response.status_code == 302 and response.url == "/admin/"
    client.logout()
    for _ in range(3):
        sign_in(client, "/admin/login/", staff.email, "wrong-password")
    assert sign_in(client, "/admin/login/", staff.email, PASSWORD).status_code == 429


# --- Passwords ------------------------------------------------------------------------------
@pytest.mark.parametrize("password", ["short-pw", "password123", "1234567890123"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_long_uncommon_password_is_accepted():
    validate_password("graded-phones-ship-friday")


# --- Production settings: cookies, HTTPS, HSTS ---------------------------------------------
def test_production_settings_secure_cookies_and_hsts():
    result = run_django(
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_HTTPONLY)",
        **PRODUCTION_LIKE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "31536000", "True", "True"]


# --- Content-Security-Policy ---------------------------------------------------------------
def assert_strict_csp(response):
    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/accounts/password_reset/",
                                 "/admin/login/", "/api/docs/"])
def test_public_pages_carry_a_strict_csp(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert_strict_csp(response)


@pytest.mark.parametrize("url", ["/admin/", "/admin/orders/order/", "/admin/customers/user/add/",
                                 "/account/"])
def test_signed_in_pages_and_admin_carry_a_strict_csp(client, url):
    staff = User.objects.create_superuser(email="desk@phoneexport.example", password=PASSWORD)
    client.force_login(staff)
    response = client.get(url)
    assert response.status_code == 200
    assert_strict_csp(response)


def test_the_api_docs_page_loads_its_script_from_a_url():
    response = Client().get("/api/docs/")
    assert b"<script>" not in response.content and b"<style>" not in response.content
    script = Client().get("/api/docs/?script=")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


@pytest.mark.browser
# Transactional, so pytest-django runs it after the tests that rely on migration data.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/api/docs/", "/admin/", "/admin/orders/order/"])
def test_pages_run_in_a_browser_without_csp_violations(live_server, browser_page, path):
    from tests.conftest import screenshot

    staff = User.objects.create_superuser(email="desk@phoneexport.example", password=PASSWORD)
    page = browser_page
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", staff.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}{path}")
    page.wait_for_selector({"/api/docs/": ".swagger-ui .information-container",
                            "/admin/": "#desk-attention"}.get(path, "#changelist"))
    screenshot(page, "csp" + path.replace("/", "-").rstrip("-"))
    assert violations == []
