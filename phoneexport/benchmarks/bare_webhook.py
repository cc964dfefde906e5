"""The bare baseline for webhook ingestion: check an HMAC, insert a row, answer. Nothing else.

A WSGI app served by the same gunicorn settings as PhoneExport, on the same database.
"""

import base64
import hashlib
import hmac
import os
import threading

import psycopg2

SECRET = base64.b64decode(os.environ["BARE_WEBHOOK_SECRET"].removeprefix("whsec_"))
_local = threading.local()


def _connection():
    if getattr(_local, "connection", None) is None:
        _local.connection = psycopg2.connect(os.environ["BARE_WEBHOOK_DSN"])
        _local.connection.autocommit = True
    return _local.connection


def signed(environ: dict, body: bytes) -> bool:
    """Whether the request's HMAC is the one the secret gives; `environ` may be a request's META."""
    signed_content = (f"{environ.get('HTTP_WEBHOOK_ID', '')}."
                      f"{environ.get('HTTP_WEBHOOK_TIMESTAMP', '')}.").encode() + body
    expected = base64.b64encode(hmac.new(SECRET, signed_content, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected,
                               environ.get("HTTP_WEBHOOK_SIGNATURE", "").split(",", 1)[-1])


INSERT = "INSERT INTO bench_bare_webhook (webhook_id, body) VALUES (%s, %s)"
ANSWER = b'{"status": "accepted"}'


def application(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    if not signed(environ, body):
        start_response("401 Unauthorized", [("Content-Length", "0")])
        return [b""]
    with _connection().cursor() as cursor:
        cursor.execute(INSERT, (environ.get("HTTP_WEBHOOK_ID", ""), body.decode()))
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(ANSWER)))])
    return [ANSWER]
