"""Loaded before Django (pytest -p): the environment a test run needs.

A test run keeps its files, queue and cache keys apart from a `make run` on the same machine.
"""

import os
import uuid
from pathlib import Path

_RUN = uuid.uuid4().hex[:8]
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-used-anywhere-else")
os.environ.setdefault("PHONEEXPORT_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))
os.environ["CELERY_QUEUE"] = f"phoneexport-test-{_RUN}"
os.environ["CACHE_KEY_PREFIX"] = f"phoneexport-test-{_RUN}"
# Tests talk to local servers over plain HTTP.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
