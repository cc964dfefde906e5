"""Standard Webhooks signatures, checked with the `standardwebhooks` library (1.0.0).

The library checks the HMAC and the 5-minute window. It crashes on a malformed signature
list and signs a fractional timestamp as its floor, and all its refusals share one exception
class, so the headers are checked here first and its messages are mapped to short reasons.
"""

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence

from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as SignatureRefused

from suppliers.adapters.base import SupplierAuthError, WebhookVerificationError

SECRET_PREFIX = "whsec_"
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
# The library's refusals other than "No matching signature found", which means: next secret.
_LIBRARY_REASONS = {
    "Missing required headers": "missing_headers",
    "Invalid Signature Headers": "malformed_timestamp",
    "Message timestamp too old": "stale_timestamp",
    "Message timestamp too new": "future_timestamp",
}


def split_secrets(value: str) -> tuple[str, ...]:
    """The secrets a setting lists: one, or several during a rotation (space or comma apart)."""
    return tuple(secret for secret in re.split(r"[\s,]+", value) if secret)


def lowercase_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def verify_signature(*, body: bytes, headers: Mapping[str, str], secrets: Sequence[str],
                     secrets_setting: str) -> None:
    """Return if one of `secrets` signed this body recently; else raise WebhookVerificationError.

    Raises SupplierAuthError when no usable secret is configured in `secrets_setting`.
    """
    keys = _decode_secrets(secrets, setting=secrets_setting)
    signed_headers = _checked_headers(lowercase_headers(headers))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookVerificationError("body_not_utf8") from None
    for key in keys:
        try:
            Webhook(key).verify(text, signed_headers)
        except SignatureRefused as exc:
            reason = _LIBRARY_REASONS.get(str(exc))
            if reason:
                raise WebhookVerificationError(reason) from exc
            continue
        except (json.JSONDecodeError, RecursionError):
            # The library parses the body only once a signature matched: it is genuine,
            # and parsing it is the next step's job.
            return
        return
    raise WebhookVerificationError("bad_signature")


def _decode_secrets(secrets: Sequence[str], *, setting: str) -> list[bytes]:
    if not secrets:
        raise SupplierAuthError(f"{setting} is not set: incoming webhooks cannot be verified.")
    keys = [_decode_secret(secret) for secret in secrets]
    if not all(keys):
        raise SupplierAuthError(f"{setting} holds a value that is not of the form whsec_<base64>.")
    return keys


def _decode_secret(secret: str) -> bytes:
    """The key bytes, or b"" when the secret is not base64."""
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        return b""


def _checked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The three signed headers, with only the well-formed v1 signatures kept."""
    webhook_id = headers.get("webhook-id", "").strip()
    timestamp = headers.get("webhook-timestamp", "").strip()
    signature_list = headers.get("webhook-signature", "").strip()
    if not (webhook_id and timestamp and signature_list):
        raise WebhookVerificationError("missing_headers")
    if not _UNIX_SECONDS.fullmatch(timestamp):
        raise WebhookVerificationError("malformed_timestamp")
    signatures = [entry for entry in signature_list.split() if _is_v1_signature(entry)]
    if not signatures:
        raise WebhookVerificationError("malformed_signature")
    return {"webhook-id": webhook_id, "webhook-timestamp": timestamp,
            "webhook-signature": " ".join(signatures)}


def _is_v1_signature(entry: str) -> bool:
    version, _, signature = entry.partition(",")
    if version != "v1" or not signature:
        return False
    try:
        base64.b64decode(signature, validate=True)
    except binascii.Error:
        return False
    return True
