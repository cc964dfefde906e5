"""Enqueueing Celery tasks from services, after the transaction that made them necessary."""

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache as once

import redis
import structlog
from celery import Task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = structlog.get_logger(__name__)


def enqueue_on_commit(task: Task, *args, countdown: float | None = None, **kwargs) -> None:
    """Send the task once the current transaction commits, and only then.

    A broker outage at that moment is logged, not raised: the work is recorded in a row that
    a sweeper on beat enqueues again, and the caller's commit already happened.
    """
    transaction.on_commit(lambda: task.apply_async(args, kwargs, countdown=countdown),
                          robust=True)


def wake_on_commit(task: Task, *, flag: str, seconds: float) -> None:
    """After commit, enqueue `task` (which takes no arguments) unless one is already queued.

    For a task that drains a table of due rows: however many rows are stored, one waiting
    task will take them all, and publishing a message per row would cost more than storing
    it. `flag` is a shared-cache key meaning "a task is queued"; the task deletes it before
    it reads the table (`clear_wake_flag`), so a row stored after that wakes a new task. The
    flag expires after `seconds`: a lost message delays the rows by that long at most, and a
    sweeper covers a broker that loses its queue.
    """
    transaction.on_commit(lambda: wake(task, flag=flag, seconds=seconds), robust=True)


class BackgroundWaker:
    """Calls `wake` from a thread of this process, for work stored thousands of times a second.

    `wake_on_commit` costs every caller a round trip to Redis. Here a caller only marks that
    work is waiting, after its commit; the thread then makes one call to `wake` for every
    caller marked since its last one, and rests `interval` seconds before the next. A lone
    caller is served at once; under load the process makes at most one call per interval. A
    row committed before the thread's call is seen by the drain that the call queues (or by
    the one already queued), as with `wake_on_commit`. A process that dies between a commit
    and its thread's call leaves that row to the sweeper, as one dying before `wake` would.
    """

    REST_AFTER_FAILURE_SECONDS = 1.0

    def __init__(self, wake: Callable[[], None], *, name: str, interval: float):
        self.wake, self.name, self.interval = wake, name, interval
        self._started_in: int | None = None
        self._lock = threading.Lock()
        self._wanted = threading.Event()

    def wake_on_commit(self) -> None:
        transaction.on_commit(self._mark, robust=True)

    def _mark(self) -> None:
        if self._started_in != os.getpid():
            self._start()
        self._wanted.set()

    def _start(self) -> None:
        with self._lock:
            # A forked child inherits no threads: each process starts its own.
            if self._started_in == os.getpid():
                return
            self._wanted = threading.Event()
            threading.Thread(target=self._run, args=(self._wanted,), name=self.name,
                             daemon=True).start()
            self._started_in = os.getpid()

    def _run(self, wanted: threading.Event) -> None:
        while True:
            wanted.wait()
            # Cleared before the call: a caller marking from now on is served by the next.
            wanted.clear()
            try:
                self.wake()
            except Exception:
                # Those rows wait for the next call, or for the sweeper; while Redis or the
                # broker is down, one log line a second is enough.
                logger.exception("background_wake_failed", waker=self.name)
                time.sleep(max(self.interval, self.REST_AFTER_FAILURE_SECONDS))
            else:
                time.sleep(self.interval)


def wake(task: Task, *, flag: str, seconds: float, countdown: float | None = None) -> None:
    """Enqueue `task` now, or after `countdown`, unless the flag says one is queued."""
    if _set_flag(flag, seconds):
        task.apply_async(countdown=countdown)


def clear_wake_flag(flag: str) -> None:
    if settings.REDIS_URL:
        _redis().delete(_redis_key(flag))
    else:
        cache.delete(flag)


def drain_batches(*, flag: str, slots_name: str, slots: int, batch: int, seconds: float,
                  claim: Callable[[int], list], process: Callable[[list], None],
                  wake_another: Callable[[], None], any_due: Callable[[], bool],
                  give_way: Callable[[], bool] = lambda: False) -> int:
    """The loop of a drain task: claim and process batches of due rows until none is left,
    for `seconds` at most; returns how many rows were claimed.

    The wake flag is cleared before the first read, so a row stored from then on wakes a drain
    of its own. Each full batch first wakes another drain, so that drains share a backlog, up
    to `slots` in each process; a drain beyond that returns at once, its rows left to those at
    work, and the one that held the place wakes a drain for them as it leaves. `give_way` is
    asked before each batch: True stops the drain there (it arranges its own next look).
    """
    deadline = time.monotonic() + seconds
    clear_wake_flag(flag)
    claimed = 0
    with drain_slot(slots_name, slots=slots) as has_slot:
        while has_slot:
            if give_way():
                return claimed
            rows = claim(batch)
            if len(rows) == batch:
                wake_another()
            process(rows)
            claimed += len(rows)
            if len(rows) < batch or time.monotonic() > deadline:
                break
    if has_slot and any_due():
        wake_another()
    return claimed


_drain_slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_drain_slots_lock = threading.Lock()


@contextmanager
def drain_slot(name: str, *, slots: int) -> Iterator[bool]:
    """Take one of this process's `slots` places for drains called `name`; yields False if
    none is free.

    For CPU-bound drains in a worker's thread pool: more of them at once than the process
    can run only take turns at the interpreter lock, and slow each other down.
    """
    with _drain_slots_lock:
        semaphore = _drain_slots.setdefault((name, slots), threading.BoundedSemaphore(slots))
    taken = semaphore.acquire(blocking=False)
    try:
        yield taken
    finally:
        if taken:
            semaphore.release()


def _set_flag(flag: str, seconds: float) -> bool:
    # Straight to Redis when there is one: the cache API builds a client for each call,
    # which costs more than the command, and this runs for every webhook received.
    if settings.REDIS_URL:
        return bool(_redis().set(_redis_key(flag), 1, nx=True, px=int(seconds * 1000)))
    return cache.add(flag, 1, timeout=seconds)


def _redis_key(flag: str) -> str:
    return f"{settings.CACHES['default']['KEY_PREFIX']}:wake:{flag}"


@once
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5, socket_timeout=5)
