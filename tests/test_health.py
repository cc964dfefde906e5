import json
import time

import pytest
from django.conf import settings
from django.db import connection

from phoneexport.health import last_worker_heartbeat
from phoneexport.tasks import record_worker_heartbeat
from tests.conftest import wait_until
from tests.test_settings import run_django

HEALTHZ = ("from django.test import Client; r = Client().get('/healthz', HTTP_HOST='localhost'); "
           "print(r.status_code); print(r.content.decode())")


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": connection.vendor}
    assert body["broker"] == {"ok": True,
                              "transport": settings.CELERY_BROKER_URL.split("://")[0]}


def test_healthz_is_503_when_the_database_is_down():
    result = run_django(HEALTHZ, DEBUG="true",
                        DATABASE_URL="sqlite:////nonexistent-directory/phoneexport.sqlite3")
    status, body = result.stdout.split("\n", 1)
    assert status == "503", result.stderr
    report = json.loads(body)
    assert report["status"] == "unavailable"
    assert report["database"]["ok"] is False
    assert report["broker"]["ok"] is True


def test_healthz_is_503_when_the_broker_is_down():
    # Nothing listens on port 9 (discard): the broker is unreachable.
    result = run_django(HEALTHZ, DEBUG="true", REDIS_URL="redis://127.0.0.1:9/0")
    status, body = result.stdout.split("\n", 1)
    assert status == "503", result.stderr
    report = json.loads(body)
    assert report["broker"] == {"ok": False, "transport": "redis",
                                "error": report["broker"]["error"]}
    assert report["database"]["ok"] is True


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db
def test_healthz_on_postgres_and_redis(client):
    body = client.get("/healthz").json()
    assert body["database"]["vendor"] == "postgresql"
    assert body["broker"]["transport"] == "redis"


def test_a_task_sent_by_the_web_process_runs_in_the_worker(start_worker):
    worker = start_worker(name="heartbeat")
    sent_at = time.time()
    record_worker_heartbeat.delay()

    def heartbeat_after_send():
        heartbeat = last_worker_heartbeat()
        return heartbeat if heartbeat and _epoch(heartbeat["at"]) >= sent_at else None

    heartbeat = wait_until(heartbeat_after_send, timeout=60)
    assert heartbeat["hostname"]
    assert worker.poll() is None


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
