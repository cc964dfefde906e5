"""Tasks that exist only for benchmarks; a worker loads them with `--include`."""

import time

from celery import shared_task
from django.core.cache import cache

DONE_KEY = "benchmark:sleep-tasks-done"


@shared_task(ignore_result=True)
def sleep_50ms() -> None:
    """The bare baseline: what the pool drains when a task only waits 50 ms on the network."""
    time.sleep(0.05)
    cache.incr(DONE_KEY)
