"""PhoneExport settings: one module, every value from the environment (or `.env`).

Defaults are safe and need no server: SQLite in `var/`, a filesystem Celery broker and
file-based emails, so a fresh checkout runs with nothing installed. Production sets
`DATABASE_URL`, `REDIS_URL`, `EMAIL_URL` and `SECRET_KEY`; see `.env.encrypted.example`.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
import structlog
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# Runtime files of the embedded defaults: SQLite database, broker, cache, emails.
VAR_DIR = Path(env.str("PHONEEXPORT_VAR_DIR", default=str(BASE_DIR / "var")))

# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (see .env.encrypted.example)."
        )
    SECRET_KEY = "development-only-key-never-used-with-debug-off"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base URL used in emails and in the webhook URL given to suppliers.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Index operator classes (the catalogue's trigram search index); inert on SQLite.
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_structlog",
    "axes",
    "csp",
    "phoneexport",
    "customers",
    "inventory",
    "suppliers",
    "orders",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "suppliers.middleware.SupplierWebhookMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "customers.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    # Last, as django-axes requires: it turns a lockout raised in the views into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "phoneexport.urls"
WSGI_APPLICATION = "phoneexport.wsgi.application"
ASGI_APPLICATION = "phoneexport.asgi.application"
AUTH_USER_MODEL = "customers.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'phoneexport.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: WAL and immediate transactions avoid
    # "database is locked" between them.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file (not in-memory) test database, so a real worker process can see it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-phoneexport.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # Pages and tasks run many short queries side by side on a few cores: a parallel plan
    # (a deep catalogue page is one) only adds its workers' start-up and merge to each, and
    # takes cores from the other requests. Raise it for a database with cores to spare.
    DATABASES["default"]["OPTIONS"].setdefault(
        "options", "-c max_parallel_workers_per_gather={}".format(
            env.int("DATABASE_PARALLEL_WORKERS", default=0)))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Cache: shared by every process (PhoneX token, worker heartbeat) ---------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}
# Lets several installations (or a test run) share one Redis without meeting.
CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default="phoneexport")

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    BROKER_FOLDER = VAR_DIR / "broker"
    BROKER_FOLDER.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_FOLDER),
        "data_folder_out": str(BROKER_FOLDER),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
else:
    # A task not acknowledged within this time is delivered again: it must exceed the
    # hard time limit, or a long task would run twice (docs/operations.md).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "socket_connect_timeout": 5,
        # A worker takes from its queues in the order listed below: orders first.
        "queue_order_strategy": "priority",
    }
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="phoneexport")
# Emails and client webhooks wait in their own queue, which a worker serves once the orders'
# queue is empty: a burst of orders reaches the supplier first, the messages follow.
CELERY_MESSAGES_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}.messages"
# Each queue bound by its own name: with the default key, both would receive every task.
CELERY_TASK_QUEUES = [Queue(name, routing_key=name)
                      for name in (CELERY_TASK_DEFAULT_QUEUE, CELERY_MESSAGES_QUEUE)]
CELERY_TASK_ROUTES = {
    "notifications.tasks.send_notifications": {"queue": CELERY_MESSAGES_QUEUE},
    "notifications.tasks.send_due_notifications": {"queue": CELERY_MESSAGES_QUEUE},
    "notifications.tasks.deliver_client_webhooks": {"queue": CELERY_MESSAGES_QUEUE},
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Not 1: with the thread pool on Redis, kombu's blocking loop waits up to 2 s whenever every
# prefetch slot is taken, so a prefetch of one drains a 16-thread pool at a few tasks a second.
# Prefetched messages are unacknowledged (late acks): a dead worker's come back after the
# visibility timeout, and every task is safe to run twice (docs/operations.md).
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=64)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Defaults; django-celery-beat copies them into the database, where staff edit them.
CELERY_BEAT_SCHEDULE = {
    "inventory-delta-sync": {
        "task": "inventory.tasks.sync_inventory_delta",
        "schedule": timedelta(seconds=env.float("INVENTORY_DELTA_SYNC_SECONDS", default=300.0)),
    },
    "inventory-full-sync": {
        "task": "inventory.tasks.sync_inventory_full",
        "schedule": timedelta(seconds=env.float("INVENTORY_FULL_SYNC_SECONDS", default=3600.0)),
    },
    "sweep-webhook-events": {
        "task": "suppliers.tasks.sweep_webhook_events",
        "schedule": timedelta(seconds=60),
    },
    "reconcile-supplier-orders": {
        "task": "suppliers.tasks.reconcile_supplier_orders",
        "schedule": timedelta(seconds=env.float("RECONCILE_EVERY_SECONDS", default=300.0)),
    },
    "sweep-supplier-orders": {
        "task": "suppliers.tasks.sweep_supplier_orders",
        "schedule": timedelta(seconds=env.float("FORWARDING_SWEEP_SECONDS", default=60.0)),
    },
    "worker-heartbeat": {
        "task": "phoneexport.tasks.record_worker_heartbeat",
        "schedule": timedelta(seconds=env.int("WORKER_HEARTBEAT_SECONDS", default=30)),
    },
    "import-stock-lists": {
        "task": "inventory.tasks.import_stock_lists",
        "schedule": timedelta(seconds=env.float("STOCK_LIST_IMPORT_SECONDS", default=300.0)),
    },
    "alert-manual-queue": {
        "task": "suppliers.tasks.alert_waiting_manual_orders",
        "schedule": timedelta(seconds=env.float("MANUAL_QUEUE_CHECK_SECONDS", default=900.0)),
    },
    "sweep-notifications": {
        "task": "notifications.tasks.sweep_notifications",
        "schedule": timedelta(seconds=env.float("NOTIFICATION_SWEEP_SECONDS", default=60.0)),
    },
    "sweep-client-webhooks": {
        "task": "notifications.tasks.sweep_client_webhooks",
        "schedule": timedelta(seconds=env.float("CLIENT_WEBHOOK_SWEEP_SECONDS", default=30.0)),
    },
}
DJANGO_STRUCTLOG_CELERY_ENABLED = True

# --- Email ------------------------------------------------------------------------------
# Default: each message becomes a file in var/mail, readable and never sent.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="filemail://")
vars().update(EMAIL_CONFIG)
if EMAIL_CONFIG["EMAIL_BACKEND"].endswith("filebased.EmailBackend") and \
        not EMAIL_CONFIG.get("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="PhoneExport <orders@phoneexport.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The staff mailbox that receives every order event and every alert.
STAFF_EMAIL = env.str("STAFF_EMAIL", default="staff@phoneexport.example")

# Notifications are sent by drain tasks; a burst of events queues one, and a lost one is
# replaced after NOTIFICATION_WAKE_SECONDS. While at least NOTIFICATION_YIELD_BACKLOG webhook
# events and orders wait for a worker, messages wait (looking again every
# NOTIFICATION_YIELD_SECONDS), but none longer than NOTIFICATION_MAX_YIELD_SECONDS.
NOTIFICATION_WAKE_SECONDS = env.float("NOTIFICATION_WAKE_SECONDS", default=2.0)
NOTIFICATION_DRAIN_SECONDS = env.float("NOTIFICATION_DRAIN_SECONDS", default=30.0)
NOTIFICATION_DRAINS_PER_WORKER = env.int("NOTIFICATION_DRAINS_PER_WORKER", default=2)
NOTIFICATION_YIELD_BACKLOG = env.int("NOTIFICATION_YIELD_BACKLOG", default=20)
NOTIFICATION_YIELD_SECONDS = env.float("NOTIFICATION_YIELD_SECONDS", default=2.0)
NOTIFICATION_MAX_YIELD_SECONDS = env.float("NOTIFICATION_MAX_YIELD_SECONDS", default=300.0)

# --- Suppliers (see ../docs/suppliers.md and the supplier API contract) -------------------
SUPPLIER_TRANSPORT = env.str("SUPPLIER_TRANSPORT", default="direct")
if SUPPLIER_TRANSPORT not in {"direct", "phonex"}:
    raise ImproperlyConfigured("SUPPLIER_TRANSPORT must be 'direct' or 'phonex'.")
# With DEBUG on, the credentials default to those of the sandbox supplier that `make run`
# starts on port 8001, so both sides agree with no configuration. Never in production.
_SANDBOX_DEFAULTS = {
    "WESELLCELLULAR_API_KEY": "sandbox-development-key",
    "WESELLCELLULAR_WEBHOOK_SECRET": "whsec_c2FuZGJveC1kZXZlbG9wbWVudC13ZWJob29rLXNlY3JldA==",
    "PHONEX_API_TOKEN": "sandbox-development-phonex-token",
    "PHONEX_TENANT_ID": "phoneexport",
    "PHONEX_SUPPLIER_TENANT_ID": "wesellcellular",
}


def _supplier_setting(name: str) -> str:
    return env.str(name, default=_SANDBOX_DEFAULTS.get(name, "") if DEBUG else "")


WESELLCELLULAR_API_URL = env.str("WESELLCELLULAR_API_URL", default="http://127.0.0.1:8001")
WESELLCELLULAR_API_KEY = _supplier_setting("WESELLCELLULAR_API_KEY")
# Several secrets (space- or comma-separated) are accepted while one is being rotated.
WESELLCELLULAR_WEBHOOK_SECRET = _supplier_setting("WESELLCELLULAR_WEBHOOK_SECRET")
PHONEX_API_URL = env.str("PHONEX_API_URL", default="http://127.0.0.1:8001").rstrip("/")
PHONEX_API_TOKEN = _supplier_setting("PHONEX_API_TOKEN")
PHONEX_CLIENT_ID = env.str("PHONEX_CLIENT_ID", default="")
PHONEX_CLIENT_SECRET = env.str("PHONEX_CLIENT_SECRET", default="")
PHONEX_TOKEN_URL = env.str("PHONEX_TOKEN_URL", default=f"{PHONEX_API_URL}/oauth2/token")
PHONEX_TENANT_ID = _supplier_setting("PHONEX_TENANT_ID")
PHONEX_SUPPLIER_TENANT_ID = _supplier_setting("PHONEX_SUPPLIER_TENANT_ID")
SUPPLIER_CONNECT_TIMEOUT = env.float("SUPPLIER_CONNECT_TIMEOUT", default=3.05)
SUPPLIER_READ_TIMEOUT = env.float("SUPPLIER_READ_TIMEOUT", default=15.0)
# Supplier slug -> adapter class: a new supplier is one adapter module and one entry here.
SUPPLIER_ADAPTERS = {
    "wesellcellular": "suppliers.adapters.wesellcellular.WeSellCellularAdapter",
}
# Forwarding orders to suppliers (docs/operations.md).
# Transient failures retry with exponential backoff and full jitter: the first retry within
# about FORWARDING_RETRY_BASE_SECONDS, doubling up to FORWARDING_RETRY_CAP_SECONDS.
FORWARDING_RETRY_BASE_SECONDS = env.float("FORWARDING_RETRY_BASE_SECONDS", default=1.0)
FORWARDING_RETRY_CAP_SECONDS = env.float("FORWARDING_RETRY_CAP_SECONDS", default=180.0)
# Retries (forwarding, webhook processing) due within this long ride on a broker countdown;
# longer waits are left to the sweepers.
RETRY_COUNTDOWN_MAX_SECONDS = env.float("RETRY_COUNTDOWN_MAX_SECONDS", default=60.0)
# After this long without success an order needs attention and staff are told.
FORWARDING_DEADLINE_SECONDS = env.float("FORWARDING_DEADLINE_SECONDS", default=24 * 3600)
# A claim older than this belongs to a worker that died mid-call: the sweeper takes it back.
# One attempt may make three calls (token, call, call again after a 401).
FORWARDING_CLAIM_TIMEOUT_SECONDS = env.float(
    "FORWARDING_CLAIM_TIMEOUT_SECONDS",
    default=3 * (SUPPLIER_CONNECT_TIMEOUT + SUPPLIER_READ_TIMEOUT) + 30)
# After an unanswered call this old, look the order up by our reference before placing it again.
FORWARDING_LOOKUP_AFTER_SECONDS = env.float("FORWARDING_LOOKUP_AFTER_SECONDS", default=600.0)
# While a supplier refuses our credentials, one order probes it this often.
FORWARDING_PAUSE_PROBE_SECONDS = env.float("FORWARDING_PAUSE_PROBE_SECONDS", default=300.0)
# A price_changed refusal is re-sent at the new cost only if our margin stays above this (%).
FORWARDING_MIN_MARGIN_PERCENT = Decimal(env.str("FORWARDING_MIN_MARGIN_PERCENT", default="5"))
# An order that takes a client's open balance over this share of its credit limit waits for
# staff approval (so does one over the limit itself, and any order of a client on hold).
CREDIT_APPROVAL_SHARE = Decimal(env.str("CREDIT_APPROVAL_SHARE", default="0.8"))
FORWARDING_SWEEP_SECONDS = env.float("FORWARDING_SWEEP_SECONDS", default=60.0)
# Placed orders are sent by drain tasks, each claiming FORWARDING_BATCH due orders and sending
# them at the same time; a burst of orders queues one drain, and a lost one is replaced after
# FORWARDING_WAKE_SECONDS. A drain stops taking batches after FORWARDING_DRAIN_SECONDS
# (another takes over): with one batch's calls, well inside the task time limits.
FORWARDING_BATCH = env.int("FORWARDING_BATCH", default=16)
FORWARDING_WAKE_SECONDS = env.float("FORWARDING_WAKE_SECONDS", default=2.0)
FORWARDING_DRAIN_SECONDS = env.float("FORWARDING_DRAIN_SECONDS", default=30.0)
# With FORWARDING_BATCH, the most calls one worker process has open at the supplier at once.
FORWARDING_DRAINS_PER_WORKER = env.int("FORWARDING_DRAINS_PER_WORKER", default=2)

# Supplier webhooks (docs/operations.md).
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
# Each web process keeps the supplier row this long rather than reading it for every webhook;
# deactivating a supplier reaches its webhooks within this time.
WEBHOOK_SUPPLIER_CACHE_SECONDS = env.float("WEBHOOK_SUPPLIER_CACHE_SECONDS", default=10.0)
# Processing an event for an order not known yet (or that failed) is tried again, backing off.
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=5.0)
WEBHOOK_RETRY_CAP_SECONDS = env.float("WEBHOOK_RETRY_CAP_SECONDS", default=3600.0)
WEBHOOK_PROCESSING_MAX_ATTEMPTS = env.int("WEBHOOK_PROCESSING_MAX_ATTEMPTS", default=30)
WEBHOOK_PROCESSING_CLAIM_SECONDS = env.float("WEBHOOK_PROCESSING_CLAIM_SECONDS", default=120.0)
# Stored events are applied by drain tasks, each taking a batch; a burst of webhooks queues
# one drain, and a lost one is replaced after WEBHOOK_DRAIN_WAKE_SECONDS.
WEBHOOK_DRAIN_BATCH = env.int("WEBHOOK_DRAIN_BATCH", default=50)
WEBHOOK_DRAIN_WAKE_SECONDS = env.float("WEBHOOK_DRAIN_WAKE_SECONDS", default=2.0)
# A drain stops taking batches after this long (another takes over): well inside the task
# time limits and the claim.
WEBHOOK_DRAIN_SECONDS = env.float("WEBHOOK_DRAIN_SECONDS", default=30.0)
# Drains are CPU-bound: more at once in one worker process only contend for its GIL.
WEBHOOK_DRAINS_PER_WORKER = env.int("WEBHOOK_DRAINS_PER_WORKER", default=2)
# Open orders with no news from the supplier for this long are read from its API.
RECONCILE_AFTER_SECONDS = env.float("RECONCILE_AFTER_SECONDS", default=900.0)

# The sandbox supplier is test and demo equipment: it refuses to start unless enabled.
SANDBOX_SUPPLIER_ENABLED = env.bool("SANDBOX_SUPPLIER_ENABLED", default=DEBUG)

# --- Notifications (see ../docs/notifications.md) ------------------------------------------
# One SMTP conversation never blocks a worker for long (Django's default is no timeout).
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=30.0)
# A failed send is retried after about NOTIFICATION_RETRY_BASE_SECONDS, doubling up to the
# cap; after NOTIFICATION_MAX_ATTEMPTS attempts it is failed, shown and re-sendable in admin.
NOTIFICATION_RETRY_BASE_SECONDS = env.float("NOTIFICATION_RETRY_BASE_SECONDS", default=60.0)
NOTIFICATION_RETRY_CAP_SECONDS = env.float("NOTIFICATION_RETRY_CAP_SECONDS", default=3600.0)
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=8)
# A claim older than this belongs to a dead worker: no task outlives the hard time limit.
NOTIFICATION_CLAIM_TIMEOUT_SECONDS = env.float("NOTIFICATION_CLAIM_TIMEOUT_SECONDS",
                                               default=CELERY_TASK_TIME_LIMIT + 60)
# Staff are alerted once per window when this many webhooks fail their signature check in it.
WEBHOOK_SIGNATURE_ALERT_THRESHOLD = env.int("WEBHOOK_SIGNATURE_ALERT_THRESHOLD", default=10)
WEBHOOK_SIGNATURE_ALERT_WINDOW_SECONDS = env.int("WEBHOOK_SIGNATURE_ALERT_WINDOW_SECONDS",
                                                 default=300)

# --- Webhooks to clients' own systems (see ../docs/client-webhooks.md) -------------------
# Endpoints must be HTTPS; plain http to 127.0.0.1/localhost is allowed only with this on.
CLIENT_WEBHOOK_ALLOW_LOCALHOST = env.bool("CLIENT_WEBHOOK_ALLOW_LOCALHOST", default=DEBUG)
# A slow receiver holds a worker thread for at most about these.
CLIENT_WEBHOOK_CONNECT_TIMEOUT = env.float("CLIENT_WEBHOOK_CONNECT_TIMEOUT", default=3.05)
CLIENT_WEBHOOK_READ_TIMEOUT = env.float("CLIENT_WEBHOOK_READ_TIMEOUT", default=10.0)
# A failed attempt is retried after about CLIENT_WEBHOOK_RETRY_BASE_SECONDS, doubling up to the
# cap, until CLIENT_WEBHOOK_RETRY_WINDOW_SECONDS after the first attempt; then it is failed.
CLIENT_WEBHOOK_RETRY_BASE_SECONDS = env.float("CLIENT_WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
CLIENT_WEBHOOK_RETRY_CAP_SECONDS = env.float("CLIENT_WEBHOOK_RETRY_CAP_SECONDS", default=3600.0)
CLIENT_WEBHOOK_RETRY_WINDOW_SECONDS = env.float("CLIENT_WEBHOOK_RETRY_WINDOW_SECONDS",
                                                default=24 * 3600.0)
# This many failed attempts in a row (or one delivery failed for good) disables an endpoint.
CLIENT_WEBHOOK_DISABLE_AFTER_FAILURES = env.int("CLIENT_WEBHOOK_DISABLE_AFTER_FAILURES",
                                                default=50)
# After a rotation, the previous secret also signs deliveries for this long.
CLIENT_WEBHOOK_SECRET_GRACE_SECONDS = env.float("CLIENT_WEBHOOK_SECRET_GRACE_SECONDS",
                                                default=24 * 3600.0)
# A claim older than this belongs to a dead worker: the sweeper takes it back.
CLIENT_WEBHOOK_CLAIM_TIMEOUT_SECONDS = env.float("CLIENT_WEBHOOK_CLAIM_TIMEOUT_SECONDS",
                                                 default=CELERY_TASK_TIME_LIMIT + 60)

# --- Inventory and prices (docs/inventory.md) ---------------------------------------------
# The sync schedules are "inventory-delta-sync" and "inventory-full-sync" in CELERY_BEAT_SCHEDULE.
# Items asked for per feed page (the supplier allows 1 to 1000), and applied per transaction.
INVENTORY_SYNC_PAGE_SIZE = env.int("INVENTORY_SYNC_PAGE_SIZE", default=500)
INVENTORY_SYNC_BATCH_SIZE = env.int("INVENTORY_SYNC_BATCH_SIZE", default=10000)
# A delta sync asks for changes since the last successful sync started, less this margin for
# the difference between the supplier's clock and ours.
INVENTORY_DELTA_OVERLAP_SECONDS = env.int("INVENTORY_DELTA_OVERLAP_SECONDS", default=300)
# A complete feed that would take more than this share (%) of the products on sale out of stock
# at once waits for staff to confirm the removals: a broken export must not empty the catalogue.
INVENTORY_MAX_REMOVAL_PERCENT = Decimal(env.str("INVENTORY_MAX_REMOVAL_PERCENT", default="20"))
# A supplier cost that moves by more than this (%) at once is flagged for staff.
INVENTORY_COST_CHANGE_ALERT_PERCENT = Decimal(
    env.str("INVENTORY_COST_CHANGE_ALERT_PERCENT", default="15"))
# A sync that shows no progress for this long has died: another sync may take its lock.
INVENTORY_SYNC_LOCK_STALE_SECONDS = env.int("INVENTORY_SYNC_LOCK_STALE_SECONDS", default=900)
# The sync tasks' own limits: a large full feed outlasts CELERY_TASK_*_TIME_LIMIT. The hard
# limit must stay below CELERY_VISIBILITY_TIMEOUT, or a long sync would be delivered twice.
INVENTORY_SYNC_SOFT_TIME_LIMIT = env.int("INVENTORY_SYNC_SOFT_TIME_LIMIT", default=1500)
INVENTORY_SYNC_TIME_LIMIT = env.int("INVENTORY_SYNC_TIME_LIMIT", default=1800)
# Rejected items kept on a sync run with their reasons (every one is counted).
INVENTORY_MAX_RECORDED_REJECTIONS = env.int("INVENTORY_MAX_RECORDED_REJECTIONS", default=1000)
# Supplier stock lists dropped here (<folder>/<supplier slug>/full/ or /delta/) are imported.
STOCK_LIST_FOLDER = Path(env.str("STOCK_LIST_FOLDER", default=str(VAR_DIR / "stock-lists")))

# --- Manual route -----------------------------------------------------------------------
# Staff are alerted about a manual-route order not placed at the supplier after this long.
MANUAL_QUEUE_ALERT_HOURS = env.float("MANUAL_QUEUE_ALERT_HOURS", default=4.0)

# --- Auth and passwords -----------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: a locked-out sign-in is refused before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Password reset and invitation links stay valid this long.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)
# Sign-in throttling (django-axes), for client pages and admin alike: after
# LOGIN_FAILURE_LIMIT wrong passwords for one email address from one IP address, that pair
# is refused for LOGIN_LOCKOUT_MINUTES. Keyed on the pair so that an attacker elsewhere
# cannot lock a client out of their own office; staff can lift a lock early by deleting
# the access attempt in admin.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The sign-in forms post the email address as "username".
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- REST framework ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "phoneexport.api.exception_handler",
    # Counted per API token (per user), in the shared cache so every web process agrees.
    "DEFAULT_THROTTLE_CLASSES": ["phoneexport.api.PerTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_RATE_PER_TOKEN", default="600/minute"),
        "orders_create": env.str("API_ORDER_CREATE_RATE_PER_TOKEN", default="60/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PhoneExport API",
    "VERSION": "1.0.0",
    # The API docs page serves Swagger UI from our static files, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = VAR_DIR / "media"

# --- Security (production values unless DEBUG) ------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load-balancer probes speak plain HTTP
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content-Security-Policy (django-csp): our own origin only, no inline script or style, on
# every page, the admin and the API docs included. A page that needs an exception says so
# with django-csp's decorators rather than by loosening this.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # data: for the small SVG icons that stylesheets embed.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Logging: structured, JSON in production, readable in development --------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processor": (structlog.processors.JSONRenderer() if LOG_FORMAT == "json"
                          else structlog.dev.ConsoleRenderer(colors=False)),
            "foreign_pre_chain": [
                structlog.contextvars.merge_contextvars,
                structlog.processors.TimeStamper(fmt="iso"),
                structlog.stdlib.add_logger_name,
                structlog.stdlib.add_log_level,
            ],
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "urllib3": {"level": "WARNING"},
        # At DEBUG these log request headers (with the client secret) and tokens.
        "requests_oauthlib": {"level": "INFO"},
        "oauthlib": {"level": "INFO"},
    },
}
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.filter_by_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.processors.UnicodeDecoder(),
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    cache_logger_on_first_use=True,
)
