"""Settings come from the environment; bad or missing values fail clearly at start."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_LIKE = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "-production-like-secret-key-" + "y" * 20,
    "ALLOWED_HOSTS": "phoneexport.example",
    "DATABASE_URL": "postgres://phoneexport@db.internal:5432/phoneexport",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:password@smtp.internal:587",
    "SITE_URL": "https://phoneexport.example",
}


def run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run Python with Django set up, in a clean process with exactly this environment."""
    base = {key: value for key, value in os.environ.items()
            if key in {"PATH", "HOME", "LANG", "PHONEEXPORT_VAR_DIR"}}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT, env={**base, "DJANGO_SETTINGS_MODULE": "phoneexport.settings", **env},
        capture_output=True, text=True, timeout=60)


def test_missing_secret_key_with_debug_off_fails_clearly():
    result = run_django("pass", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_on_runs_without_a_secret_key():
    result = run_django("from django.conf import settings; print(settings.DEBUG)", DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_unknown_supplier_transport_is_refused():
    result = run_django("pass", DEBUG="true", SUPPLIER_TRANSPORT="carrier-pigeon")
    assert result.returncode != 0
    assert "SUPPLIER_TRANSPORT must be 'direct' or 'phonex'" in result.stderr


def test_embedded_defaults_need_no_server():
    result = run_django(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.EMAIL_BACKEND)",
        DEBUG="true")
    assert result.returncode == 0, result.stderr
    engine, broker, email_backend = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert broker == "filesystem://"
    assert email_backend == "django.core.mail.backends.filebased.EmailBackend"


def test_environment_urls_choose_postgres_redis_and_smtp():
    result = run_django(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.EMAIL_BACKEND, "
        "s.EMAIL_HOST, s.EMAIL_USE_TLS, s.CACHES['default']['BACKEND'])",
        **PRODUCTION_LIKE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql", "redis://redis.internal:6379/0",
        "django.core.mail.backends.smtp.EmailBackend", "smtp.internal", "True",
        "django.core.cache.backends.redis.RedisCache"]


def test_check_deploy_passes_with_production_values():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": os.environ["PATH"], **PRODUCTION_LIKE})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_each_task_reaches_one_queue_and_messages_wait_in_their_own():
    from phoneexport.celery import app

    bindings = [queue.routing_key for queue in app.amqp.queues.values()]
    assert len(set(bindings)) == len(bindings) == 2  # one binding each: no task is copied
    route = app.amqp.router.route
    assert route({}, "notifications.tasks.send_notifications")["queue"].name.endswith(
        ".messages")
    assert route({}, "suppliers.tasks.forward_supplier_order")["queue"].name == \
        app.conf.task_default_queue
