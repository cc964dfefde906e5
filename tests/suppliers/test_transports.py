"""Routes to the supplier: URLs, headers, timeouts, the PhoneX token, and what gets logged."""

import base64
import logging
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs

import pytest
import requests
import responses
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from suppliers.adapters import get_adapter
from suppliers.adapters.base import SupplierAuthError, TransientSupplierError
from suppliers.adapters.transports import (
    POOL_SIZE, ClientCredentialsToken, DirectTransport, PhoneXTransport, StaticToken,
    parse_retry_after,
)
from suppliers.adapters.wesellcellular import WeSellCellularAdapter

API_KEY = "wsc-direct-key-9f8e7d"
STATIC_TOKEN = "phonex-static-token-5c4b3a"
CLIENT_ID = "phoneexport-client"
CLIENT_SECRET = "client-secret-1a2b3c"
TOKEN_URL = "https://auth.phonex.example/oauth2/token"
DIRECT_BASE = "https://api.wesellcellular.example"
RELAY_BASE = "https://api.phonex.example/v1/tenants/wsc/relay"
ORDER = {
    "id": "WSC-7F3A91", "external_reference": "PE-000123", "status": "received", "version": 1,
    "lines": [{"sku": "APL-IP13-128-BLK-A-UNL", "quantity": 10, "unit_price": "412.50",
               "quantity_shipped": 0}],
    "shipments": [], "created_at": "2026-11-24T15:04:05Z", "updated_at": "2026-11-24T15:04:05Z",
}


@pytest.fixture(autouse=True)
def supplier_settings(settings):
    settings.WESELLCELLULAR_API_URL = DIRECT_BASE
    settings.WESELLCELLULAR_API_KEY = API_KEY
    settings.PHONEX_API_URL = "https://api.phonex.example"
    settings.PHONEX_API_TOKEN = STATIC_TOKEN
    settings.PHONEX_CLIENT_ID = ""
    settings.PHONEX_CLIENT_SECRET = ""
    settings.PHONEX_TOKEN_URL = TOKEN_URL
    settings.PHONEX_TENANT_ID = "phoneexport"
    settings.PHONEX_SUPPLIER_TENANT_ID = "wsc"
    settings.SUPPLIER_CONNECT_TIMEOUT = 2.5
    settings.SUPPLIER_READ_TIMEOUT = 9.0
    return settings


@pytest.fixture
def client_credentials(supplier_settings):
    supplier_settings.SUPPLIER_TRANSPORT = "phonex"
    supplier_settings.PHONEX_CLIENT_ID = CLIENT_ID
    supplier_settings.PHONEX_CLIENT_SECRET = CLIENT_SECRET
    cache.clear()
    yield supplier_settings
    cache.clear()


def token_answer(token: str, expires_in: int = 3600) -> dict:
    return {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}


def calls_to(url_prefix: str) -> list:
    return [call for call in responses.calls if call.request.url.startswith(url_prefix)]


# --- Direct and PhoneX: URL, headers, timeouts ---------------------------------------------
@responses.activate
def test_direct_route_sends_the_api_key_and_a_request_id(settings):
    settings.SUPPLIER_TRANSPORT = "direct"
    responses.get(f"{DIRECT_BASE}/v1/orders/WSC-7F3A91", json=ORDER)
    responses.get(f"{DIRECT_BASE}/v1/orders/WSC-7F3A91", json=ORDER)

    adapter = get_adapter("wesellcellular")
    adapter.get_order("WSC-7F3A91")
    adapter.get_order("WSC-7F3A91")

    first, second = (call.request for call in responses.calls)
    assert first.url == f"{DIRECT_BASE}/v1/orders/WSC-7F3A91"
    assert first.headers["Authorization"] == f"Bearer {API_KEY}"
    assert "X-PhoneX-Tenant" not in first.headers
    assert "Content-Type" not in first.headers  # no body, no content type
    assert uuid.UUID(first.headers["X-Request-ID"]).version == 4
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert first.req_kwargs["timeout"] == (2.5, 9.0)


@responses.activate
def test_phonex_route_relays_to_the_supplier_tenant_with_our_tenant_header(settings):
    settings.SUPPLIER_TRANSPORT = "phonex"
    responses.get(f"{RELAY_BASE}/v1/orders/WSC-7F3A91", json=ORDER)

    get_adapter("wesellcellular").get_order("WSC-7F3A91")

    request = responses.calls[0].request
    assert request.url == "https://api.phonex.example/v1/tenants/wsc/relay/v1/orders/WSC-7F3A91"
    assert request.headers["Authorization"] == f"Bearer {STATIC_TOKEN}"
    assert request.headers["X-PhoneX-Tenant"] == "phoneexport"


def test_each_transport_has_one_pooled_session_without_automatic_retries():
    transport = DirectTransport(base_url=DIRECT_BASE, api_key=API_KEY, connect_timeout=1,
                                read_timeout=1)
    for prefix in ("https://", "http://"):
        http_adapter = transport._session.get_adapter(f"{prefix}example")
        assert http_adapter._pool_maxsize == POOL_SIZE
        assert http_adapter.max_retries.total == 0


def test_the_adapter_and_its_session_are_reused_until_settings_change(settings):
    adapter = get_adapter("wesellcellular")
    assert get_adapter("wesellcellular") is adapter
    settings.WESELLCELLULAR_API_KEY = "another-key"
    assert get_adapter("wesellcellular") is not adapter


@pytest.mark.parametrize("route, setting", [("direct", "WESELLCELLULAR_API_KEY"),
                                            ("direct", "WESELLCELLULAR_API_URL"),
                                            ("phonex", "PHONEX_TENANT_ID"),
                                            ("phonex", "PHONEX_SUPPLIER_TENANT_ID"),
                                            ("phonex", "PHONEX_API_TOKEN")])
def test_missing_settings_stop_every_call_and_name_the_setting(settings, route, setting):
    settings.SUPPLIER_TRANSPORT = route
    setattr(settings, setting, "")
    adapter = get_adapter("wesellcellular")  # building it does not fail

    with pytest.raises(SupplierAuthError, match=setting):
        adapter.get_order("WSC-1")


def test_half_configured_client_credentials_name_the_missing_secret(client_credentials):
    client_credentials.PHONEX_CLIENT_SECRET = ""

    with pytest.raises(SupplierAuthError, match="PHONEX_CLIENT_SECRET"):
        get_adapter("wesellcellular").get_order("WSC-1")


def test_a_supplier_can_be_asked_for_on_another_route_than_the_default(settings):
    settings.SUPPLIER_TRANSPORT = "direct"

    assert get_adapter("wesellcellular").transport.route == "direct"
    assert get_adapter("wesellcellular", route="phonex").transport.route == "phonex"
    with pytest.raises(ImproperlyConfigured, match="'manual'"):
        get_adapter("wesellcellular", route="manual")


def test_an_unknown_supplier_slug_is_a_clear_error():
    with pytest.raises(ImproperlyConfigured, match="'acme'.*wesellcellular"):
        get_adapter("acme")


@responses.activate
def test_whitespace_around_a_credential_setting_is_dropped(settings):
    settings.WESELLCELLULAR_API_KEY = f" {API_KEY}\n"
    responses.get(f"{DIRECT_BASE}/v1/orders/WSC-7F3A91", json=ORDER)

    get_adapter("wesellcellular").get_order("WSC-7F3A91")

    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {API_KEY}"


@responses.activate
def test_a_credential_holding_a_line_break_is_refused_without_quoting_it(settings):
    settings.WESELLCELLULAR_API_KEY = f"{API_KEY}\nX-Injected: 1"

    with pytest.raises(SupplierAuthError) as raised:
        get_adapter("wesellcellular").get_order("WSC-1")

    assert API_KEY not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert len(responses.calls) == 0


@pytest.mark.parametrize("value, expected", [("30", 30.0), ("0", 0.0), ("-5", 0.0),
                                             ("1.5", 1.5), ("soon", None), ("", None),
                                             (None, None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_retry_after_is_read_in_seconds_or_as_an_http_date(value, expected):
    assert parse_retry_after(value) == expected


def test_retry_after_as_a_future_http_date_counts_the_seconds_left():
    in_two_minutes = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)

    assert 100 < parse_retry_after(in_two_minutes) <= 120


# --- PhoneX client-credentials token -------------------------------------------------------
@responses.activate
def test_token_is_fetched_with_basic_auth_and_reused_across_calls_and_processes(
        client_credentials):
    responses.post(TOKEN_URL, json=token_answer("token-one"))
    responses.get(f"{RELAY_BASE}/v1/orders/WSC-7F3A91", json=ORDER)

    get_adapter("wesellcellular").get_order("WSC-7F3A91")
    get_adapter("wesellcellular").get_order("WSC-7F3A91")
    # Another worker process builds its own adapter but shares the cache.
    another_process = WeSellCellularAdapter.from_settings()
    another_process.get_order("WSC-7F3A91")

    token_calls = calls_to(TOKEN_URL)
    assert len(token_calls) == 1
    token_request = token_calls[0].request
    expected_basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token_request.headers["Authorization"] == f"Basic {expected_basic}"
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_request.body) == {"grant_type": ["client_credentials"]}
    api_calls = calls_to(RELAY_BASE)
    assert len(api_calls) == 3
    assert {call.request.headers["Authorization"] for call in api_calls} == {"Bearer token-one"}


@responses.activate
def test_token_is_renewed_shortly_before_it_expires(client_credentials):
    now = [1_000_000.0]
    token_source = ClientCredentialsToken(token_url=TOKEN_URL, client_id=CLIENT_ID,
                                          client_secret=CLIENT_SECRET, connect_timeout=1,
                                          read_timeout=1, clock=lambda: now[0])
    responses.post(TOKEN_URL, json=token_answer("token-one", expires_in=3600))
    responses.post(TOKEN_URL, json=token_answer("token-two", expires_in=3600))

    assert token_source.token() == "token-one"
    now[0] += 3000
    assert token_source.token() == "token-one"
    now[0] += 570  # 30 s before expiry: inside the renewal margin
    assert token_source.token() == "token-two"
    assert len(calls_to(TOKEN_URL)) == 2


@responses.activate
def test_a_401_renews_the_token_once_and_retries_the_call_once(client_credentials):
    responses.post(TOKEN_URL, json=token_answer("revoked-token"))
    responses.post(TOKEN_URL, json=token_answer("fresh-token"))
    responses.get(f"{RELAY_BASE}/v1/orders/WSC-7F3A91", status=401)
    responses.get(f"{RELAY_BASE}/v1/orders/WSC-7F3A91", json=ORDER)

    order = get_adapter("wesellcellular").get_order("WSC-7F3A91")

    assert order.supplier_order_id == "WSC-7F3A91"
    assert [call.request.headers["Authorization"] for call in calls_to(RELAY_BASE)] == [
        "Bearer revoked-token", "Bearer fresh-token"]
    assert len(calls_to(TOKEN_URL)) == 2
    # The fresh token is the one kept for the next call.
    responses.get(f"{RELAY_BASE}/v1/orders/WSC-7F3A91", json=ORDER)
    get_adapter("wesellcellular").get_order("WSC-7F3A91")
    assert calls_to(RELAY_BASE)[-1].request.headers["Authorization"] == "Bearer fresh-token"


@responses.activate
def test_a_second_401_after_renewal_is_an_auth_error(client_credentials):
    responses.post(TOKEN_URL, json=token_answer("token-one"))
    responses.post(TOKEN_URL, json=token_answer("token-two"))
    responses.get(f"{RELAY_BASE}/v1/orders/WSC-7F3A91", status=401)

    with pytest.raises(SupplierAuthError):
        get_adapter("wesellcellular").get_order("WSC-7F3A91")

    assert len(calls_to(RELAY_BASE)) == 2
    assert len(calls_to(TOKEN_URL)) == 2


@responses.activate
def test_a_401_with_a_static_token_is_not_retried(settings):
    settings.SUPPLIER_TRANSPORT = "phonex"
    responses.get(f"{RELAY_BASE}/v1/orders/WSC-7F3A91", status=401)

    with pytest.raises(SupplierAuthError):
        get_adapter("wesellcellular").get_order("WSC-7F3A91")

    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize("status", [400, 401, 403])
def test_refused_client_credentials_are_an_auth_error(client_credentials, status):
    responses.post(TOKEN_URL, status=status, json={"error": "invalid_client"})

    with pytest.raises(SupplierAuthError, match="PHONEX_CLIENT_ID"):
        get_adapter("wesellcellular").get_order("WSC-1")

    assert calls_to(RELAY_BASE) == []


@responses.activate
@pytest.mark.parametrize("failure", [
    {"status": 500, "body": "oops"},
    {"status": 503, "headers": {"Retry-After": "12"}, "body": ""},
    {"body": requests.exceptions.ConnectTimeout()},
    {"body": requests.exceptions.ConnectionError()},
    {"status": 200, "body": "<html>not a token</html>"},
])
def test_token_endpoint_failures_are_transient(client_credentials, failure):
    responses.add(responses.POST, TOKEN_URL, **failure)

    with pytest.raises(TransientSupplierError) as raised:
        get_adapter("wesellcellular").get_order("WSC-1")

    assert raised.value.retry_after == (12.0 if failure.get("status") == 503 else None)


@pytest.mark.parametrize("token_url", ["http://auth.phonex.example/oauth2/token",
                                       "ftp://127.0.0.1/oauth2/token"])
def test_a_token_url_off_this_machine_must_use_https(client_credentials, token_url):
    client_credentials.PHONEX_TOKEN_URL = token_url

    with pytest.raises(SupplierAuthError, match="https"):
        get_adapter("wesellcellular").get_order("WSC-1")


@responses.activate
@pytest.mark.parametrize("host", ["127.0.0.1:8001", "localhost:8001", "[::1]:8001"])
def test_a_plain_http_token_url_on_this_machine_is_accepted(client_credentials, monkeypatch,
                                                            host):
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    client_credentials.PHONEX_TOKEN_URL = f"http://{host}/oauth2/token"
    responses.post(f"http://{host}/oauth2/token", json=token_answer("local-token"))
    responses.get(f"{RELAY_BASE}/v1/orders/WSC-7F3A91", json=ORDER)

    get_adapter("wesellcellular").get_order("WSC-7F3A91")

    assert responses.calls[-1].request.headers["Authorization"] == "Bearer local-token"


# --- Logs ----------------------------------------------------------------------------------
@responses.activate
def test_logs_show_each_call_but_never_a_key_token_or_secret(client_credentials, caplog):
    caplog.set_level(logging.DEBUG)
    client_credentials.WESELLCELLULAR_API_KEY = API_KEY
    responses.post(TOKEN_URL, json=token_answer("access-token-77aa"))
    responses.post(TOKEN_URL, json=token_answer("access-token-88bb"))
    responses.get(f"{RELAY_BASE}/v1/orders/WSC-7F3A91", status=401)
    responses.get(f"{RELAY_BASE}/v1/orders/WSC-7F3A91", json=ORDER)
    responses.get(f"{DIRECT_BASE}/v1/orders/WSC-7F3A91", body=requests.exceptions.ReadTimeout())

    get_adapter("wesellcellular").get_order("WSC-7F3A91")
    with pytest.raises(TransientSupplierError):
        get_adapter("wesellcellular", route="direct").get_order("WSC-7F3A91")

    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "supplier_request" in logged and "/v1/orders/WSC-7F3A91" in logged
    assert "supplier_request_failed" in logged
    for secret in (API_KEY, CLIENT_SECRET, "access-token-77aa", "access-token-88bb",
                   base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()):
        assert secret not in logged


def test_the_supplier_tenant_is_quoted_into_the_relay_url():
    transport = PhoneXTransport(api_url="https://api.phonex.example/", tenant_id="phoneexport",
                                supplier_tenant_id="w s/c", token_source=StaticToken("t"),
                                connect_timeout=1, read_timeout=1)

    assert transport.base_url == "https://api.phonex.example/v1/tenants/w%20s%2Fc/relay"
