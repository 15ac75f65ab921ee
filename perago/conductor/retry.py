"""Retrying transient Conductor failures (429, 5xx, dropped connections) with exponential backoff and jitter.

Two budgets. A call made for a running attempt (the fence's read of the task, a lease extension, the final update)
retries for as long as the attempt can still matter: until its lease would run out, i.e. the task's
``responseTimeoutSeconds`` after the last extension (after that Conductor times the task out and schedules a
retry, so the answer no longer matters). Every other call (the start-up check, a hand-back) retries
``http_retries`` times. Each wait doubles from 0.1 s up to 5 s, times a random factor in [0.5, 1.5) so that many
workers do not retry in step. The clock, the sleep and the random source are injectable: tests never sleep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from perago.errors import ConductorError

T = TypeVar("T")

FIRST_DELAY_S = 0.1
MAX_DELAY_S = 5.0


@dataclass
class Retry:
    """A retry policy for :class:`ConductorError` whose ``retryable`` is true.

    Attributes:
        retries: Retries when the call has no time budget.
        sleep: Waits between tries.
        clock: Measures a time budget (seconds, monotonic).
        rng: A source of floats in [0, 1) for the jitter.
    """

    retries: int
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (0-based): exponential, capped, jittered."""
        return float(min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** min(attempt, 16)) * (0.5 + self.rng()))

    def run(self, call: Callable[[], T], within_s: float | None = None) -> T:
        """``call()``, retried on retryable errors: for ``within_s`` seconds when given, else ``retries`` times.

        The first try always happens; a retry is made only if its wait ends inside the budget. The last error is
        raised as it was.
        """
        deadline = None if within_s is None else self.clock() + within_s
        attempt = 0
        while True:
            try:
                return call()
            except ConductorError as exc:
                if not exc.retryable:
                    raise
                wait = self.delay(attempt)
                if deadline is None and attempt >= self.retries:
                    raise
                if deadline is not None and self.clock() + wait > deadline:
                    raise
            self.sleep(wait)
            attempt += 1
