import importlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = "/usr/bin/chromium"
# This machine's network is closed: without these flags Chromium keeps dialling out at start.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ARTIFACTS = ROOT / "var" / "test-artifacts"


def _redis_reachable() -> str | None:
    if not settings.REDIS_URL:
        return "REDIS_URL is not set"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at REDIS_URL does not answer ({exc})"
    return None


def _missing_service(marker: str) -> str | None:
    if marker == "postgres" and connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if marker == "redis":
        return _redis_reachable()
    if marker == "browser" and not Path(CHROMIUM).exists():
        return f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_runtest_setup(item):
    for marker in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker) and (reason := _missing_service(marker)):
            if IN_CI:
                pytest.fail(f"CI=true and a service is missing: {reason}", pytrace=False)
            pytest.skip(reason)


def pytest_report_header(config):
    return [f"database: {settings.DATABASES['default']['ENGINE']}",
            f"broker: {settings.CELERY_BROKER_URL.split('://')[0]}",
            f"CI: {IN_CI}"]


def database_url() -> str:
    """The test database, as a URL another process (a worker) can open."""
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def spawn_worker(*, name: str, env: dict[str, str] | None = None,
                 concurrency: int = 4) -> subprocess.Popen:
    """A real Celery worker in its own process, on the test database and the test queue."""
    log_path = Path(settings.VAR_DIR) / f"celery-{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "phoneexport", "worker", "--pool", "threads",
             "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip",
             "--without-mingle", "--hostname", f"{name}@%h",
             "-Q", ",".join(queue.name for queue in settings.CELERY_TASK_QUEUES)],
            cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url(), **(env or {})},
            stdout=log, stderr=subprocess.STDOUT)
    worker.log_path = log_path
    wait_until(lambda: b" ready." in log_path.read_bytes() or worker.poll() is not None,
               timeout=60)
    if worker.poll() is not None:
        pytest.fail(f"the worker exited: {log_path.read_text()[-2000:]}")
    return worker


def stop_worker(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


@pytest.fixture
def start_worker(django_db_setup):
    """Start workers with extra environment (a sandbox's URL, short timeouts...)."""
    workers = []

    def start(*, name: str = "worker", **env: str) -> subprocess.Popen:
        workers.append(spawn_worker(name=name, env=env))
        return workers[-1]

    yield start
    for worker in workers:
        if worker.poll() is None:
            stop_worker(worker)


def wait_until(condition, *, timeout: float = 30, interval: float = 0.1):
    """Poll until condition() is truthy and return its value; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.WEBHOOK_SUPPLIER_CACHE_SECONDS = 0  # tests change suppliers between requests
    # Sign-in throttling refuses authenticate() calls without a request, as the test client's
    # login() makes them; tests/test_security.py turns it on to test it.
    settings.AXES_ENABLED = False
    # Pages render without `collectstatic`, which production runs at deploy time.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    # A request leaves its language active in the thread; each test starts in the default.
    translation.activate(settings.LANGUAGE_CODE)
    # Catalogue filter values are cached for minutes; each test makes its own products.
    from django.core.cache import cache

    from inventory.selectors import FACETS_CACHE_KEY
    from notifications.tasks import SEND_QUEUED_FLAG
    from phoneexport.queueing import clear_wake_flag
    from suppliers.tasks import FORWARDING_QUEUED_FLAG
    from suppliers.webhooks import DRAIN_QUEUED_FLAG

    cache.delete(FACETS_CACHE_KEY)
    if settings.REDIS_URL:
        # A flag saying a drain is queued, left by an earlier test whose task no worker ran,
        # would hold this test's work back.
        for flag in (FORWARDING_QUEUED_FLAG, DRAIN_QUEUED_FLAG, SEND_QUEUED_FLAG):
            clear_wake_flag(flag)
    else:
        # SQLite gives a rolled-back test's primary keys to the next test: keys per user (API
        # throttling) would carry over. This file cache belongs to the test run alone.
        cache.clear()


@pytest.fixture(autouse=True, scope="session")
def _clean_test_var_dir():
    shutil.rmtree(Path(settings.VAR_DIR) / "broker", ignore_errors=True)
    (Path(settings.VAR_DIR) / "broker").mkdir(parents=True, exist_ok=True)


SANDBOX_CREDENTIALS = {
    "api_key": "sandbox-test-api-key",
    "phonex_api_token": "sandbox-test-phonex-token",
    "phonex_client_id": "sandbox-test-client",
    "phonex_client_secret": "sandbox-test-client-secret",
    "phonex_tenant_id": "phoneexport-test",
    "phonex_supplier_tenant_id": "wsc-test",
    "webhook_secret": "whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm",
}
# How PhoneExport reaches the sandbox: direct, PhoneX with a static token, PhoneX with OAuth.
SUPPLIER_ROUTES = ("direct", "phonex", "phonex-oauth")


def sandbox_environment(sandbox, route: str = "direct") -> dict[str, str]:
    """The environment that points another process (a worker) at a sandbox."""
    oauth = route == "phonex-oauth"
    credentials = SANDBOX_CREDENTIALS
    return {
        "SUPPLIER_TRANSPORT": route.split("-")[0],
        "WESELLCELLULAR_API_URL": sandbox.base_url,
        "WESELLCELLULAR_API_KEY": credentials["api_key"],
        "WESELLCELLULAR_WEBHOOK_SECRET": credentials["webhook_secret"],
        "PHONEX_API_URL": sandbox.base_url,
        "PHONEX_TOKEN_URL": sandbox.token_url,
        "PHONEX_API_TOKEN": credentials["phonex_api_token"],
        "PHONEX_CLIENT_ID": credentials["phonex_client_id"] if oauth else "",
        "PHONEX_CLIENT_SECRET": credentials["phonex_client_secret"] if oauth else "",
        "PHONEX_TENANT_ID": credentials["phonex_tenant_id"],
        "PHONEX_SUPPLIER_TENANT_ID": credentials["phonex_supplier_tenant_id"],
    }


def point_settings_at_sandbox(settings, sandbox, route: str) -> None:
    for name, value in sandbox_environment(sandbox, route).items():
        setattr(settings, name, value)


@pytest.fixture
def start_sandbox(settings):
    """Start a sandbox supplier in this process and point PhoneExport's settings at it."""
    from django.core.cache import cache

    from suppliers.sandbox import SandboxConfig, SandboxSupplier

    started = []

    def start(*, route: str = "direct", **config):
        sandbox = SandboxSupplier(SandboxConfig(**{**SANDBOX_CREDENTIALS, "skus": 300, "seed": 7,
                                                   "webhook_backoff_seconds": 0.05, **config}))
        started.append(sandbox.start())
        point_settings_at_sandbox(settings, sandbox, route)
        cache.clear()  # no PhoneX token from an earlier sandbox
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


# The rows that data migrations create: a transactional test's flush removes them.
REFERENCE_DATA = [("suppliers.migrations.0002_wesellcellular", "add_wesellcellular"),
                  ("inventory.migrations.0003_vocabularies", "add_vocabularies"),
                  ("inventory.migrations.0005_default_pricing_rule", "add_default_rule")]


@pytest.fixture
def reference_data(transactional_db):
    """The supplier, vocabularies and default pricing rule, for tests that commit for real."""
    from django.apps import apps

    for module, function in REFERENCE_DATA:
        getattr(importlib.import_module(module), function)(apps, None)


@pytest.fixture
def browser_page(request):
    """A fresh page in headless Chromium. Tests using it need the `browser` marker and a
    live server (`live_server`); call `screenshot(page, name)` to keep a step as an artifact."""
    from playwright.sync_api import sync_playwright

    # Playwright runs an event loop in this thread; Django's ORM would refuse to run there.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
            # Queries run while Playwright's loop was up opened connections of their own.
            from django.db import connections

            connections.close_all()


def screenshot(page, name: str) -> Path:
    """Keep a screenshot of the page under var/test-artifacts/ (CI keeps that folder)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
