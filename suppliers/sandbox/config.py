"""How a sandbox supplier runs, and the faults it injects (settable at start and at run time)."""

import binascii
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Mapping

from standardwebhooks.webhooks import Webhook

# What an injected API failure looks like: a status code, a stalled answer, or a dropped connection.
ERROR_KINDS = ("500", "503", "429", "timeout", "close")
LOST_ANSWER_KINDS = ("500", "close")
ROUTES = ("direct", "phonex")
# A known secret, so a test or a demo can verify signatures without configuring one.
DEFAULT_WEBHOOK_SECRET = "whsec_c2FuZGJveC13ZWJob29rLXNpZ25pbmctc2VjcmV0ISE="


def _knob(default: Any, help_text: str) -> Any:
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class Faults:
    """What goes wrong and how often. Every `*_rate` is a probability between 0 and 1."""

    latency_ms: int = _knob(0, "milliseconds added to every API call")
    error_rate: float = _knob(0.0, "share of API calls that fail with error_kind")
    error_kind: str = _knob("503", "how an injected failure looks: " + ", ".join(ERROR_KINDS))
    timeout_seconds: float = _knob(20.0, "how long a 'timeout' failure stalls before a 504")
    retry_after: int = _knob(1, "Retry-After seconds of a 429")
    fail_next: int = _knob(0, "the next N API calls fail with error_kind")
    answer_lost_rate: float = _knob(
        0.0, "share of successful writes (order placed or cancelled) whose answer is lost")
    lose_next_answers: int = _knob(0, "the answers of the next N successful writes are lost")
    answer_delay_ms: int = _knob(
        0, "milliseconds a successful write (already stored) waits before it answers")
    answer_lost_kind: str = _knob(
        "500", "how a lost answer looks: " + ", ".join(LOST_ANSWER_KINDS))
    webhook_duplicate_rate: float = _knob(0.0, "share of events delivered twice (same webhook-id)")
    webhook_reorder_rate: float = _knob(0.0, "share of events held back until a later one is sent")
    webhook_drop_rate: float = _knob(0.0, "share of events never delivered")
    price_change_rate: float = _knob(
        0.0, "share of order placements that meet a price change (422 price_changed)")
    stockout_rate: float = _knob(
        0.0, "share of order placements that meet a stock-out (422 insufficient_stock)")
    inventory_fail_page: int | None = _knob(
        None, "this page number of the inventory feed answers 500")
    inventory_page_cap: int | None = _knob(None, "at most this many items per inventory page")

    def updated(self, changes: Mapping[str, Any]) -> "Faults":
        """A copy with `changes` applied; ValueError names the first unknown or invalid knob."""
        known = {knob.name for knob in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown fault knob(s): {', '.join(unknown)}")
        return replace(self, **{name: _validated_knob(name, value)
                                for name, value in changes.items()})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __post_init__(self) -> None:
        for knob in fields(self):
            _validated_knob(knob.name, getattr(self, knob.name))


def _validated_knob(name: str, value: Any) -> Any:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name.endswith("_rate"):
        if not is_number or not 0 <= value <= 1:
            raise ValueError(f"{name} must be a number between 0 and 1")
        return float(value)
    if name == "error_kind" or name == "answer_lost_kind":
        allowed = ERROR_KINDS if name == "error_kind" else LOST_ANSWER_KINDS
        value = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}")
        return value
    if name == "timeout_seconds":
        if not is_number or value < 0:
            raise ValueError(f"{name} must be a number of seconds, 0 or more")
        return float(value)
    if name in ("inventory_fail_page", "inventory_page_cap"):
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a whole number, 1 or more, or null")
        return value
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a whole number, 0 or more")
    return value


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox supplier needs; an empty credential closes the route it opens."""

    host: str = "127.0.0.1"
    port: int = 0
    api_key: str = "sandbox-api-key"
    phonex_api_token: str = "sandbox-phonex-token"
    phonex_client_id: str = "sandbox-client"
    phonex_client_secret: str = "sandbox-client-secret"
    phonex_tenant_id: str = "phoneexport"
    phonex_supplier_tenant_id: str = "wsc"
    token_lifetime: int = 3600
    skus: int = 3000
    seed: int = 1
    unusual_grades: bool = False
    # Orders move one step per tick; None or 0 leaves them where they are until advanced.
    tick_seconds: float | None = None
    rejection_rate: float = 0.0
    backorder_rate: float = 0.0
    hold_rate: float = 0.0
    webhook_url: str | None = None
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    webhook_timeout: float = 10.0
    webhook_max_attempts: int = 5
    webhook_backoff_seconds: float = 0.5
    webhook_backoff_factor: float = 2.0
    # A held event is sent after the next one, or after this long if no other event comes.
    webhook_reorder_max_hold_seconds: float = 5.0
    webhook_history_limit: int = 10_000
    # The route whose headers catalogue events carry (order events follow their order's route).
    inventory_events_route: str = "direct"
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        if self.skus < 1:
            raise ValueError("skus must be 1 or more")
        if self.token_lifetime < 1:
            raise ValueError("token_lifetime must be 1 second or more")
        if self.tick_seconds is not None and self.tick_seconds < 0:
            raise ValueError("tick_seconds must be 0 or more")
        rates = (self.rejection_rate, self.backorder_rate, self.hold_rate)
        if any(not 0 <= rate <= 1 for rate in rates) or sum(rates) > 1:
            raise ValueError("rejection, backorder and hold rates must be between 0 and 1 "
                             "and add up to 1 at most")
        if self.webhook_max_attempts < 1:
            raise ValueError("webhook_max_attempts must be 1 or more")
        if self.inventory_events_route not in ROUTES:
            raise ValueError(f"inventory_events_route must be one of {', '.join(ROUTES)}")
        try:
            Webhook(self.webhook_secret)
        except (RuntimeError, binascii.Error, ValueError) as exc:
            raise ValueError(
                "webhook_secret must be a Standard Webhooks secret (whsec_<base64>)") from exc

    @property
    def ticking(self) -> bool:
        return bool(self.tick_seconds)
