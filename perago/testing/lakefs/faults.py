"""Faults and timing for the emulator: queued faults for tests, random ones for soaks, added latency.

Per request, in this order: added latency (a plain ``time.sleep`` in the request's own thread, which releases the
GIL, so other requests proceed), then a queued fault for the operation if any, else a random one:

- ``status``: answer 429/5xx before doing anything (the error lakeFS gives when it is overloaded or a store
  fails);
- ``drop``: close the connection without doing anything;
- ``lose``: do the operation, then close the connection without answering -- the change is applied but the client
  never hears so (a proxy timeout or a dropped connection after the server committed).

Random faults hit API operations (not presigned transfers) with ``fault_rate`` (per operation overrides in
``route_rates``) and ``ambiguous_rate``; ``seed`` makes a run reproducible.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

# the messages lakeFS answers with these statuses (controller.go handleApiErrorCallback)
MESSAGES = {
    429: "Too many attempts, try again later",
    500: "internal server error (emulated fault)",
    502: "Bad Gateway",
    503: "Throughput exceeded. Slow down and retry",
    504: "Gateway Timeout",
}


@dataclass
class FaultOptions:
    """Random faults and latency (all off by default)."""

    latency_s: float = 0.0
    fault_rate: float = 0.0
    statuses: tuple[int, ...] = (429, 500, 503)
    ambiguous_rate: float = 0.0
    route_rates: dict[str, float] = field(default_factory=dict)
    seed: int | None = None

    def __post_init__(self) -> None:
        rates = [self.fault_rate, self.ambiguous_rate, *self.route_rates.values()]
        if any(not 0 <= r <= 1 for r in rates):
            raise ValueError(f"fault rates must be between 0 and 1, got {rates}")
        if self.latency_s < 0:
            raise ValueError(f"latency must not be negative, got {self.latency_s} s")
        if self.fault_rate + self.ambiguous_rate > 1:
            raise ValueError("fault_rate + ambiguous_rate must not exceed 1")


@dataclass(frozen=True)
class Decision:
    """What to do with one request: sleep, then fail (status), drop, or answer-then-lose."""

    latency_s: float = 0.0
    status: int | None = None
    drop: bool = False
    lose: bool = False


class Faults:
    """Thread-safe fault plan of one emulator."""

    def __init__(self, options: FaultOptions | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(options or FaultOptions())
        self._queued: dict[str, list[str | int]] = {}
        self.latency: dict[str, float] = {}

    def configure(self, options: FaultOptions) -> None:
        with self._lock:
            self.options = options
            self._random = random.Random(options.seed)

    def queue(self, operation_id: str, fault: str | int, times: int) -> None:
        with self._lock:
            self._queued.setdefault(operation_id, []).extend([fault] * times)

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()
            self.latency.clear()
            self.options = FaultOptions(seed=self.options.seed)

    def decide(self, operation_id: str, api: bool = True) -> Decision:
        with self._lock:
            latency = self.latency.get(operation_id, 0.0) + self.options.latency_s
            queue = self._queued.get(operation_id)
            if queue:
                return _queued(latency, queue.pop(0))
            if not api:
                return Decision(latency)
            rate = self.options.route_rates.get(operation_id, self.options.fault_rate)
            roll = self._random.random()
            if roll < rate:
                return Decision(latency, status=self._random.choice(self.options.statuses))
            if roll < rate + self.options.ambiguous_rate:
                return Decision(latency, lose=True)
            return Decision(latency)


def _queued(latency: float, fault: str | int) -> Decision:
    if fault == "drop":
        return Decision(latency, drop=True)
    if fault == "lose":
        return Decision(latency, lose=True)
    return Decision(latency, status=int(fault))
