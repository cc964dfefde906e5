"""The routes to a supplier's API: direct, or relayed by the PhoneX platform.

A transport owns base URLs, credentials, timeouts and the pooled HTTP session. It hands the
supplier's answer back whatever its status and turns only failures to get an answer into
errors; what an answer means is the adapter's business.
"""

import hashlib
import ipaddress
import json
import os
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import timezone
from email.utils import parsedate_to_datetime
from math import isfinite
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import requests
import structlog
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth2Session

from suppliers.adapters.base import SupplierAuthError, TransientSupplierError

logger = structlog.get_logger(__name__)

POOL_SIZE = 32
# A cached token is renewed this long before it expires, so none lapses during a call.
TOKEN_RENEWAL_MARGIN = 60.0
# How long to trust a token whose endpoint did not say (a 401 renews it earlier anyway).
DEFAULT_TOKEN_LIFETIME = 300.0
# Answers that mean "not now" rather than "no".
RETRYABLE_STATUSES = frozenset({408, 425, 429})
# Errors that no retry can fix: the URL or a header value in the settings is unusable.
_CONFIGURATION_ERRORS = (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                         requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header, in either of its forms (seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:  # HTTP dates are GMT by definition
            moment = moment.replace(tzinfo=timezone.utc)
        return max(0.0, moment.timestamp() - time.time())
    return max(0.0, seconds) if isfinite(seconds) else None


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def _pooled_session() -> requests.Session:
    session = requests.Session()
    # Room for every call a process's forwarding drains make at once: a connection beyond
    # the pool's size is opened, then thrown away.
    size = max(POOL_SIZE, settings.FORWARDING_BATCH * settings.FORWARDING_DRAINS_PER_WORKER)
    # Retrying is the caller's decision, made with the same idempotency key, never the pool's.
    adapter = HTTPAdapter(pool_maxsize=size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class Transport(ABC):
    """Sends one request to the supplier's API and returns its answer, whatever its status."""

    route: str

    @abstractmethod
    def request(self, *, method: str, path: str, params: Mapping[str, Any] | None = None,
                json_body: Mapping[str, Any] | None = None,
                idempotency_key: str | None = None) -> requests.Response:
        """Raise TransientSupplierError if no answer came, SupplierAuthError if misconfigured."""


class _HTTPTransport(Transport):
    def __init__(self, *, base_url: str, connect_timeout: float, read_timeout: float):
        self.base_url = base_url.rstrip("/")
        self._timeouts = (connect_timeout, read_timeout)
        self._session = _pooled_session()

    @abstractmethod
    def _auth_headers(self, *, renew: bool) -> dict[str, str]:
        """Headers that identify us; `renew` asks for fresh credentials after a 401."""

    def _can_renew_credentials(self) -> bool:
        return False

    def request(self, *, method: str, path: str, params: Mapping[str, Any] | None = None,
                json_body: Mapping[str, Any] | None = None,
                idempotency_key: str | None = None) -> requests.Response:
        call = {"method": method, "path": path, "params": params, "json_body": json_body,
                "idempotency_key": idempotency_key}
        response = self._send(**call, auth_headers=self._auth_headers(renew=False))
        if response.status_code == 401 and self._can_renew_credentials():
            # The refused call was not processed, so repeating it (same key) is safe.
            logger.info("supplier_credentials_renewed_after_401", route=self.route, path=path)
            response = self._send(**call, auth_headers=self._auth_headers(renew=True))
        return response

    def _send(self, *, method: str, path: str, params: Mapping[str, Any] | None,
              json_body: Mapping[str, Any] | None, idempotency_key: str | None,
              auth_headers: dict[str, str]) -> requests.Response:
        request_id = str(uuid.uuid4())
        headers = {**auth_headers, "Accept": "application/json", "X-Request-ID": request_id}
        body = None
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(json_body).encode("utf-8")
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        log = logger.bind(route=self.route, method=method, path=path, request_id=request_id)
        started = time.monotonic()
        try:
            # Redirects are not followed: requests would turn a redirected POST into a GET.
            response = self._session.request(
                method, self.base_url + path, params=params, data=body, headers=headers,
                timeout=self._timeouts, allow_redirects=False)
        except _CONFIGURATION_ERRORS:
            log.error("supplier_request_misconfigured")
            # Not chained: the library's message may quote a header value, i.e. a credential.
            raise SupplierAuthError(
                f"{method} {path}: the {self.route} route's URL or credentials are not usable "
                f"(check the settings for a wrong URL or a stray character).") from None
        except requests.RequestException as exc:
            log.warning("supplier_request_failed", error=type(exc).__name__,
                        duration_ms=_elapsed_ms(started))
            raise TransientSupplierError(f"{method} {path}: {_describe_failure(exc)}") from exc
        log.info("supplier_request", status=response.status_code,
                 duration_ms=_elapsed_ms(started))
        return response


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _describe_failure(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "no answer within the timeout"
    if isinstance(exc, requests.ConnectionError):
        return "could not connect"
    return f"the answer could not be read ({type(exc).__name__})"


class DirectTransport(_HTTPTransport):
    """The supplier's own API, with its API key."""

    route = "direct"

    def __init__(self, *, base_url: str, api_key: str, connect_timeout: float,
                 read_timeout: float):
        super().__init__(base_url=base_url, connect_timeout=connect_timeout,
                         read_timeout=read_timeout)
        self._api_key = api_key

    def _auth_headers(self, *, renew: bool) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"}


class TokenSource(Protocol):
    renewable: bool

    def token(self, *, renew: bool = False) -> str: ...


class StaticToken:
    """A long-lived PhoneX token, used as it is."""

    renewable = False

    def __init__(self, token: str):
        self._token = token

    def token(self, *, renew: bool = False) -> str:
        return self._token


class ClientCredentialsToken:
    """PhoneX access tokens from the OAuth 2.0 client-credentials grant.

    A token is kept in Django's cache, shared by every process, until shortly before it
    expires. The clock is the wall clock (comparable across processes), injectable for tests.
    """

    renewable = True

    def __init__(self, *, token_url: str, client_id: str, client_secret: str,
                 connect_timeout: float, read_timeout: float,
                 clock: Callable[[], float] = time.time):
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeouts = (connect_timeout, read_timeout)
        self._clock = clock
        fingerprint = hashlib.sha256(f"{token_url}\n{client_id}".encode()).hexdigest()[:16]
        self._cache_key = f"suppliers:phonex-token:{fingerprint}"

    def token(self, *, renew: bool = False) -> str:
        cached = None if renew else cache.get(self._cache_key)
        if cached and self._clock() < cached["renew_at"]:
            return cached["access_token"]
        return self._fetch_and_cache()

    def _fetch_and_cache(self) -> str:
        token = self._fetch()
        lifetime = token.get("expires_in")
        if not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        renew_in = max(lifetime - TOKEN_RENEWAL_MARGIN, lifetime / 2)
        cache.set(self._cache_key,
                  {"access_token": token["access_token"], "renew_at": self._clock() + renew_in},
                  timeout=lifetime)
        logger.info("phonex_token_fetched", expires_in=lifetime)
        return token["access_token"]

    def _fetch(self) -> dict[str, Any]:
        _refuse_plain_http_off_this_machine(self._token_url)
        session = OAuth2Session(client=BackendApplicationClient(client_id=self._client_id))
        session.register_compliance_hook("access_token_response", _refuse_unsuccessful_answer)
        try:
            with session:
                # include_client_id=False: the id and secret travel in HTTP Basic auth only.
                return session.fetch_token(self._token_url, client_id=self._client_id,
                                           client_secret=self._client_secret,
                                           include_client_id=False, timeout=self._timeouts)
        except _CONFIGURATION_ERRORS:
            raise SupplierAuthError("PHONEX_TOKEN_URL is not a usable URL, or PHONEX_CLIENT_ID / "
                                    "PHONEX_CLIENT_SECRET holds a stray character.") from None
        except requests.RequestException as exc:
            logger.warning("phonex_token_request_failed", error=type(exc).__name__)
            raise TransientSupplierError(
                f"PhoneX token endpoint: {_describe_failure(exc)}") from exc
        except (OAuth2Error, ValueError) as exc:
            # Not chained: oauthlib's message may quote the answer, i.e. a token.
            logger.warning("phonex_token_answer_malformed", error=type(exc).__name__)
            raise TransientSupplierError(
                "PhoneX token endpoint gave a malformed answer (no usable access_token).") from None


def _refuse_plain_http_off_this_machine(token_url: str) -> None:
    """The client secret crosses a network only over https; plain http stays on this machine.

    oauthlib refuses http:// unless OAUTHLIB_INSECURE_TRANSPORT is set, its only switch; a
    loopback token URL (development, the sandbox supplier) never leaves the host, so it is set
    for those, once this check has passed.
    """
    url = urlsplit(token_url)
    if url.scheme == "https":
        return
    if url.scheme != "http" or not _is_loopback(url.hostname or ""):
        raise SupplierAuthError(
            "PHONEX_TOKEN_URL must use https (plain http is accepted only for this machine).")
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse_unsuccessful_answer(response: requests.Response) -> requests.Response:
    """oauthlib reads any answer as a token: turn an error status into our errors first."""
    status = response.status_code
    logger.info("phonex_token_request", status=status)
    if is_retryable_status(status):
        raise TransientSupplierError(
            f"PhoneX token endpoint answered HTTP {status}.",
            retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if not 200 <= status < 300:
        raise SupplierAuthError(
            f"PhoneX token endpoint refused our client credentials (HTTP {status}): check "
            f"PHONEX_CLIENT_ID, PHONEX_CLIENT_SECRET and PHONEX_TOKEN_URL.")
    return response


class PhoneXTransport(_HTTPTransport):
    """The supplier's API relayed by PhoneX, between our tenant and the supplier's."""

    route = "phonex"

    def __init__(self, *, api_url: str, tenant_id: str, supplier_tenant_id: str,
                 token_source: TokenSource, connect_timeout: float, read_timeout: float):
        relay_url = f"{api_url.rstrip('/')}/v1/tenants/{quote(supplier_tenant_id, safe='')}/relay"
        super().__init__(base_url=relay_url, connect_timeout=connect_timeout,
                         read_timeout=read_timeout)
        self._tenant_id = tenant_id
        self._token_source = token_source

    def _auth_headers(self, *, renew: bool) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token_source.token(renew=renew)}",
                "X-PhoneX-Tenant": self._tenant_id}

    def _can_renew_credentials(self) -> bool:
        return self._token_source.renewable


class UnconfiguredTransport(Transport):
    """Stands in for a route whose settings are missing: every call names them."""

    def __init__(self, *, route: str, missing_settings: tuple[str, ...]):
        self.route = route
        self.missing_settings = missing_settings

    def request(self, **call: Any) -> requests.Response:
        raise SupplierAuthError(f"The {self.route} route to the supplier is not configured: "
                                f"set {', '.join(self.missing_settings)}.")


def transport_from_settings(*, route: str, direct_url_setting: str, direct_key_setting: str,
                            supplier_tenant_setting: str) -> Transport:
    """The transport for `route` ("direct" or "phonex"), built from Django settings.

    Setting names are arguments so that each supplier's adapter names its own; missing
    values give an UnconfiguredTransport rather than an error, so nothing fails before use.
    """
    timeouts = {"connect_timeout": settings.SUPPLIER_CONNECT_TIMEOUT,
                "read_timeout": settings.SUPPLIER_READ_TIMEOUT}
    if route == "direct":
        missing = _missing(direct_url_setting, direct_key_setting)
        if missing:
            return UnconfiguredTransport(route=route, missing_settings=missing)
        return DirectTransport(base_url=_setting(direct_url_setting),
                               api_key=_setting(direct_key_setting), **timeouts)
    if route == "phonex":
        missing = _missing("PHONEX_API_URL", "PHONEX_TENANT_ID", supplier_tenant_setting)
        missing += _missing_phonex_credentials()
        if missing:
            return UnconfiguredTransport(route=route, missing_settings=missing)
        return PhoneXTransport(api_url=_setting("PHONEX_API_URL"),
                               tenant_id=_setting("PHONEX_TENANT_ID"),
                               supplier_tenant_id=_setting(supplier_tenant_setting),
                               token_source=_phonex_token_source(), **timeouts)
    raise ImproperlyConfigured(f"Unknown supplier route {route!r}: 'direct' or 'phonex'.")


def _setting(name: str) -> str:
    # A newline pasted after a key would make an invalid header: whitespace is never part of one.
    return getattr(settings, name, "").strip()


def _missing(*setting_names: str) -> tuple[str, ...]:
    return tuple(name for name in setting_names if not _setting(name))


def _uses_client_credentials() -> bool:
    return bool(_setting("PHONEX_CLIENT_ID") or _setting("PHONEX_CLIENT_SECRET"))


def _missing_phonex_credentials() -> tuple[str, ...]:
    if _uses_client_credentials():
        return _missing("PHONEX_CLIENT_ID", "PHONEX_CLIENT_SECRET", "PHONEX_TOKEN_URL")
    if not _setting("PHONEX_API_TOKEN"):
        return ("PHONEX_API_TOKEN (or PHONEX_CLIENT_ID and PHONEX_CLIENT_SECRET)",)
    return ()


def _phonex_token_source() -> TokenSource:
    if _uses_client_credentials():
        return ClientCredentialsToken(
            token_url=_setting("PHONEX_TOKEN_URL"), client_id=_setting("PHONEX_CLIENT_ID"),
            client_secret=_setting("PHONEX_CLIENT_SECRET"),
            connect_timeout=settings.SUPPLIER_CONNECT_TIMEOUT,
            read_timeout=settings.SUPPLIER_READ_TIMEOUT)
    return StaticToken(_setting("PHONEX_API_TOKEN"))
