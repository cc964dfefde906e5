"""The sandbox supplier over real HTTP: the supplier contract on both routes, its clock, its
webhooks and its fault knobs. No database: the sandbox runs in-process on a free port."""

import base64
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from suppliers.sandbox import SandboxConfig, SandboxSupplier
from suppliers.sandbox.catalogue import Catalogue, STANDARD_GRADES
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "test-wsc-api-key"
PHONEX_TOKEN = "test-phonex-static-token"
CLIENT_ID = "test-client"
CLIENT_SECRET = "test-client-secret"
TENANT_ID = "phoneexport-test"
SUPPLIER_TENANT_ID = "wsc-test"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
ITEM_FIELDS = {"sku", "manufacturer", "model", "storage_gb", "color", "grade", "carrier",
               "warehouse", "quantity", "unit_price", "currency", "updated_at"}
ORDER_FIELDS = {"id", "external_reference", "status", "version", "lines", "shipments", "created_at",
                "updated_at"}
MONEY = re.compile(r"^\d+\.\d{2}$")
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ADDRESS = {"company": "Acme Mobile LLC", "name": "Jane Roe", "phone": "+1 555 0100",
           "line1": "1 Main St", "line2": "", "city": "Miami", "region": "FL",
           "postal_code": "33101", "country": "US"}


def sandbox_config(**overrides: Any) -> SandboxConfig:
    settings = dict(api_key=API_KEY, phonex_api_token=PHONEX_TOKEN, phonex_client_id=CLIENT_ID,
                    phonex_client_secret=CLIENT_SECRET, phonex_tenant_id=TENANT_ID,
                    phonex_supplier_tenant_id=SUPPLIER_TENANT_ID, webhook_secret=WEBHOOK_SECRET,
                    skus=300, seed=7, webhook_backoff_seconds=0.05,
                    webhook_reorder_max_hold_seconds=0.5)
    return SandboxConfig(**{**settings, **overrides})


@pytest.fixture
def start_sandbox():
    """Start sandboxes with config overrides; every one is stopped after the test."""
    started: list[SandboxSupplier] = []

    def start(**overrides: Any) -> SandboxSupplier:
        sandbox = SandboxSupplier(sandbox_config(**overrides)).start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(start_sandbox) -> SandboxSupplier:
    return start_sandbox()


@dataclass
class ReceivedWebhook:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class WebhookReceiver:
    """A local endpoint that records every webhook and answers with the next planned status."""

    def __init__(self) -> None:
        self.received: list[ReceivedWebhook] = []
        self.planned_statuses: list[int] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    receiver.received.append(ReceivedWebhook(headers=headers, body=body))
                    status = receiver.planned_statuses.pop(0) if receiver.planned_statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read `received` instead."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/webhooks/suppliers/wesellcellular/"

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [webhook.event for webhook in self.received]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


class SupplierClient:
    """Plain `requests` calls on one route, with that route's headers."""

    def __init__(self, sandbox: SandboxSupplier, route: str = "direct", token: str = PHONEX_TOKEN):
        self.session = requests.Session()
        if route == "direct":
            self.base_url = sandbox.base_url
            self.session.headers["Authorization"] = f"Bearer {API_KEY}"
        else:
            self.base_url = sandbox.phonex_base_url
            self.session.headers.update({"Authorization": f"Bearer {token}",
                                         "X-PhoneX-Tenant": TENANT_ID})

    def get(self, path: str, *, timeout: float = 10, **kwargs: Any) -> requests.Response:
        return self.session.get(self.base_url + path, timeout=timeout, **kwargs)

    def post(self, path: str, body: Any = None, *, key: str | None = None) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.session.post(self.base_url + path, json=body, headers=headers, timeout=10)


def in_stock_items(sandbox: SandboxSupplier, count: int = 1, *, min_quantity: int = 5) -> list[Any]:
    items = [item for item in sandbox.catalogue if item.quantity >= min_quantity][:count]
    assert len(items) == count, "the test catalogue has too few items in stock"
    return items


def order_body(items: list[Any], *, quantities: list[int] | None = None,
               reference: str = "PE-000123") -> dict[str, Any]:
    quantities = quantities or [1] * len(items)
    return {"external_reference": reference, "ship_to": dict(ADDRESS), "shipping_method": "ground",
            "lines": [{"sku": item.sku, "quantity": quantity,
                       "unit_price": f"{item.unit_price:.2f}"}
                      for item, quantity in zip(items, quantities)],
            "notes": ""}


def place(client: SupplierClient, items: list[Any], *, key: str = "key-1",
          **body_options: Any) -> dict:
    response = client.post("/v1/orders", order_body(items, **body_options), key=key)
    assert response.status_code == 201, response.text
    return response.json()


def admin(sandbox: SandboxSupplier, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{sandbox.base_url}/_sandbox/{path}", json=body, timeout=10)


def luhn_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def error_code(response: requests.Response) -> str:
    return response.json()["error"]["code"]


# --- Authentication on both routes ----------------------------------------------------------

def test_direct_route_requires_the_api_key(sandbox):
    url = f"{sandbox.base_url}/v1/inventory"
    missing = requests.get(url, timeout=10)
    wrong = requests.get(url, headers={"Authorization": "Bearer not-the-key"}, timeout=10)
    right = requests.get(url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10)

    assert missing.status_code == wrong.status_code == 401
    assert error_code(missing) == "unauthorized" and missing.json()["error"]["message"]
    assert right.status_code == 200


def test_phonex_route_checks_token_then_tenants(sandbox):
    url = f"{sandbox.phonex_base_url}/v1/inventory"
    good = {"Authorization": f"Bearer {PHONEX_TOKEN}", "X-PhoneX-Tenant": TENANT_ID}

    assert requests.get(url, headers=good, timeout=10).status_code == 200
    def status_with(headers: dict[str, str]) -> int:
        return requests.get(url, headers=headers, timeout=10).status_code

    assert status_with({**good, "Authorization": "Bearer wrong"}) == 401
    assert status_with({**good, "Authorization": f"Bearer {API_KEY}"}) == 401
    assert status_with({"Authorization": good["Authorization"]}) == 403
    wrong_tenant = requests.get(url, headers={**good, "X-PhoneX-Tenant": "someone-else"},
                                timeout=10)
    assert wrong_tenant.status_code == 403 and error_code(wrong_tenant) == "forbidden"
    other_supplier = requests.get(f"{sandbox.base_url}/v1/tenants/other/relay/v1/inventory",
                                  headers=good, timeout=10)
    assert other_supplier.status_code == 403


def test_token_endpoint_issues_tokens_by_basic_auth_or_form(sandbox):
    issued = requests.post(sandbox.token_url, data={"grant_type": "client_credentials"},
                           auth=(CLIENT_ID, CLIENT_SECRET), timeout=10)
    in_form = requests.post(sandbox.token_url, data={"grant_type": "client_credentials",
                                                     "client_id": CLIENT_ID,
                                                     "client_secret": CLIENT_SECRET}, timeout=10)
    bad_client = requests.post(sandbox.token_url, data={"grant_type": "client_credentials"},
                               auth=(CLIENT_ID, "wrong"), timeout=10)
    bad_grant = requests.post(sandbox.token_url, data={"grant_type": "password"},
                              auth=(CLIENT_ID, CLIENT_SECRET), timeout=10)

    assert issued.status_code == 200 and in_form.status_code == 200
    token = issued.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600 and token["access_token"]
    assert bad_client.status_code == 401 and bad_client.json() == {"error": "invalid_client"}
    assert bad_grant.status_code == 400 and bad_grant.json() == {"error": "unsupported_grant_type"}
    assert sandbox.tokens_issued == 2
    client = SupplierClient(sandbox, "phonex", token=token["access_token"])
    assert client.get("/v1/inventory").status_code == 200


def test_issued_token_expires_and_a_new_one_works(start_sandbox):
    sandbox = start_sandbox(token_lifetime=1)

    def fetch_token() -> str:
        answer = requests.post(sandbox.token_url, data={"grant_type": "client_credentials"},
                               auth=(CLIENT_ID, CLIENT_SECRET), timeout=10)
        assert answer.json()["expires_in"] == 1
        return answer.json()["access_token"]

    first = SupplierClient(sandbox, "phonex", token=fetch_token())
    assert first.get("/v1/inventory", params={"limit": 1}).status_code == 200
    time.sleep(1.2)
    assert first.get("/v1/inventory", params={"limit": 1}).status_code == 401
    renewed = SupplierClient(sandbox, "phonex", token=fetch_token())
    assert renewed.get("/v1/inventory", params={"limit": 1}).status_code == 200
    assert sandbox.tokens_issued == 2


def test_expiring_tokens_on_demand_leaves_the_static_token_working(sandbox):
    token = requests.post(sandbox.token_url, data={"grant_type": "client_credentials"},
                          auth=(CLIENT_ID, CLIENT_SECRET), timeout=10).json()["access_token"]

    assert admin(sandbox, "POST", "tokens/expire").json() == {"expired": 1}
    assert SupplierClient(sandbox, "phonex", token=token).get("/v1/inventory").status_code == 401
    assert SupplierClient(sandbox, "phonex").get("/v1/inventory").status_code == 200


# --- Catalogue ------------------------------------------------------------------------------

def test_inventory_pages_through_every_sku_once(start_sandbox):
    sandbox = start_sandbox(skus=10_000)
    client = SupplierClient(sandbox)
    seen: list[str] = []
    cursor, pages = None, 0
    while True:
        page = client.get("/v1/inventory", params={"limit": 1000, "cursor": cursor}).json()
        pages += 1
        seen += [item["sku"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 10
    assert len(seen) == len(set(seen)) == 10_000
    assert set(seen) == {item.sku for item in sandbox.catalogue}
    item = page["items"][0]
    assert set(item) == ITEM_FIELDS
    assert MONEY.match(item["unit_price"]) and RFC3339_UTC.match(item["updated_at"])
    assert item["currency"] == "USD" and isinstance(item["quantity"], int)


def test_inventory_limit_defaults_to_500_and_is_capped(start_sandbox):
    sandbox = start_sandbox(skus=2500)
    client = SupplierClient(sandbox)

    assert len(client.get("/v1/inventory").json()["items"]) == 500
    assert len(client.get("/v1/inventory", params={"limit": 5000}).json()["items"]) == 1000
    sandbox.set_faults(inventory_page_cap=7)
    capped = client.get("/v1/inventory", params={"limit": 100}).json()
    assert len(capped["items"]) == 7 and capped["next_cursor"]


def test_inventory_rejects_bad_limit_cursor_and_time(sandbox):
    client = SupplierClient(sandbox)
    bad_params = [{"limit": "0"}, {"limit": "-1"}, {"limit": "ten"}, {"cursor": "not-a-cursor"},
                  {"updated_since": "yesterday"}, {"updated_since": "2026-11-24T15:04:05"}]

    for params in bad_params:
        answer = client.get("/v1/inventory", params=params)
        assert answer.status_code == 422 and error_code(answer) == "invalid_request", params


def test_updated_since_returns_only_changed_items(sandbox):
    client = SupplierClient(sandbox)
    since = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    changed = sandbox.mutate_catalogue(0.1, notify=False)

    seen, cursor = [], None
    while True:
        page = client.get("/v1/inventory", params={"limit": 7, "cursor": cursor,
                                                   "updated_since": since}).json()
        seen += page["items"]
        if (cursor := page["next_cursor"]) is None:
            break

    assert len(changed) == 30
    assert [item["sku"] for item in seen] == [item["sku"] for item in changed]
    assert all(item["updated_at"] >= since for item in seen)
    assert seen == changed


def test_catalogue_is_deterministic_realistic_and_consistently_priced():
    catalogue = Catalogue.generate(size=20_000, seed=11)
    again = Catalogue.generate(size=20_000, seed=11)
    other_seed = Catalogue.generate(size=20_000, seed=12)

    assert [(i.sku, i.unit_price, i.quantity) for i in catalogue] == \
        [(i.sku, i.unit_price, i.quantity) for i in again]
    assert [i.sku for i in catalogue] != [i.sku for i in other_seed]
    assert {item.manufacturer for item in catalogue} == {"Apple", "Samsung", "Google"}
    assert {item.grade for item in catalogue} == set(STANDARD_GRADES)
    assert {item.carrier for item in catalogue} == {"Unlocked", "AT&T", "Verizon", "T-Mobile"}
    assert {item.warehouse for item in catalogue} == {"wsc-direct", "supplier-direct"}
    assert re.match(r"^APL-IP\d+\w*-\d+-[A-Z]{3}-(AP|A|BP|B|C|D)-(UNL|ATT|VZW|TMO)(-SD)?$",
                    next(item.sku for item in catalogue if item.manufacturer == "Apple"))
    grade_rank = {grade: rank for rank, grade in enumerate(STANDARD_GRADES)}
    by_grade: dict[tuple, list] = {}
    by_storage: dict[tuple, list] = {}
    for item in catalogue:
        by_grade.setdefault((item.model, item.storage_gb, item.color, item.carrier, item.warehouse),
                            []).append(item)
        by_storage.setdefault((item.model, item.color, item.grade, item.carrier, item.warehouse),
                              []).append(item)
    for items in by_grade.values():
        best_first = sorted(items, key=lambda item: grade_rank[item.grade])
        prices = [item.unit_price for item in best_first]
        assert prices == sorted(prices, reverse=True) and len(set(prices)) == len(prices)
    for items in by_storage.values():
        prices = [item.unit_price for item in sorted(items, key=lambda item: item.storage_gb)]
        assert prices == sorted(prices) and len(set(prices)) == len(prices)


def test_unusual_grades_appear_rarely_when_asked():
    catalogue = Catalogue.generate(size=3000, seed=1, unusual_grades=True)
    grades = Counter(item.grade for item in catalogue)

    assert 0 < grades["AB"] + grades["Functional"] < 300


def test_a_100k_sku_catalogue_is_generated_and_served(start_sandbox):
    sandbox = start_sandbox(skus=100_000)
    skus = [item.sku for item in sandbox.catalogue]
    page = SupplierClient(sandbox).get("/v1/inventory", params={"limit": 1000}).json()

    assert len(skus) == len(set(skus)) == 100_000
    assert [item["sku"] for item in page["items"]] == skus[:1000]


# --- Placing orders -------------------------------------------------------------------------

def test_place_order_reserves_stock_and_answers_the_order(sandbox):
    item = in_stock_items(sandbox)[0]
    stock_before = item.quantity

    order = place(SupplierClient(sandbox), [item], quantities=[3])

    assert set(order) == ORDER_FIELDS
    assert re.match(r"^WSC-[0-9A-F]{6}$", order["id"])
    assert order["status"] == "received" and order["version"] == 1
    assert order["lines"] == [{"sku": item.sku, "quantity": 3,
                               "unit_price": f"{item.unit_price:.2f}", "quantity_shipped": 0}]
    assert order["shipments"] == [] and RFC3339_UTC.match(order["created_at"])
    assert item.quantity == stock_before - 3


def test_same_key_replays_and_a_different_body_conflicts(sandbox):
    client = SupplierClient(sandbox)
    items = in_stock_items(sandbox, 2)
    first = place(client, items[:1])

    replay = client.post("/v1/orders", order_body(items[:1]), key="key-1")
    conflict = client.post("/v1/orders", order_body(items[1:]), key="key-1")

    assert replay.status_code == 200 and replay.json() == first
    assert conflict.status_code == 409 and error_code(conflict) == "idempotency_conflict"
    state = sandbox.snapshot()
    assert state["orders_by_idempotency_key"] == {"key-1": first["id"]}
    assert state["idempotency_key_hits"] == {"key-1": 3}
    assert state["orders_by_reference"] == {"PE-000123": [first["id"]]}


def test_idempotency_keys_are_scoped_per_route(sandbox):
    items = in_stock_items(sandbox)
    direct = place(SupplierClient(sandbox), items)
    through_phonex = place(SupplierClient(sandbox, "phonex"), items)

    assert direct["id"] != through_phonex["id"]
    assert sandbox.snapshot()["idempotency_keys_by_route"] == {
        "direct": {"key-1": direct["id"]}, f"phonex:{TENANT_ID}": {"key-1": through_phonex["id"]}}


def test_concurrent_posts_with_one_key_create_one_order(sandbox):
    client_body = order_body(in_stock_items(sandbox))
    statuses: list[int] = []
    order_ids: set[str] = set()
    lock = threading.Lock()

    def post() -> None:
        answer = SupplierClient(sandbox).post("/v1/orders", client_body, key="shared-key")
        with lock:
            statuses.append(answer.status_code)
            order_ids.add(answer.json()["id"])

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] * 7 + [201]
    assert len(order_ids) == 1 and len(sandbox.state.orders) == 1


def _unknown_sku(body, item):
    body["lines"][0]["sku"] = "APL-NOPE-1-XXX-A-UNL"


def _price_changed(body, item):
    body["lines"][0]["unit_price"] = f"{item.unit_price - 1:.2f}"


def _insufficient_stock(body, item):
    body["lines"][0]["quantity"] = item.quantity + 1


def _missing_city(body, item):
    del body["ship_to"]["city"]


def _three_letter_country(body, item):
    body["ship_to"]["country"] = "USA"


def _zero_quantity(body, item):
    body["lines"][0]["quantity"] = 0


def _float_price(body, item):
    body["lines"][0]["unit_price"] = float(item.unit_price)


def _no_lines(body, item):
    body["lines"] = []


@pytest.mark.parametrize("break_body, code", [
    (_unknown_sku, "unknown_sku"),
    (_price_changed, "price_changed"),
    (_insufficient_stock, "insufficient_stock"),
    (_missing_city, "invalid_address"),
    (_three_letter_country, "invalid_address"),
    (_zero_quantity, "invalid_request"),
    (_float_price, "invalid_request"),
    (_no_lines, "invalid_request"),
])
def test_refused_orders_answer_422_and_change_nothing(sandbox, break_body, code):
    item = in_stock_items(sandbox)[0]
    stock_before = item.quantity
    body = order_body([item])
    break_body(body, item)

    answer = SupplierClient(sandbox).post("/v1/orders", body, key="key-1")

    assert answer.status_code == 422 and error_code(answer) == code, answer.text
    assert item.quantity == stock_before and not sandbox.state.orders
    assert sandbox.snapshot()["orders_by_idempotency_key"] == {}


def test_stock_and_price_refusals_carry_the_current_values(sandbox):
    item = in_stock_items(sandbox)[0]
    client = SupplierClient(sandbox)
    too_many = order_body([item], quantities=[item.quantity + 5])
    stale_price = order_body([item])
    stale_price["lines"][0]["unit_price"] = "1.00"

    stock = client.post("/v1/orders", too_many, key="a").json()["error"]
    price = client.post("/v1/orders", stale_price, key="b").json()["error"]

    current = {"sku": item.sku, "available": item.quantity, "unit_price": f"{item.unit_price:.2f}"}
    assert stock["details"] == [current] and price["details"] == [current]


def test_malformed_requests_are_invalid_requests(sandbox):
    client = SupplierClient(sandbox)
    body = order_body(in_stock_items(sandbox))

    no_key = client.post("/v1/orders", body)
    long_key = client.post("/v1/orders", body, key="k" * 256)
    not_json = client.session.post(f"{client.base_url}/v1/orders", data=b"{not json",
                                   headers={"Idempotency-Key": "k",
                                            "Content-Type": "application/json"}, timeout=10)

    codes = [error_code(answer) for answer in (no_key, long_key, not_json)]
    assert codes == ["invalid_request"] * 3
    assert client.post("/v1/orders", body, key="k" * 255).status_code == 201


# --- Reading, finding and cancelling --------------------------------------------------------

def test_read_and_find_orders(sandbox):
    client = SupplierClient(sandbox)
    items = in_stock_items(sandbox, 2)
    first = place(client, items[:1], key="a")
    second = place(client, items[1:], key="b")

    assert client.get(f"/v1/orders/{first['id']}").json() == first
    missing = client.get("/v1/orders/WSC-000000")
    assert missing.status_code == 404 and error_code(missing) == "not_found"
    found = client.get("/v1/orders", params={"external_reference": "PE-000123"}).json()
    assert [order["id"] for order in found["items"]] == [first["id"], second["id"]]
    unknown = client.get("/v1/orders", params={"external_reference": "PE-NONE"})
    assert unknown.json() == {"items": []}


def test_cancel_returns_stock_and_is_idempotent(sandbox):
    client = SupplierClient(sandbox)
    item = in_stock_items(sandbox)[0]
    stock_before = item.quantity
    order = place(client, [item], quantities=[2])

    cancelled = client.post(f"/v1/orders/{order['id']}/cancel", key="cancel-1")
    again = client.post(f"/v1/orders/{order['id']}/cancel", key="cancel-1")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["version"] == 2
    assert again.status_code == 200 and again.json() == cancelled.json()
    assert item.quantity == stock_before
    assert error_code(client.post(f"/v1/orders/{order['id']}/cancel")) == "invalid_request"
    assert client.post("/v1/orders/WSC-000000/cancel", key="x").status_code == 404


def test_cancel_is_refused_once_a_unit_shipped(sandbox):
    client = SupplierClient(sandbox)
    order = place(client, in_stock_items(sandbox), quantities=[2])
    for status in ("accepted", "processing", "partially_shipped"):
        sandbox.advance_order(order["id"], status)

    refused = client.post(f"/v1/orders/{order['id']}/cancel", key="cancel-1")

    assert refused.status_code == 409 and error_code(refused) == "not_cancellable"
    assert client.get(f"/v1/orders/{order['id']}").json()["status"] == "partially_shipped"


# --- Lifecycle ------------------------------------------------------------------------------

def test_advance_endpoint_walks_the_happy_path_with_shipments_and_imeis(sandbox):
    client = SupplierClient(sandbox)
    order = place(client, in_stock_items(sandbox, 2), quantities=[2, 1])

    steps = [admin(sandbox, "POST", f"orders/{order['id']}/advance").json() for _ in range(5)]
    final = admin(sandbox, "POST", f"orders/{order['id']}/advance")

    assert [step["status"] for step in steps] == [
        "accepted", "processing", "partially_shipped", "shipped", "delivered"]
    assert [step["version"] for step in steps] == [2, 3, 4, 5, 6]
    units_shipped = [sum(line["quantity_shipped"] for line in step["lines"]) for step in steps]
    assert units_shipped == [0, 0, 1, 3, 3]
    assert final.status_code == 409 and error_code(final) == "invalid_transition"
    delivered = client.get(f"/v1/orders/{order['id']}").json()
    assert delivered == steps[-1] and len(delivered["shipments"]) == 2
    imeis = []
    for shipment in delivered["shipments"]:
        assert shipment["id"].startswith("SHP-")
        assert shipment["carrier"] in {"UPS", "FedEx", "USPS", "DHL"}
        assert shipment["tracking_number"] and RFC3339_UTC.match(shipment["shipped_at"])
        for line in shipment["lines"]:
            assert len(line["imeis"]) == line["quantity"]
            imeis += line["imeis"]
    assert len(imeis) == len(set(imeis)) == 3
    assert all(len(imei) == 15 and imei.isdigit() and luhn_valid(imei) for imei in imeis)


def test_advance_refuses_transitions_the_diagram_lacks(sandbox):
    order = place(SupplierClient(sandbox), in_stock_items(sandbox))

    for status in ("shipped", "backordered", "delivered", "lost"):
        answer = admin(sandbox, "POST", f"orders/{order['id']}/advance", {"status": status})
        assert answer.status_code == 409 and error_code(answer) == "invalid_transition"
    admin(sandbox, "POST", f"orders/{order['id']}/advance", {"status": "accepted"})
    sandbox.advance_order(order["id"], "processing")
    partial = admin(sandbox, "POST", f"orders/{order['id']}/advance",
                    {"status": "partially_shipped"})
    assert partial.status_code == 409
    assert admin(sandbox, "POST", "orders/WSC-000000/advance").status_code == 404


def test_hold_backorder_and_rejection_carry_their_fields(sandbox):
    client = SupplierClient(sandbox)
    item = in_stock_items(sandbox)[0]
    stock_before = item.quantity
    order = place(client, [item], key="a")

    def advance(body: dict | None = None) -> dict:
        return admin(sandbox, "POST", f"orders/{order['id']}/advance", body).json()

    held = advance({"status": "on_hold", "hold_reason": "awaiting_shipping_quote",
                    "hold_message": "Freight quote sent."})
    released = advance()
    accepted = advance()
    backordered = advance({"status": "backordered", "expected_at": "2030-01-15T00:00:00Z"})
    processing = advance()

    assert held["hold_reason"] == "awaiting_shipping_quote"
    assert held["hold_message"] == "Freight quote sent."
    assert released["status"] == "received" and "hold_reason" not in released
    assert accepted["status"] == "accepted"
    assert backordered["expected_at"] == "2030-01-15T00:00:00Z"
    assert processing["status"] == "processing" and "expected_at" not in processing

    rejected_order = place(client, [item], key="b", reference="PE-2")
    rejected = sandbox.advance_order(rejected_order["id"], "rejected",
                                     reason="Credit limit exceeded.")
    assert rejected["reason"] == "Credit limit exceeded."
    assert item.quantity == stock_before - 1
    on_hold = place(client, [item], key="c", reference="PE-3")
    sandbox.advance_order(on_hold["id"], "on_hold")
    assert sandbox.advance_order(on_hold["id"], "cancelled")["status"] == "cancelled"


def test_orders_advance_on_the_clock(start_sandbox, receiver):
    sandbox = start_sandbox(tick_seconds=0.05, webhook_url=receiver.url)
    order = place(SupplierClient(sandbox), in_stock_items(sandbox), quantities=[2])

    wait_until(lambda: sandbox.order(order["id"])["status"] == "delivered", timeout=10)
    assert sandbox.wait_for_webhooks(timeout=10)

    assert [event["type"] for event in receiver.events()] == [
        "order.accepted", "order.processing", "order.partially_shipped", "order.shipped",
        "order.delivered"]
    assert [event["data"]["order"]["version"] for event in receiver.events()] == [2, 3, 4, 5, 6]


def test_detour_rates_shape_the_lifecycle_deterministically(start_sandbox):
    def final_statuses() -> list[tuple[str, str]]:
        sandbox = start_sandbox(rejection_rate=0.3, backorder_rate=0.3, hold_rate=0.3)
        client = SupplierClient(sandbox)
        items = in_stock_items(sandbox, 20)
        orders = [place(client, [item], key=f"k{number}") for number, item in enumerate(items)]
        while sandbox.tick():
            continue
        return [(order["id"], sandbox.order(order["id"])["status"]) for order in orders]

    first_run = final_statuses()

    assert first_run == final_statuses()
    assert {status for _, status in first_run} == {"rejected", "delivered"}


def test_clock_rates_send_orders_through_holds(start_sandbox, receiver):
    sandbox = start_sandbox(tick_seconds=0.05, hold_rate=1.0, webhook_url=receiver.url)
    order = place(SupplierClient(sandbox), in_stock_items(sandbox))

    wait_until(lambda: sandbox.order(order["id"])["status"] == "delivered", timeout=10)
    sandbox.wait_for_webhooks(timeout=10)

    held = [event["data"]["order"] for event in receiver.events()
            if event["type"] == "order.on_hold"]
    assert len(held) == 1 and held[0]["hold_reason"] in {
        "awaiting_payment", "awaiting_shipping_quote", "other"}


# --- Webhooks -------------------------------------------------------------------------------

def test_webhooks_are_signed_and_carry_the_order_as_of_the_event(start_sandbox, receiver):
    sandbox = start_sandbox(webhook_url=receiver.url)
    item = in_stock_items(sandbox)[0]
    direct = place(SupplierClient(sandbox), [item], key="a")
    relayed = place(SupplierClient(sandbox, "phonex"), [item], key="b")
    sandbox.advance_order(direct["id"])
    sandbox.advance_order(relayed["id"])

    assert sandbox.wait_for_webhooks(timeout=10)

    verifier = Webhook(WEBHOOK_SECRET)
    by_order = {}
    for webhook in receiver.received:
        event = verifier.verify(webhook.body, webhook.headers)
        by_order[event["data"]["order"]["id"]] = (event, webhook.headers)
        assert abs(int(webhook.headers["webhook-timestamp"]) - time.time()) < 60
        assert RFC3339_UTC.match(event["timestamp"])
    direct_event, direct_headers = by_order[direct["id"]]
    relayed_event, relayed_headers = by_order[relayed["id"]]
    assert direct_event["type"] == "order.accepted"
    assert direct_event["data"]["order"] == sandbox.order(direct["id"])
    assert "x-phonex-source-tenant" not in direct_headers
    assert relayed_headers["x-phonex-source-tenant"] == SUPPLIER_TENANT_ID
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"another-secret-another-secret!!!").decode()).verify(
            receiver.received[0].body, receiver.received[0].headers)


def test_failed_webhooks_are_retried_with_the_same_id(start_sandbox, receiver):
    sandbox = start_sandbox(webhook_url=receiver.url)
    receiver.planned_statuses = [500, 503]
    order = place(SupplierClient(sandbox), in_stock_items(sandbox))
    sandbox.advance_order(order["id"])

    assert sandbox.wait_for_webhooks(timeout=10)

    assert len(receiver.received) == 3
    assert len({webhook.headers["webhook-id"] for webhook in receiver.received}) == 1
    delivery = sandbox.webhook_deliveries[0]
    assert delivery.state == "delivered"
    assert [attempt.status_code for attempt in delivery.attempts] == [500, 503, 204]
    summary = sandbox.snapshot()["webhook_deliveries"][0]
    assert summary["order_id"] == order["id"] and summary["version"] == 2
    assert [attempt["status_code"] for attempt in summary["attempts"]] == [500, 503, 204]


def test_webhooks_are_given_up_after_the_last_attempt(start_sandbox, receiver):
    sandbox = start_sandbox(webhook_url=receiver.url, webhook_max_attempts=2)
    receiver.planned_statuses = [500] * 5
    order = place(SupplierClient(sandbox), in_stock_items(sandbox))
    sandbox.advance_order(order["id"])

    assert sandbox.wait_for_webhooks(timeout=10)

    assert len(receiver.received) == 2 and sandbox.webhook_deliveries[0].state == "failed"


def test_duplicate_and_drop_knobs(start_sandbox, receiver):
    sandbox = start_sandbox(webhook_url=receiver.url)
    order = place(SupplierClient(sandbox), in_stock_items(sandbox))
    sandbox.set_faults(webhook_duplicate_rate=1.0)
    sandbox.advance_order(order["id"])
    assert sandbox.wait_for_webhooks(timeout=10)
    sandbox.set_faults(webhook_duplicate_rate=0.0, webhook_drop_rate=1.0)
    sandbox.advance_order(order["id"])
    assert sandbox.wait_for_webhooks(timeout=10)

    ids = [webhook.headers["webhook-id"] for webhook in receiver.received]
    assert len(ids) == 2 and len(set(ids)) == 1
    assert receiver.events()[0] == receiver.events()[1]
    assert [delivery.state for delivery in sandbox.webhook_deliveries] == [
        "delivered", "delivered", "dropped"]


def test_reorder_knob_delivers_an_older_version_after_a_newer_one(start_sandbox, receiver):
    # A long hold: the held event must wait for the next one, however slow this machine is.
    sandbox = start_sandbox(webhook_url=receiver.url, webhook_reorder_max_hold_seconds=30)
    sandbox.set_faults(webhook_reorder_rate=1.0)
    order = place(SupplierClient(sandbox), in_stock_items(sandbox))
    for _ in range(4):
        sandbox.advance_order(order["id"])

    assert sandbox.wait_for_webhooks(timeout=10)

    versions = [event["data"]["order"]["version"] for event in receiver.events()]
    assert sorted(versions) == [2, 3, 4, 5]
    assert versions.index(2) > versions.index(3)


def test_inventory_updated_and_raw_events_are_delivered(start_sandbox, receiver):
    sandbox = start_sandbox(webhook_url=receiver.url)
    changed = admin(sandbox, "POST", "catalogue/mutate", {"fraction": 0.02}).json()["items"]
    sent = admin(sandbox, "POST", "webhooks", {"type": "order.teleported", "data": {"x": 1}})

    assert sandbox.wait_for_webhooks(timeout=10)

    inventory_event, raw_event = receiver.events()
    assert inventory_event["type"] == "inventory.updated"
    assert inventory_event["data"]["items"] == changed and len(changed) == 6
    assert sent.status_code == 202
    assert (raw_event["type"], raw_event["data"]) == ("order.teleported", {"x": 1})
    assert receiver.received[1].headers["webhook-id"] == sent.json()["webhook_id"]


# --- Fault knobs ----------------------------------------------------------------------------

def test_faults_endpoint_reads_and_partially_updates(sandbox):
    defaults = admin(sandbox, "GET", "faults").json()
    updated = admin(sandbox, "POST", "faults", {"latency_ms": 5, "error_kind": "429"}).json()
    unknown = admin(sandbox, "POST", "faults", {"meteor_rate": 1})
    out_of_range = admin(sandbox, "POST", "faults", {"error_rate": 2})

    assert defaults["fail_next"] == 0 and defaults["inventory_page_cap"] is None
    assert updated == {**defaults, "latency_ms": 5, "error_kind": "429"}
    assert unknown.status_code == out_of_range.status_code == 422
    assert admin(sandbox, "GET", "faults").json() == updated


def test_fail_next_fails_exactly_that_many_calls(sandbox):
    client = SupplierClient(sandbox)
    admin(sandbox, "POST", "faults", {"fail_next": 2, "error_kind": "503"})

    statuses = [client.get("/v1/inventory", params={"limit": 1}).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]


def test_rate_limit_fault_answers_429_with_retry_after(sandbox):
    sandbox.set_faults(fail_next=1, error_kind="429", retry_after=7)

    answer = SupplierClient(sandbox).get("/v1/inventory")

    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
    assert error_code(answer) == "rate_limited"


def test_timeout_and_closed_connection_faults(sandbox):
    client = SupplierClient(sandbox)
    sandbox.set_faults(fail_next=1, error_kind="timeout", timeout_seconds=1.0)
    with pytest.raises(requests.Timeout):
        client.get("/v1/inventory", timeout=0.2)
    sandbox.set_faults(fail_next=1, error_kind="close")
    with pytest.raises(requests.ConnectionError):
        client.get("/v1/inventory")

    assert client.get("/v1/inventory").status_code == 200


def test_error_rate_one_fails_every_call(sandbox):
    sandbox.set_faults(error_rate=1.0, error_kind="500")
    client = SupplierClient(sandbox)

    assert {client.get("/v1/inventory").status_code for _ in range(3)} == {500}


@pytest.mark.parametrize("lost_kind", ["500", "close"])
def test_lost_answer_stores_the_order_and_the_retry_finds_it(sandbox, lost_kind):
    client = SupplierClient(sandbox)
    body = order_body(in_stock_items(sandbox))
    sandbox.set_faults(lose_next_answers=1, answer_lost_kind=lost_kind)

    if lost_kind == "500":
        assert client.post("/v1/orders", body, key="lost-1").status_code == 500
    else:
        with pytest.raises(requests.ConnectionError):
            client.post("/v1/orders", body, key="lost-1")
    stored_id = sandbox.snapshot()["orders_by_idempotency_key"]["lost-1"]
    found = client.get("/v1/orders", params={"external_reference": "PE-000123"}).json()["items"]
    retried = client.post("/v1/orders", body, key="lost-1")

    assert [order["id"] for order in found] == [stored_id]
    assert retried.status_code == 200 and retried.json()["id"] == stored_id
    assert len(sandbox.state.orders) == 1


def test_price_change_and_stockout_faults_really_change_the_catalogue(sandbox):
    client = SupplierClient(sandbox)
    item = in_stock_items(sandbox)[0]
    quoted_price, quoted_quantity = item.unit_price, item.quantity

    sandbox.set_faults(price_change_rate=1.0)
    repriced = client.post("/v1/orders", order_body([item], quantities=[2]), key="a")
    sandbox.set_faults(price_change_rate=0.0, stockout_rate=1.0)
    sold_out = client.post("/v1/orders", order_body([item], quantities=[2]), key="b")

    assert error_code(repriced) == "price_changed"
    assert repriced.json()["error"]["details"][0]["unit_price"] == f"{item.unit_price:.2f}"
    assert item.unit_price != quoted_price
    assert error_code(sold_out) == "insufficient_stock"
    assert item.quantity < 2 <= quoted_quantity
    assert sold_out.json()["error"]["details"][0]["available"] == item.quantity


def test_inventory_fail_page_fails_that_page_until_cleared(sandbox):
    client = SupplierClient(sandbox)
    sandbox.set_faults(inventory_fail_page=2)
    first = client.get("/v1/inventory", params={"limit": 100}).json()
    cursor = first["next_cursor"]

    assert client.get("/v1/inventory", params={"limit": 100, "cursor": cursor}).status_code == 500
    sandbox.set_faults(inventory_fail_page=None)
    assert client.get("/v1/inventory", params={"limit": 100, "cursor": cursor}).status_code == 200


# --- Test-reading endpoints -----------------------------------------------------------------

def test_state_endpoint_and_reset(sandbox):
    client = SupplierClient(sandbox)
    item = in_stock_items(sandbox)[0]
    stock_before = item.quantity
    order = place(client, [item])
    requests.post(sandbox.token_url, data={"grant_type": "client_credentials"},
                  auth=(CLIENT_ID, CLIENT_SECRET), timeout=10)
    sandbox.set_faults(latency_ms=1)

    state = admin(sandbox, "GET", "state").json()
    after_reset = admin(sandbox, "POST", "reset").json()

    assert state["orders_by_idempotency_key"] == {"key-1": order["id"]}
    assert state["idempotency_key_hits"] == {"key-1": 1}
    assert state["orders_by_reference"] == {"PE-000123": [order["id"]]}
    assert state["order_statuses"] == {order["id"]: {"status": "received", "version": 1}}
    assert state["tokens_issued"] == 1 and state["faults"]["latency_ms"] == 1
    assert state["webhook_deliveries"] == []
    assert after_reset["orders_by_idempotency_key"] == {} and after_reset["tokens_issued"] == 0
    assert after_reset["faults"]["latency_ms"] == 0
    assert sandbox.catalogue.get(item.sku).quantity == stock_before
    assert client.get(f"/v1/orders/{order['id']}").status_code == 404


def test_catalogue_items_can_be_set_and_removed(sandbox):
    client = SupplierClient(sandbox)
    sku = in_stock_items(sandbox)[0].sku

    updated = admin(sandbox, "POST", f"catalogue/items/{sku}",
                    {"quantity": 0, "unit_price": "99.50"})
    removed = admin(sandbox, "DELETE", f"catalogue/items/{sku}")

    assert updated.json()["quantity"] == 0 and updated.json()["unit_price"] == "99.50"
    assert removed.status_code == 204
    feed = client.get("/v1/inventory", params={"limit": 1000}).json()["items"]
    assert sku not in {item["sku"] for item in feed} and len(feed) == 299


# --- The management command -----------------------------------------------------------------

def test_command_refuses_to_start_unless_enabled(settings):
    settings.SANDBOX_SUPPLIER_ENABLED = False

    with pytest.raises(CommandError, match="SANDBOX_SUPPLIER_ENABLED"):
        call_command("run_sandbox_supplier", "--port", "0")


def test_command_serves_with_settings_credentials_and_stops_on_sigterm(receiver, settings):
    env = {**os.environ, "DEBUG": "false", "SANDBOX_SUPPLIER_ENABLED": "true",
           "WESELLCELLULAR_API_KEY": API_KEY, "PHONEX_API_TOKEN": PHONEX_TOKEN,
           "PHONEX_TENANT_ID": TENANT_ID, "PHONEX_SUPPLIER_TENANT_ID": SUPPLIER_TENANT_ID,
           "WESELLCELLULAR_WEBHOOK_SECRET": f"{WEBHOOK_SECRET}, whsec_b2xkLXNlY3JldA==",
           "PHONEEXPORT_VAR_DIR": str(settings.VAR_DIR), "PYTHONUNBUFFERED": "1"}
    command = subprocess.Popen(
        [sys.executable, "manage.py", "run_sandbox_supplier", "--port", "0", "--skus", "50",
         "--tick-seconds", "0", "--webhook-url", receiver.url, "--fail-next", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base_url, early_output = _wait_for_listening_url(command)
        direct = requests.Session()
        direct.headers["Authorization"] = f"Bearer {API_KEY}"
        assert direct.get(f"{base_url}/v1/inventory", timeout=10).status_code == 503
        items = direct.get(f"{base_url}/v1/inventory", timeout=10).json()["items"]
        in_stock = next(item for item in items if item["quantity"] > 0)
        body = {"external_reference": "PE-CMD", "ship_to": ADDRESS, "lines": [
            {"sku": in_stock["sku"], "quantity": 1, "unit_price": in_stock["unit_price"]}]}
        relay = f"{base_url}/v1/tenants/{SUPPLIER_TENANT_ID}/relay"
        order = requests.post(f"{relay}/v1/orders", json=body, timeout=10, headers={
            "Authorization": f"Bearer {PHONEX_TOKEN}", "X-PhoneX-Tenant": TENANT_ID,
            "Idempotency-Key": "cmd-1"}).json()
        requests.post(f"{base_url}/_sandbox/orders/{order['id']}/advance", timeout=10)
        wait_until(lambda: receiver.received, timeout=10)
    finally:
        command.send_signal(signal.SIGTERM)
        later_output, _ = command.communicate(timeout=20)
    output = early_output + later_output.decode()

    assert command.returncode == 0, output
    assert "Sandbox supplier stopped." in output
    assert API_KEY not in output and PHONEX_TOKEN not in output
    event = Webhook(WEBHOOK_SECRET).verify(receiver.received[0].body, receiver.received[0].headers)
    assert event["type"] == "order.accepted"
    assert receiver.received[0].headers["x-phonex-source-tenant"] == SUPPLIER_TENANT_ID


def _wait_for_listening_url(command: subprocess.Popen, timeout: float = 20) -> tuple[str, str]:
    """The URL the command announces, and its output so far (read unbuffered, so none is held)."""
    deadline = time.monotonic() + timeout
    seen = b""
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([command.stdout], [], [], remaining)
        chunk = os.read(command.stdout.fileno(), 65536) if ready else b""
        seen += chunk
        if match := re.search(rb"listening on (http://[\d.:]+)", seen):
            return match.group(1).decode(), seen.decode()
        if not chunk and command.poll() is not None:
            break
    pytest.fail(f"the command did not start:\n{seen.decode()}")
