"""The fault knobs in force, changed at run time, and the seeded dice that decide each fault."""

import random
import threading
from typing import Any, Mapping

from .config import Faults


class FaultInjector:
    """Current faults behind a lock; one seeded RNG, so a sequential run repeats exactly."""

    def __init__(self, *, initial: Faults, seed: int):
        self._initial = initial
        self._seed = seed
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._faults = self._initial
            self._rng = random.Random(f"{self._seed}:faults")

    @property
    def current(self) -> Faults:
        return self._faults

    def update(self, changes: Mapping[str, Any]) -> Faults:
        """Apply a partial update; ValueError leaves the faults as they were."""
        with self._lock:
            self._faults = self._faults.updated(changes)
            return self._faults

    def roll(self, rate_name: str) -> bool:
        """True with the probability held by the knob `rate_name`."""
        with self._lock:
            rate = getattr(self._faults, rate_name)
            return rate > 0 and self._rng.random() < rate

    def take_api_failure(self) -> str | None:
        """The kind of failure this API call suffers, or None; `fail_next` goes first."""
        with self._lock:
            faults = self._faults
            if faults.fail_next > 0:
                self._faults = faults.updated({"fail_next": faults.fail_next - 1})
                return faults.error_kind
            if faults.error_rate > 0 and self._rng.random() < faults.error_rate:
                return faults.error_kind
            return None

    def take_lost_answer(self) -> str | None:
        """How the answer of a successful write is lost, or None; `lose_next_answers` goes first."""
        with self._lock:
            faults = self._faults
            if faults.lose_next_answers > 0:
                self._faults = faults.updated({"lose_next_answers": faults.lose_next_answers - 1})
                return faults.answer_lost_kind
            if faults.answer_lost_rate > 0 and self._rng.random() < faults.answer_lost_rate:
                return faults.answer_lost_kind
            return None
