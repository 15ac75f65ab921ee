"""Lease keeping: extend running attempts' leases and notice when an attempt went stale.

One thread serves every in-flight attempt. At ``fraction`` x ``responseTimeoutSeconds`` after an attempt's last
extension it sends an ``extendLease`` update, then re-reads the task; if the task is no longer IN_PROGRESS with the
same pollCount and workerId (timed out, cancelled, re-delivered), it sets the attempt's cancel event, so the
runtime stops at its next phase boundary and publishes nothing. conductor-python's own lease tracker ignores the
answer and never learns that it lost the lease; this is the difference.

Each lease also knows its deadline: ``responseTimeoutSeconds`` after the last extension the server sent (or the
poll), when Conductor times the task out. :meth:`LeaseKeeper.remaining` is the time budget within which every
Conductor call of the attempt (the extension itself, the fence's read, the final update) retries transient failures.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from conductor.client.http.models.task import Task
from loguru import logger

from perago.attempt import assert_current_attempt_snapshot
from perago.conductor.client import ConductorApi
from perago.errors import PeragoError, StaleAttemptError
from perago.models import AttemptSnapshot


@dataclass
class _Lease:
    task: Task
    attempt: AttemptSnapshot
    cancel: threading.Event
    interval_s: float
    due: float
    timeout_s: float
    deadline: float


class LeaseKeeper:
    """Keeps the leases of in-flight attempts (see the module docstring)."""

    def __init__(
        self,
        api: ConductorApi,
        worker_id: str,
        *,
        clock: Callable[[], float],
        fraction: float = 0.5,
        on_stale: Callable[[Task], None] = lambda task: None,
        tick_s: float = 0.2,
    ) -> None:
        self._api = api
        self._worker_id = worker_id
        self._clock = clock
        self._fraction = fraction
        self._on_stale = on_stale
        self._tick_s = tick_s
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def track(self, task: Task, attempt: AttemptSnapshot, cancel: threading.Event) -> None:
        """Start keeping the lease of ``task`` (no-op for tasks without a response timeout)."""
        timeout = int(task.response_timeout_seconds or 0)
        if timeout <= 0:
            return
        interval = max(0.05, timeout * self._fraction)
        now = self._clock()
        with self._lock:
            self._leases[attempt.task_id] = _Lease(
                task, attempt, cancel, interval, now + interval, timeout, now + timeout
            )

    def remaining(self, task_id: str) -> float | None:
        """Seconds until the lease of ``task_id`` runs out (at least 0); None when it is not kept (no timeout)."""
        with self._lock:
            lease = self._leases.get(task_id)
        return None if lease is None else max(0.0, lease.deadline - self._clock())

    def forget(self, task_id: str) -> None:
        """Stop keeping a lease (the attempt finished)."""
        with self._lock:
            self._leases.pop(task_id, None)

    def tick(self) -> None:
        """Extend and check every lease that is due now."""
        now = self._clock()
        with self._lock:
            due = [lease for lease in self._leases.values() if lease.due <= now]
        for lease in due:
            lease.due = now + lease.interval_s
            self._keep(lease)

    def _keep(self, lease: _Lease) -> None:
        try:
            sent = self._clock()
            self._api.extend_lease(lease.task, self._worker_id, within_s=max(0.0, lease.deadline - sent))
            lease.deadline = sent + lease.timeout_s
            current = self._api.get_task(lease.attempt.task_id, within_s=max(0.0, lease.deadline - self._clock()))
            assert_current_attempt_snapshot(lease.attempt, current)
        except StaleAttemptError as exc:
            logger.warning("lease lost, stopping attempt: {}", exc)
            lease.cancel.set()
            self.forget(lease.attempt.task_id)
            self._on_stale(lease.task)
        except PeragoError as exc:
            logger.warning("could not extend the lease of task {}: {}", lease.attempt.task_id, exc)

    def start(self) -> None:
        """Run :meth:`tick` on a daemon thread every ``tick_s`` seconds."""
        self._thread = threading.Thread(target=self._run, name="perago-lease", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._tick_s):
            self.tick()

    def stop(self) -> None:
        """Stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
