"""Request counters and injected faults per route name."""

from __future__ import annotations

import threading
from collections import Counter


class Traffic:
    """Counts requests per route and returns injected fault statuses."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._faults: dict[str, list[int]] = {}

    def record(self, route: str) -> int | None:
        """Count one request to ``route``; return an HTTP status to fail it with, or None."""
        with self._lock:
            self._counts[route] += 1
            pending = self._faults.get(route)
            if pending:
                return pending.pop(0)
            return None

    def count(self, route: str | None = None) -> int:
        """Requests seen on ``route`` (all routes when None)."""
        with self._lock:
            return sum(self._counts.values()) if route is None else self._counts[route]

    def inject(self, route: str, status: int, times: int) -> None:
        """Fail the next ``times`` requests to ``route`` with ``status``."""
        with self._lock:
            self._faults.setdefault(route, []).extend([status] * times)
