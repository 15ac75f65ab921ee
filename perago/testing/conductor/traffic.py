"""Request counters, injected faults, random fault rates, lost answers and added latency.

- ``inject(route, status, times)``: the next requests on a route fail with that status (tests);
- :class:`Faults` (``--fault-rate``, ``--ambiguous-rate``, ``--latency-ms`` on the CLI): a share of
  requests is refused before it is applied (429 or a 5xx, like an overloaded server or proxy); a share of
  task updates is applied and then its answer is lost (the connection drops, or a 502 comes back), so a
  client cannot tell whether its update landed; every request waits ``latency_ms`` first (a sleep that
  releases the GIL and holds no lock, so it slows clients, not the server).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

FAULT_STATUSES = (429, 500, 502, 503)
_EXEMPT = frozenset({"health", "token"})
LostAnswer = Literal["drop", "502"]


@dataclass(frozen=True)
class Faults:
    """Random faults the emulator injects (all off by default).

    Attributes:
        rate: Share (0..1) of requests answered with one of ``statuses`` instead of being applied.
        statuses: The statuses a refused request gets (picked at random).
        routes: Route names the rate applies to (None: every route but ``health`` and ``token``).
        ambiguous_rate: Share (0..1) of task updates applied and then answered with a dropped
            connection or a 502.
        latency_ms: Added delay before each request is handled.
        seed: Seed of the random choices (None: unseeded).
    """

    rate: float = 0.0
    statuses: tuple[int, ...] = FAULT_STATUSES
    routes: frozenset[str] | None = None
    ambiguous_rate: float = 0.0
    latency_ms: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("rate", "ambiguous_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name} must be between 0 and 1, got {value}")
        if self.latency_ms < 0:
            raise ValueError(f"Faults.latency_ms must be >= 0, got {self.latency_ms}")
        if not self.statuses or any(not 400 <= s <= 599 for s in self.statuses):
            raise ValueError(f"Faults.statuses must be HTTP error statuses, got {self.statuses}")


@dataclass
class Traffic:
    """Counts requests per route and decides which ones fail."""

    faults: Faults = field(default_factory=Faults)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counts: Counter[str] = field(default_factory=Counter)
    _injected: dict[str, list[int]] = field(default_factory=dict)
    _random: random.Random = field(default_factory=random.Random)

    def configure(self, faults: Faults) -> None:
        """Replace the random fault settings."""
        with self._lock:
            self.faults = faults
            self._random = random.Random(faults.seed)

    def delay(self) -> None:
        """Sleep the configured latency (called before any lock is taken)."""
        if self.faults.latency_ms > 0:
            time.sleep(self.faults.latency_ms / 1000)

    def record(self, route: str) -> int | None:
        """Count one request to ``route``; return an HTTP status to refuse it with, or None."""
        with self._lock:
            self._counts[route] += 1
            pending = self._injected.get(route)
            if pending:
                return pending.pop(0)
            faults = self.faults
            in_scope = route not in _EXEMPT and (faults.routes is None or route in faults.routes)
            if in_scope and faults.rate > 0 and self._random.random() < faults.rate:
                return self._random.choice(faults.statuses)
            return None

    def lose_answer(self, route: str, update_routes: frozenset[str]) -> LostAnswer | None:
        """For an applied task update: whether (and how) its answer is lost."""
        with self._lock:
            rate = self.faults.ambiguous_rate
            if route not in update_routes or rate <= 0 or self._random.random() >= rate:
                return None
            return "drop" if self._random.random() < 0.5 else "502"

    def count(self, route: str | None = None) -> int:
        """Requests seen on ``route`` (all routes when None)."""
        with self._lock:
            return sum(self._counts.values()) if route is None else self._counts[route]

    def inject(self, route: str, status: int, times: int) -> None:
        """Fail the next ``times`` requests to ``route`` with ``status``."""
        with self._lock:
            self._injected.setdefault(route, []).extend([status] * times)
