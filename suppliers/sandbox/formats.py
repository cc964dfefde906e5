"""Money and time as the contract writes them: two-place decimal strings, RFC 3339 in UTC."""

import re
from datetime import UTC, datetime
from decimal import Decimal

CENT = Decimal("0.01")
_MONEY = re.compile(r"^\d{1,9}(\.\d{1,2})?$")


def format_money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


def parse_money(text: object) -> Decimal | None:
    """The amount of a money string, or None for anything else (floats included)."""
    if not isinstance(text, str) or not _MONEY.match(text):
        return None
    return Decimal(text)


def utc_now() -> datetime:
    # Whole seconds: the contract's times carry none, and an item stamped with a fraction
    # would otherwise fall just outside an `updated_since` equal to its printed time.
    return datetime.now(UTC).replace(microsecond=0)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 time with its offset, or None. A '+' decoded as a space is forgiven."""
    candidate = text.strip().replace(" ", "+")
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if moment.tzinfo is None or "T" not in candidate.upper():
        return None
    return moment.astimezone(UTC)
