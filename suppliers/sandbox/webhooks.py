"""Signed webhook delivery (Standard Webhooks) from a background thread, with retries and faults.

Every event and every attempt is kept, so a test can see what was sent, how often and when.
"""

import heapq
import itertools
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Callable

import requests
import structlog
from standardwebhooks.webhooks import Webhook

from .faults import FaultInjector
from .formats import format_time, utc_now

log = structlog.get_logger(__name__)

USER_AGENT = "WeSellCellular-Sandbox-Webhooks/1.0"


@dataclass
class WebhookAttempt:
    number: int
    at: datetime
    status_code: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "at": format_time(self.at),
                "status_code": self.status_code, "error": self.error}


@dataclass
class WebhookDelivery:
    """One event on its way; a duplicate is a second delivery with the same webhook id."""

    webhook_id: str
    event_type: str
    body: str
    source_tenant: str | None
    sequence: int
    duplicate: bool = False
    # pending, held (for reordering), delivered, failed (attempts exhausted) or dropped.
    state: str = "pending"
    held_since: float | None = None
    attempts: list[WebhookAttempt] = field(default_factory=list)

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    def summary(self) -> dict[str, Any]:
        order = self.payload["data"].get("order")
        # Events sent through the admin endpoint may carry anything under "order".
        if not isinstance(order, dict):
            order = {}
        return {"webhook_id": self.webhook_id, "type": self.event_type,
                "order_id": order.get("id"), "version": order.get("version"),
                "source_tenant": self.source_tenant, "duplicate": self.duplicate,
                "state": self.state, "attempts": [attempt.as_json() for attempt in self.attempts]}


class WebhookDispatcher:
    """A queue ordered by due time, served by one thread; failed attempts come back with backoff."""

    def __init__(self, *, url: str | None, secret: str, timeout: float, max_attempts: int,
                 backoff_seconds: float, backoff_factor: float, reorder_max_hold_seconds: float,
                 history_limit: int, faults: FaultInjector):
        self.url = url
        self._signer = Webhook(secret)
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self._backoff_factor = backoff_factor
        self._reorder_max_hold_seconds = reorder_max_hold_seconds
        self._faults = faults
        self._condition = threading.Condition()
        self._sequence = itertools.count(1)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._queue: list[tuple[float, int, WebhookDelivery]] = []
        self._held: list[WebhookDelivery] = []
        self._in_flight = 0
        # Bumped by reset(), so an attempt in flight across a reset is not queued again.
        self._generation = 0
        self.deliveries: deque[WebhookDelivery] = deque(maxlen=history_limit)

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            # An attempt in flight cannot be interrupted; the thread is a daemon and ends with it.
            self._thread.join(timeout=2)
            self._thread = None

    def reset(self) -> None:
        """Forget every event, pending ones included (an attempt in flight still finishes)."""
        with self._condition:
            self._generation += 1
            self._queue.clear()
            self._held.clear()
            self.deliveries.clear()
            self._condition.notify_all()

    def enqueue(self, event_type: str, data: dict[str, Any], *,
                source_tenant: str | None = None) -> WebhookDelivery | None:
        """Queue an event for delivery, subject to the drop, reorder and duplicate faults."""
        if not self.url:
            return None
        body = json.dumps({"type": event_type, "timestamp": format_time(utc_now()), "data": data},
                          separators=(",", ":"))
        with self._condition:
            delivery = WebhookDelivery(webhook_id=f"msg_{uuid.uuid4().hex}", event_type=event_type,
                                       body=body, source_tenant=source_tenant,
                                       sequence=next(self._sequence))
            self.deliveries.append(delivery)
            if self._faults.roll("webhook_drop_rate"):
                delivery.state = "dropped"
                log.info("sandbox_webhook_dropped", webhook_id=delivery.webhook_id, type=event_type)
                return delivery
            # One event held at a time, released once a later one has been sent: a sure reorder.
            if not self._held and self._faults.roll("webhook_reorder_rate"):
                delivery.state = "held"
                delivery.held_since = time.monotonic()
                self._held.append(delivery)
            else:
                self._push(delivery, due=time.monotonic())
            if self._faults.roll("webhook_duplicate_rate"):
                duplicate = WebhookDelivery(webhook_id=delivery.webhook_id, event_type=event_type,
                                            body=body, source_tenant=source_tenant,
                                            sequence=next(self._sequence), duplicate=True)
                self.deliveries.append(duplicate)
                self._push(duplicate, due=time.monotonic())
            self._condition.notify_all()
        return delivery

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """True once nothing is queued, held or in flight; False if `timeout` passed first."""
        with self._condition:
            return self._condition.wait_for(
                lambda: not self._queue and not self._held and not self._in_flight, timeout)

    def _push(self, delivery: WebhookDelivery, *, due: float) -> None:
        delivery.state = "pending"
        heapq.heappush(self._queue, (due, delivery.sequence, delivery))

    def _run(self) -> None:
        session = requests.Session()
        try:
            while (due := self._next_due()) is not None:
                delivery, generation = due
                attempt = self._attempt(session, delivery)
                self._settle(delivery, attempt, generation)
        finally:
            session.close()

    def _next_due(self) -> tuple[WebhookDelivery, int] | None:
        with self._condition:
            while not self._stopping:
                now = time.monotonic()
                self._release_held(lambda held: self._hold_end(held) <= now)
                if self._queue and self._queue[0][0] <= now:
                    self._in_flight += 1
                    return heapq.heappop(self._queue)[2], self._generation
                wake_times = [due for due, _, _ in self._queue[:1]]
                wake_times += [self._hold_end(held) for held in self._held]
                self._condition.wait(timeout=min(wake_times) - now if wake_times else None)
            return None

    def _hold_end(self, held: WebhookDelivery) -> float:
        return held.held_since + self._reorder_max_hold_seconds

    def _settle(self, delivery: WebhookDelivery, attempt: WebhookAttempt, generation: int) -> None:
        with self._condition:
            self._in_flight -= 1
            delivery.attempts.append(attempt)
            if generation != self._generation:
                self._condition.notify_all()
                return
            if attempt.succeeded:
                delivery.state = "delivered"
            elif len(delivery.attempts) >= self._max_attempts:
                delivery.state = "failed"
                log.warning("sandbox_webhook_gave_up", webhook_id=delivery.webhook_id,
                            type=delivery.event_type, attempts=len(delivery.attempts))
            else:
                retries_so_far = len(delivery.attempts) - 1
                backoff = self._backoff_seconds * self._backoff_factor ** retries_so_far
                self._push(delivery, due=time.monotonic() + backoff)
            self._release_held(lambda held: held.sequence < delivery.sequence)
            self._condition.notify_all()

    def _release_held(self, should_release: Callable[[WebhookDelivery], bool]) -> None:
        for held in [held for held in self._held if should_release(held)]:
            self._held.remove(held)
            self._push(held, due=time.monotonic())

    def _attempt(self, session: requests.Session, delivery: WebhookDelivery) -> WebhookAttempt:
        number = len(delivery.attempts) + 1
        sent_at = datetime.now(UTC).replace(microsecond=0)
        # Signed afresh at every attempt, so a late retry still passes the 5-minute window.
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": self._signer.sign(delivery.webhook_id, sent_at, delivery.body),
        }
        if delivery.source_tenant:
            headers["X-PhoneX-Source-Tenant"] = delivery.source_tenant
        try:
            response = session.post(self.url, data=delivery.body.encode(), headers=headers,
                                    timeout=self._timeout)
        except requests.RequestException as exc:
            log.info("sandbox_webhook_attempt_failed", webhook_id=delivery.webhook_id,
                     type=delivery.event_type, attempt=number, error=type(exc).__name__)
            return WebhookAttempt(number=number, at=sent_at, status_code=None,
                                  error=f"{type(exc).__name__}: {exc}")
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        log.info("sandbox_webhook_attempt", webhook_id=delivery.webhook_id,
                 type=delivery.event_type, attempt=number, status_code=response.status_code)
        return WebhookAttempt(number=number, at=sent_at, status_code=response.status_code,
                              error=error)
