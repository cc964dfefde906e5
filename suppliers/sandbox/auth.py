"""Who is calling (direct or through PhoneX) and the OAuth 2.0 tokens PhoneX hands out."""

import hmac
import secrets
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """An authenticated API caller; idempotency keys are scoped to it."""

    route: str
    tenant_id: str | None = None

    @property
    def scope(self) -> str:
        return f"phonex:{self.tenant_id}" if self.route == "phonex" else "direct"


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison; an empty expected secret matches nothing."""
    return bool(expected) and given is not None and hmac.compare_digest(
        given.encode(), expected.encode())


class TokenIssuer:
    """Client-credentials tokens that expire, beside one static token that does not."""

    def __init__(self, *, client_id: str, client_secret: str, static_token: str, lifetime: int):
        self._client_id = client_id
        self._client_secret = client_secret
        self._static_token = static_token
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._expiry_by_token: dict[str, float] = {}
            self.tokens_issued = 0

    def is_client(self, *, client_id: str, client_secret: str) -> bool:
        return (same_secret(client_id, self._client_id)
                and same_secret(client_secret, self._client_secret))

    def issue(self) -> str:
        """A new token, valid for `lifetime` seconds (check the client first)."""
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._expiry_by_token = {known: expiry for known, expiry
                                     in self._expiry_by_token.items() if expiry > now}
            self._expiry_by_token[token] = now + self.lifetime
            self.tokens_issued += 1
        return token

    def is_valid(self, token: str) -> bool:
        if same_secret(token, self._static_token):
            return True
        with self._lock:
            expiry = self._expiry_by_token.get(token)
        return expiry is not None and expiry > time.monotonic()

    def expire_all(self) -> int:
        """End every issued token now (the static token stays); returns how many were live."""
        now = time.monotonic()
        with self._lock:
            live = sum(1 for expiry in self._expiry_by_token.values() if expiry > now)
            self._expiry_by_token.clear()
        return live
