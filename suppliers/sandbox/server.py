"""The sandbox supplier: an HTTP server speaking the supplier contract, its clock, its webhooks."""

import json
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import structlog

from .auth import TokenIssuer
from .catalogue import Catalogue
from .config import ROUTES, Faults, SandboxConfig
from .faults import FaultInjector
from .routes import ApiRequest, ApiResponse, SandboxApi, error_response
from .state import SupplierState
from .webhooks import WebhookDelivery, WebhookDispatcher

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024


class SandboxSupplier:
    """Start it, point PhoneExport at `base_url`, then steer and inspect it from Python or HTTP.

    `state` holds catalogue and orders, `faults` the fault knobs, `tokens` the PhoneX tokens
    and `webhooks` every event sent with its attempts.
    """

    def __init__(self, config: SandboxConfig | None = None):
        self.config = config or SandboxConfig()
        self.faults = FaultInjector(initial=self.config.faults, seed=self.config.seed)
        self.tokens = TokenIssuer(client_id=self.config.phonex_client_id,
                                  client_secret=self.config.phonex_client_secret,
                                  static_token=self.config.phonex_api_token,
                                  lifetime=self.config.token_lifetime)
        self.webhooks = WebhookDispatcher(
            url=self.config.webhook_url, secret=self.config.webhook_secret,
            timeout=self.config.webhook_timeout, max_attempts=self.config.webhook_max_attempts,
            backoff_seconds=self.config.webhook_backoff_seconds,
            backoff_factor=self.config.webhook_backoff_factor,
            reorder_max_hold_seconds=self.config.webhook_reorder_max_hold_seconds,
            history_limit=self.config.webhook_history_limit, faults=self.faults)
        self.state = SupplierState(config=self.config, faults=self.faults, emit=self._emit)
        self._stopping = threading.Event()
        self._server: _SandboxHttpServer | None = None
        self._threads: list[threading.Thread] = []

    # --- Running --------------------------------------------------------------------------

    def start(self) -> "SandboxSupplier":
        if self._server is not None:
            raise RuntimeError("the sandbox supplier is already running")
        self._stopping.clear()
        self._server = _SandboxHttpServer((self.config.host, self.config.port), SandboxApi(self))
        self._threads = [threading.Thread(target=self._server.serve_forever,
                                          kwargs={"poll_interval": 0.05}, name="sandbox-http",
                                          daemon=True)]
        if self.config.ticking:
            self._threads.append(threading.Thread(target=self._run_clock, name="sandbox-clock",
                                                  daemon=True))
        for thread in self._threads:
            thread.start()
        self.webhooks.start()
        log.info("sandbox_started", base_url=self.base_url, skus=len(self.state.catalogue),
                 tick_seconds=self.config.tick_seconds, webhook_url=self.config.webhook_url)
        return self

    def stop(self) -> None:
        """Stop serving, close open connections, and stop the clock and the webhook thread."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=2)
        self.webhooks.stop()
        self._server = None
        self._threads = []
        log.info("sandbox_stopped")

    def __enter__(self) -> "SandboxSupplier":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox supplier is not running")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """The direct route's base URL (also where the token and admin endpoints live)."""
        host = self.config.host
        # A wildcard address is reached on the loopback from this machine.
        reachable_host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        return f"http://{reachable_host}:{self.port}"

    @property
    def phonex_base_url(self) -> str:
        return f"{self.base_url}/v1/tenants/{self.config.phonex_supplier_tenant_id}/relay"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth2/token"

    def sleep(self, seconds: float) -> None:
        """Wait, but not past a stop (a stalled answer must not hold the sandbox open)."""
        self._stopping.wait(seconds)

    def _run_clock(self) -> None:
        interval = min(max(self.config.tick_seconds / 5, 0.01), 0.5)
        while not self._stopping.wait(interval):
            self.state.advance_due_orders()

    def _emit(self, event_type: str, data: dict[str, Any], source_tenant: str | None) -> None:
        self.webhooks.enqueue(event_type, data, source_tenant=source_tenant)

    # --- Steering and reading (tests and demos) -------------------------------------------

    @property
    def catalogue(self) -> Catalogue:
        return self.state.catalogue

    @property
    def tokens_issued(self) -> int:
        return self.tokens.tokens_issued

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        return list(self.webhooks.deliveries)

    def order(self, order_id: str) -> dict[str, Any]:
        return self.state.get_order(order_id)

    def advance_order(self, order_id: str, status: str | None = None,
                      **details: Any) -> dict[str, Any]:
        """Move an order to `status` (or its next step) as the spec's diagram allows."""
        return self.state.advance_order(order_id, status=status, **details)

    def tick(self) -> int:
        """Move every order still in progress one step; returns how many moved."""
        return self.state.advance_all_orders()

    def mutate_catalogue(self, fraction: float = 0.05, *,
                         notify: bool = True) -> list[dict[str, Any]]:
        return self.state.mutate_catalogue(fraction=fraction, notify=notify)

    def set_faults(self, **changes: Any) -> Faults:
        """Change some fault knobs now; ValueError for an unknown knob or a bad value."""
        faults = self.faults.update(changes)
        log.info("sandbox_faults_changed", changed=sorted(changes))
        return faults

    def expire_tokens(self) -> int:
        return self.tokens.expire_all()

    def send_event(self, event_type: str, data: dict[str, Any], *,
                   route: str = "direct") -> str | None:
        """Send any event as the supplier would (unknown types too); its webhook id, or None."""
        if route not in ROUTES:
            raise ValueError(f"route must be one of {', '.join(ROUTES)}")
        source_tenant = self.config.phonex_supplier_tenant_id if route == "phonex" else None
        delivery = self.webhooks.enqueue(event_type, data, source_tenant=source_tenant)
        return delivery.webhook_id if delivery else None

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """True once every queued event is delivered or given up on."""
        return self.webhooks.wait_until_idle(timeout)

    def reset(self) -> None:
        """A fresh start with the same configuration: catalogue, orders, tokens, faults, events."""
        self.state.reset()
        self.tokens.reset()
        self.faults.reset()
        self.webhooks.reset()
        log.info("sandbox_reset")

    def snapshot(self) -> dict[str, Any]:
        return {
            **self.state.snapshot(),
            "tokens_issued": self.tokens.tokens_issued,
            "faults": self.faults.current.as_dict(),
            "webhook_deliveries": [delivery.summary() for delivery in self.webhook_deliveries],
        }


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "WeSellCellular-Sandbox/1.0"
    # An idle keep-alive connection is closed after this many seconds.
    timeout = 120
    # Headers and body leave in two writes; with Nagle on, the client's delayed ACK would add
    # about 40 ms to every answer.
    disable_nagle_algorithm = True
    server: "_SandboxHttpServer"

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            # Unread chunks would be taken for the next request on this connection.
            self.close_connection = True
            self._write(error_response(411, "invalid_request", "send the body with a Content-Length"))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True
            self._write(error_response(413 if length > 0 else 400, "invalid_request",
                                       "the body must have a Content-Length of at most 10 MB"))
            return
        query = parse_qs(url.query, keep_blank_values=True)
        request = ApiRequest(
            method=self.command, path=unquote(url.path),
            query={name: values[0] for name, values in query.items()},
            headers=self.headers, body=self.rfile.read(length))
        try:
            response = self.server.api.handle(request)
        except Exception:
            # A fault in the sandbox itself still answers, in the contract's error shape.
            log.exception("sandbox_request_failed", method=self.command, path=url.path)
            response = error_response(500, "internal_error", "the sandbox failed; see its log")
        log.debug("sandbox_request", method=self.command, path=url.path, status=response.status,
                  duration_ms=round((time.perf_counter() - started) * 1000, 1))
        if response.drop_connection:
            self.close_connection = True
            return
        self._write(response)

    def _write(self, response: ApiResponse) -> None:
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (a stalled-answer fault): nobody is left to answer.
            self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Each request is logged once, by `_serve`, with its duration."""

    def log_message(self, format: str, *args: Any) -> None:
        # Malformed requests and idle timeouts, which the base class would print to stderr.
        log.debug("sandbox_http", message=format % args)


class _SandboxHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # Clients open dozens of connections at once; the default backlog of 5 drops some.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], api: SandboxApi):
        self.api = api
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall for seconds without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """End kept-alive connections, whose threads would otherwise wait for another request."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue  # already closed by its client
