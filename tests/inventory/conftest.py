import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from inventory import services
from inventory.models import SupplierOffer, SyncRun
from suppliers.models import Supplier
from suppliers.sandbox import SandboxSupplier
from suppliers.sandbox.catalogue import CatalogueItem

@pytest.fixture
def sandbox(start_sandbox) -> SandboxSupplier:
    return start_sandbox()


@pytest.fixture(autouse=True)
def _small_batches(settings):
    # Several pages and several batches even from a small catalogue.
    settings.INVENTORY_SYNC_PAGE_SIZE = 40
    settings.INVENTORY_SYNC_BATCH_SIZE = 100


@pytest.fixture
def supplier(db) -> Supplier:
    return Supplier.objects.get(slug="wesellcellular")


def full_sync(supplier: Supplier) -> SyncRun:
    run = services.sync_inventory(supplier=supplier, full=True)
    run.refresh_from_db()
    return run


def offer(sku: str) -> SupplierOffer:
    return SupplierOffer.objects.select_related("product").get(supplier_sku=sku)


@dataclass
class RawFeedItem:
    """A catalogue entry the sandbox serves exactly as given, bad or not."""

    sku: str
    body: dict[str, Any]
    updated_at: datetime
    quantity: int = 0

    def as_json(self) -> dict[str, Any]:
        return self.body


def serve_raw_items(sandbox: SandboxSupplier, *items: RawFeedItem) -> None:
    """Put raw items into the sandbox's feed, in SKU order as the feed pages it."""
    catalogue = sandbox.catalogue
    with sandbox.state.lock:
        catalogue._items.extend(items)
        catalogue._items.sort(key=lambda entry: entry.sku)
        catalogue._skus = [entry.sku for entry in catalogue._items]


def catalogue_items(sandbox: SandboxSupplier) -> list[CatalogueItem]:
    return [item for item in sandbox.catalogue if isinstance(item, CatalogueItem)]


@dataclass
class WebhookInbox:
    """A local endpoint that keeps what the sandbox posts: the supplier's signed webhooks."""

    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                inbox.received.append(({name.lower(): value
                                        for name, value in self.headers.items()}, body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read `received`."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/suppliers/wsc/"

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _headers, body in self.received]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook_inbox():
    inbox = WebhookInbox()
    yield inbox
    inbox.stop()
