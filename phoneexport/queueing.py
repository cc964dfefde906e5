"""Enqueueing Celery tasks from services, after the transaction that made them necessary."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache as once

import redis
from celery import Task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction


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


def wake(task: Task, *, flag: str, seconds: float, countdown: float | None = None) -> None:
    """Enqueue `task` now, or after `countdown`, unless the flag says one is queued."""
    if _set_flag(flag, seconds):
        task.apply_async(countdown=countdown)


def clear_wake_flag(flag: str) -> None:
    if settings.REDIS_URL:
        _redis().delete(_redis_key(flag))
    else:
        cache.delete(flag)


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
