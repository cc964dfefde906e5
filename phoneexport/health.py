"""Readiness of the parts PhoneExport cannot work without, for `/healthz` and operators."""

from datetime import datetime, timezone

import structlog
from django.core.cache import cache
from django.db import connections

from phoneexport.celery import app as celery_app

logger = structlog.get_logger(__name__)

WORKER_HEARTBEAT_KEY = "phoneexport:worker-heartbeat"


def check_database() -> dict:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means the database is unusable
        logger.warning("health_check_failed", component="database", error=str(exc))
        return {"ok": False, "vendor": connection.vendor, "error": exc.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict:
    transport = celery_app.conf.broker_url.split("://", 1)[0]
    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=3)
            client = getattr(connection.default_channel, "client", None)
            if client is not None:  # Redis: a channel opens lazily, so ask the server
                client.ping()
    except Exception as exc:  # any failure means tasks cannot be queued
        logger.warning("health_check_failed", component="broker", error=str(exc))
        return {"ok": False, "transport": transport, "error": exc.__class__.__name__}
    return {"ok": True, "transport": transport}


def record_worker_heartbeat(*, hostname: str) -> None:
    cache.set(WORKER_HEARTBEAT_KEY,
              {"at": datetime.now(timezone.utc).isoformat(), "hostname": hostname},
              timeout=None)


def last_worker_heartbeat() -> dict | None:
    try:
        return cache.get(WORKER_HEARTBEAT_KEY)
    except Exception as exc:  # the cache shares Redis with the broker: reported there
        logger.warning("health_check_failed", component="cache", error=str(exc))
        return None


def system_health() -> dict:
    """Database and broker decide readiness; the worker's heartbeat is reported alongside."""
    database, broker = check_database(), check_broker()
    return {
        "status": "ok" if database["ok"] and broker["ok"] else "unavailable",
        "database": database,
        "broker": broker,
        "worker": last_worker_heartbeat(),
    }
