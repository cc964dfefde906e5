"""Reads shared by the items of one batch.

A drain that applies fifty webhook events in one transaction would otherwise read the same
company's recipients and webhook endpoints once per event. Inside `batch_memo()`, `memoized`
keeps each answer for the rest of the batch; outside one it reads afresh every time, so
callers that handle one item at a time are unchanged. The memo lives in a context variable:
each worker thread has its own.
"""

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")
_memo: ContextVar[dict | None] = ContextVar("batch_memo", default=None)


@contextmanager
def batch_memo() -> Iterator[None]:
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def memoized(key: Hashable, read: Callable[[], T]) -> T:
    memo = _memo.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]
