"""HTTP in the contract's terms: authentication per route, injected faults, then one sandbox call.

Nothing here touches sockets: a request comes in as an `ApiRequest` and leaves as an `ApiResponse`.
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import parse_qs, unquote_plus

from .auth import Caller, same_secret
from .catalogue import InventoryCursor
from .errors import SupplierError
from .formats import parse_money, parse_time

if TYPE_CHECKING:
    from .server import SandboxSupplier

DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 1000
STATUS_BY_ERROR_CODE = {
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "idempotency_conflict": 409,
    "not_cancellable": 409,
    "invalid_transition": 409,
}
_PHONEX_PATH = re.compile(r"^/v1/tenants/(?P<tenant>[^/]+)/relay(?P<path>/.*)?$")


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: Mapping[str, str]
    # Looked up case-insensitively (the HTTP server passes an email.message.Message).
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class ApiResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # The connection is closed without an answer, as when a proxy or the network loses it.
    drop_connection: bool = False


def error_response(status: int, code: str, message: str,
                   details: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> ApiResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return ApiResponse(status=status, body={"error": error}, headers=headers or {})


@dataclass(frozen=True)
class _Endpoint:
    handler: Callable[..., ApiResponse]
    # A write whose successful answer the lost-answer faults may swallow.
    is_write: bool = False


# A path pattern ('{name}' matches any one segment) and its endpoint per HTTP method.
_Route = tuple[tuple[str, ...], dict[str, _Endpoint]]


class SandboxApi:
    """Routes a request to the token endpoint, the admin endpoints or the supplier API."""

    def __init__(self, sandbox: "SandboxSupplier"):
        self._sandbox = sandbox
        self._api_routes: list[_Route] = [
            (("v1", "inventory"), {"GET": _Endpoint(self._inventory)}),
            (("v1", "orders"), {"GET": _Endpoint(self._find_orders),
                                "POST": _Endpoint(self._place_order, is_write=True)}),
            (("v1", "orders", "{id}"), {"GET": _Endpoint(self._get_order)}),
            (("v1", "orders", "{id}", "cancel"),
             {"POST": _Endpoint(self._cancel_order, is_write=True)}),
        ]
        self._admin_routes: list[_Route] = [
            (("state",), {"GET": _Endpoint(self._admin_state)}),
            (("reset",), {"POST": _Endpoint(self._admin_reset)}),
            (("faults",), {"GET": _Endpoint(self._admin_faults),
                           "POST": _Endpoint(self._admin_update_faults)}),
            (("tick",), {"POST": _Endpoint(self._admin_tick)}),
            (("orders", "{id}", "advance"), {"POST": _Endpoint(self._admin_advance)}),
            (("catalogue", "mutate"), {"POST": _Endpoint(self._admin_mutate_catalogue)}),
            (("catalogue", "items", "{sku}"), {"POST": _Endpoint(self._admin_update_item),
                                               "DELETE": _Endpoint(self._admin_remove_item)}),
            (("tokens", "expire"), {"POST": _Endpoint(self._admin_expire_tokens)}),
            (("webhooks",), {"POST": _Endpoint(self._admin_send_event)}),
        ]

    def handle(self, request: ApiRequest) -> ApiResponse:
        try:
            return self._route(request)
        except SupplierError as error:
            status = STATUS_BY_ERROR_CODE.get(error.code, 422)
            headers = None
            if status == 401:
                headers = {"WWW-Authenticate": 'Bearer realm="wesellcellular"'}
            return error_response(status, error.code, error.message, error.details, headers)

    def _route(self, request: ApiRequest) -> ApiResponse:
        path = request.path.rstrip("/") or "/"
        if path == "/oauth2/token":
            return self._issue_token(request)
        if path.startswith("/_sandbox/"):
            return self._admin(request, path.removeprefix("/_sandbox/").split("/"))
        caller, api_path = self._authenticate(request, path)
        return self._call_api(request, caller, api_path)

    # --- Authentication -------------------------------------------------------------------

    def _authenticate(self, request: ApiRequest, path: str) -> tuple[Caller, str]:
        config = self._sandbox.config
        token = _bearer_token(request.header("Authorization"))
        relay = _PHONEX_PATH.match(path)
        if relay:
            if token is None or not self._sandbox.tokens.is_valid(token):
                raise SupplierError("unauthorized", "a valid PhoneX access token is required")
            supplier_tenant_id = config.phonex_supplier_tenant_id
            if not supplier_tenant_id or relay["tenant"] != supplier_tenant_id:
                raise SupplierError("forbidden", f"no relay to tenant {relay['tenant']}")
            tenant_id = request.header("X-PhoneX-Tenant")
            if not config.phonex_tenant_id or tenant_id != config.phonex_tenant_id:
                raise SupplierError("forbidden",
                                    "X-PhoneX-Tenant does not name this token's tenant")
            return Caller(route="phonex", tenant_id=tenant_id), relay["path"] or "/"
        if path == "/v1" or path.startswith("/v1/"):
            if not same_secret(token, config.api_key):
                raise SupplierError("unauthorized", "a valid API key is required")
            return Caller(route="direct"), path
        raise SupplierError("not_found", f"no such path: {path}")

    def _issue_token(self, request: ApiRequest) -> ApiResponse:
        """OAuth 2.0 client credentials; the client may authenticate in Basic auth or the form."""
        if request.method != "POST":
            return ApiResponse(405, {"error": "invalid_request"}, {"Allow": "POST"})
        form_fields = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        form = {name: values[0] for name, values in form_fields.items()}
        client_id, client_secret = _basic_credentials(request.header("Authorization")) or (
            form.get("client_id", ""), form.get("client_secret", ""))
        if not self._sandbox.tokens.is_client(client_id=client_id, client_secret=client_secret):
            return ApiResponse(401, {"error": "invalid_client"},
                               {"WWW-Authenticate": 'Basic realm="phonex"'})
        if form.get("grant_type") != "client_credentials":
            error = "unsupported_grant_type" if form.get("grant_type") else "invalid_request"
            return ApiResponse(400, {"error": error})
        return ApiResponse(200, {"access_token": self._sandbox.tokens.issue(),
                                 "token_type": "Bearer",
                                 "expires_in": self._sandbox.tokens.lifetime},
                           {"Cache-Control": "no-store"})

    # --- The supplier API -----------------------------------------------------------------

    def _call_api(self, request: ApiRequest, caller: Caller, path: str) -> ApiResponse:
        segments = path.strip("/").split("/")
        endpoint, values = _match(self._api_routes, request.method, segments, path)
        key = request.header("Idempotency-Key")
        if request.method == "POST" and key:
            self._sandbox.state.record_idempotency_key_hit(key)
        faults = self._sandbox.faults
        if faults.current.latency_ms:
            self._sandbox.sleep(faults.current.latency_ms / 1000)
        failure = self._injected_failure()
        if failure is not None:
            return failure
        response = endpoint.handler(request, caller, *values)
        if endpoint.is_write and 200 <= response.status < 300:
            if faults.current.answer_delay_ms:
                self._sandbox.sleep(faults.current.answer_delay_ms / 1000)
            lost_kind = faults.take_lost_answer()
            if lost_kind == "close":
                return ApiResponse(status=0, drop_connection=True)
            if lost_kind == "500":
                return error_response(500, "internal_error", "the server failed while answering")
        return response

    def _injected_failure(self) -> ApiResponse | None:
        faults = self._sandbox.faults
        kind = faults.take_api_failure()
        if kind is None:
            return None
        if kind == "429":
            return error_response(429, "rate_limited", "too many requests",
                                  headers={"Retry-After": str(faults.current.retry_after)})
        if kind == "timeout":
            self._sandbox.sleep(faults.current.timeout_seconds)
            return error_response(504, "gateway_timeout", "the request timed out upstream")
        if kind == "close":
            return ApiResponse(status=0, drop_connection=True)
        if kind == "503":
            return error_response(503, "service_unavailable",
                                  "the service is unavailable, retry later")
        return error_response(500, "internal_error", "the server failed")

    def _inventory(self, request: ApiRequest, caller: Caller) -> ApiResponse:
        limit = _positive_int(request.query.get("limit"), "limit", default=DEFAULT_PAGE_SIZE)
        cursor = None
        if request.query.get("cursor"):
            cursor = InventoryCursor.decode(request.query["cursor"])
        # A cursor remembers the feed's filter, for a client that sends it on the first page only.
        since_text = request.query.get("updated_since")
        if not since_text and cursor is not None:
            since_text = cursor.updated_since
        updated_since = parse_time(since_text) if since_text else None
        if since_text and updated_since is None:
            raise SupplierError("invalid_request", "updated_since must be an RFC 3339 time")
        page = cursor.page if cursor else 1
        faults = self._sandbox.faults.current
        if faults.inventory_fail_page == page:
            return error_response(500, "internal_error", "the server failed")
        limit = min(limit, MAX_PAGE_SIZE, faults.inventory_page_cap or MAX_PAGE_SIZE)
        items, next_after_sku = self._sandbox.state.inventory_page(
            after_sku=cursor.after_sku if cursor else None, limit=limit,
            updated_since=updated_since)
        next_cursor = None
        if next_after_sku is not None:
            next_cursor = InventoryCursor(
                after_sku=next_after_sku, page=page + 1,
                updated_since=updated_since.isoformat() if updated_since else None).encode()
        return ApiResponse(200, {"items": items, "next_cursor": next_cursor})

    def _place_order(self, request: ApiRequest, caller: Caller) -> ApiResponse:
        order, created = self._sandbox.state.place_order(
            caller=caller, idempotency_key=request.header("Idempotency-Key"), raw_body=request.body)
        return ApiResponse(201 if created else 200, order)

    def _find_orders(self, request: ApiRequest, caller: Caller) -> ApiResponse:
        reference = request.query.get("external_reference")
        if not reference:
            raise SupplierError("invalid_request", "external_reference is required")
        return ApiResponse(200, {"items": self._sandbox.state.find_orders(reference)})

    def _get_order(self, request: ApiRequest, caller: Caller, order_id: str) -> ApiResponse:
        return ApiResponse(200, self._sandbox.state.get_order(order_id))

    def _cancel_order(self, request: ApiRequest, caller: Caller, order_id: str) -> ApiResponse:
        order = self._sandbox.state.cancel_order(
            caller=caller, order_id=order_id, idempotency_key=request.header("Idempotency-Key"))
        return ApiResponse(200, order)

    # --- Admin: test and demo hooks -------------------------------------------------------

    def _admin(self, request: ApiRequest, segments: list[str]) -> ApiResponse:
        endpoint, values = _match(self._admin_routes, request.method, segments, request.path)
        return endpoint.handler(request, *values)

    def _admin_state(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, self._sandbox.snapshot())

    def _admin_reset(self, request: ApiRequest) -> ApiResponse:
        self._sandbox.reset()
        return ApiResponse(200, self._sandbox.snapshot())

    def _admin_faults(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, self._sandbox.faults.current.as_dict())

    def _admin_update_faults(self, request: ApiRequest) -> ApiResponse:
        changes = _json_object(request.body)
        try:
            faults = self._sandbox.set_faults(**changes)
        except ValueError as exc:
            raise SupplierError("invalid_request", str(exc)) from exc
        return ApiResponse(200, faults.as_dict())

    def _admin_tick(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, {"advanced": self._sandbox.state.advance_all_orders()})

    def _admin_advance(self, request: ApiRequest, order_id: str) -> ApiResponse:
        body = _json_object(request.body)
        texts = {name: _optional_text(body, name)
                 for name in ("status", "reason", "hold_reason", "hold_message")}
        expected_at: datetime | None = None
        if (expected_text := _optional_text(body, "expected_at")) is not None:
            expected_at = parse_time(expected_text)
            if expected_at is None:
                raise SupplierError("invalid_request", "expected_at must be an RFC 3339 time")
        order = self._sandbox.state.advance_order(order_id, expected_at=expected_at, **texts)
        return ApiResponse(200, order)

    def _admin_mutate_catalogue(self, request: ApiRequest) -> ApiResponse:
        body = _json_object(request.body)
        fraction = body.get("fraction", 0.05)
        if not isinstance(fraction, (int, float)) or isinstance(fraction, bool):
            raise SupplierError("invalid_request", "fraction must be a number between 0 and 1")
        items = self._sandbox.state.mutate_catalogue(fraction=fraction,
                                                     notify=bool(body.get("notify", True)))
        return ApiResponse(200, {"items": items})

    def _admin_update_item(self, request: ApiRequest, sku: str) -> ApiResponse:
        body = _json_object(request.body)
        quantity = body.get("quantity")
        if quantity is not None and (not isinstance(quantity, int) or isinstance(quantity, bool)
                                     or quantity < 0):
            raise SupplierError("invalid_request", "quantity must be a whole number, 0 or more")
        unit_price = None
        if body.get("unit_price") is not None:
            unit_price = parse_money(body["unit_price"])
            if unit_price is None:
                raise SupplierError("invalid_request",
                                    'unit_price must be a string such as "412.50"')
        item = self._sandbox.state.update_item(sku, quantity=quantity, unit_price=unit_price,
                                               notify=bool(body.get("notify", False)))
        return ApiResponse(200, item)

    def _admin_remove_item(self, request: ApiRequest, sku: str) -> ApiResponse:
        self._sandbox.state.remove_item(sku)
        return ApiResponse(204)

    def _admin_expire_tokens(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, {"expired": self._sandbox.tokens.expire_all()})

    def _admin_send_event(self, request: ApiRequest) -> ApiResponse:
        """Any event, of any type or shape, signed and sent like the others."""
        body = _json_object(request.body)
        event_type, data = body.get("type"), body.get("data", {})
        if not isinstance(event_type, str) or not event_type or not isinstance(data, dict):
            raise SupplierError("invalid_request",
                                "type (a string) and data (an object) are required")
        try:
            webhook_id = self._sandbox.send_event(event_type, data,
                                                  route=body.get("route", "direct"))
        except ValueError as exc:
            raise SupplierError("invalid_request", str(exc)) from exc
        return ApiResponse(202, {"webhook_id": webhook_id})


def _match(routes: list[_Route], method: str, segments: list[str],
           path: str) -> tuple[_Endpoint, tuple[str, ...]]:
    """The endpoint for `segments` and the values its '{name}' segments captured."""
    for pattern, endpoints in routes:
        if len(pattern) != len(segments):
            continue
        if all(part.startswith("{") or part == segment for part, segment in zip(pattern, segments)):
            if method not in endpoints:
                raise SupplierError("method_not_allowed", f"{method} is not allowed on {path}")
            values = tuple(segment for part, segment in zip(pattern, segments)
                           if part.startswith("{"))
            return endpoints[method], values
    raise SupplierError("not_found", f"no such path: {path}")


def _bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """Client id and secret from Basic auth, form-decoded as RFC 6749 §2.3.1 asks."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, client_secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(client_secret)


def _positive_int(text: str | None, name: str, *, default: int) -> int:
    if text is None or text == "":
        return default
    if not text.isdigit() or int(text) < 1:
        raise SupplierError("invalid_request", f"{name} must be a whole number, 1 or more")
    return int(text)


def _json_object(raw_body: bytes) -> dict[str, Any]:
    """The body as a JSON object; an empty body is an empty object."""
    if not raw_body.strip():
        return {}
    try:
        body = json.loads(raw_body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SupplierError("invalid_request", "the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise SupplierError("invalid_request", "the body must be a JSON object")
    return body


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise SupplierError("invalid_request", f"{name} must be a non-empty string")
    return value
