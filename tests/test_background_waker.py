"""BackgroundWaker: callers after commit, one call for each burst, from a thread."""

import threading
import time

import pytest

from phoneexport.queueing import BackgroundWaker
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db
INTERVAL = 0.2


class Recorder:
    def __init__(self, *, fail_first=False):
        self.calls = 0
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            self.calls += 1
            if self.fail_first and self.calls == 1:
                raise ConnectionError("Redis is restarting")


def test_nothing_is_called_before_commit(django_capture_on_commit_callbacks):
    wake = Recorder()
    waker = BackgroundWaker(wake, name="test-waker", interval=INTERVAL)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        waker.wake_on_commit()
    time.sleep(INTERVAL)
    assert wake.calls == 0

    callbacks[0]()
    wait_until(lambda: wake.calls == 1, timeout=5, interval=0.01)


def test_a_burst_of_callers_makes_one_or_two_calls_and_a_later_caller_one_more(
        django_capture_on_commit_callbacks):
    wake = Recorder()
    waker = BackgroundWaker(wake, name="test-waker", interval=INTERVAL)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(200):
            waker.wake_on_commit()
    # The first caller is served at once; those marked meanwhile share the next call.
    wait_until(lambda: wake.calls >= 1, timeout=5, interval=0.01)
    time.sleep(INTERVAL * 3)
    assert wake.calls in (1, 2)
    burst_calls = wake.calls

    with django_capture_on_commit_callbacks(execute=True):
        waker.wake_on_commit()
    wait_until(lambda: wake.calls == burst_calls + 1, timeout=5, interval=0.01)


def test_a_failed_call_is_logged_and_the_next_caller_is_served(
        django_capture_on_commit_callbacks, caplog):
    wake = Recorder(fail_first=True)
    waker = BackgroundWaker(wake, name="test-waker", interval=0.01)
    with django_capture_on_commit_callbacks(execute=True):
        waker.wake_on_commit()
    wait_until(lambda: "background_wake_failed" in caplog.text, timeout=5, interval=0.01)
    with django_capture_on_commit_callbacks(execute=True):
        waker.wake_on_commit()
    wait_until(lambda: wake.calls == 2, timeout=5, interval=0.01)
