"""The worker: poll Conductor for every task type, run each attempt through the runtime, report, shut down cleanly.

In-process use (tests, the demo, benchmarks)::

    worker = Worker(tasks, settings)          # tasks: list[TaskDefinition]
    worker.start()                            # pollers + lease keeper on daemon threads
    ...
    worker.stop(drain_timeout_s=30)           # stop polling, drain, hand the rest back

    Worker(tasks, settings).run_until_idle()  # "burst" mode: run until nothing arrives for idle_s, then stop
    Worker(tasks, settings).serve_forever()   # until SIGTERM/SIGINT (the CLI); a second signal exits at once

A task delivered after shutdown began (a long poll in flight), and an attempt still running when the drain time is
up, is handed back with an IN_PROGRESS update and ``callbackAfterSeconds=0``: Conductor re-queues the same task id
at once (``WorkflowExecutorOps.updateTask`` sets a worker task's IN_PROGRESS result back to SCHEDULED), so a deploy
never spends a task's retries. A handed-back attempt that is still running stops at its next phase boundary (its
cancel flag is set), and the fence keeps it from publishing even if it does not notice: the task is no longer
IN_PROGRESS, and after the re-delivery its pollCount no longer matches.

Every Conductor call an attempt makes (the fence's read, lease extensions, the final update) retries transient
failures within the attempt's remaining lease (:mod:`perago.conductor.retry`). A result that still cannot be
reported is logged as LOST, with everything the attempt did (its task-log lines).

Per task type: one poller thread asks only for as many tasks as it has free slots (batch poll, long-poll), and each
task runs on its own daemon thread; the update-v2 answer (the next task of that type) runs on the same thread
without a new poll. Each delivery gets a unique execution id ``<taskId>-s<scheduledTime>-p<pollCount>``; the
worker id is ``<host>-<pid>-<random>`` so that two processes on one host never share one.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from conductor.client.http.models.task import Task
from loguru import logger

from perago.conductor.attempt import to_task_result
from perago.conductor.client import ConductorApi
from perago.conductor.events import EventStream
from perago.conductor.gate import GateServices
from perago.conductor.lease import LeaseKeeper
from perago.conductor.metrics import WorkerMetrics
from perago.conductor.running import Running, run_attempt
from perago.conductor.startup import check_poll_timeout
from perago.errors import PeragoError
from perago.models import AttemptSnapshot
from perago.result import RuntimeTaskResult
from perago.settings import PeragoSettings
from perago.task import TaskDefinition
from perago.workspace import gc_attempt_workspaces


def new_worker_id() -> str:
    """``<host>-<pid>-<6 hex>``: unique per process, readable in Conductor's UI."""
    return f"{socket.gethostname()}-{os.getpid()}-{random.getrandbits(24):06x}"


class Worker:
    """Polls Conductor for ``tasks`` and runs their attempts (see the module docstring)."""

    def __init__(
        self,
        tasks: Sequence[TaskDefinition],
        settings: PeragoSettings | None = None,
        *,
        store: Any = None,
        api: ConductorApi | None = None,
        clock: Callable[[], float] = time.monotonic,
        worker_id: str | None = None,
        lease_fraction: float = 0.5,
        lease_tick_s: float = 0.2,
    ) -> None:
        self.settings = settings or PeragoSettings()
        check_poll_timeout(self.settings)
        self.tasks = {t.name: t for t in tasks}
        self.worker_id = worker_id or new_worker_id()
        self.api = api or ConductorApi(self.settings)
        self.metrics = WorkerMetrics()
        self.lease = LeaseKeeper(
            self.api,
            self.worker_id,
            clock=clock,
            fraction=lease_fraction,
            on_stale=self._lease_lost,
            tick_s=lease_tick_s,
        )
        self._store = store
        self._callbacks: dict[str, Any] | None = None
        self._stopping = threading.Event()
        self._cond = threading.Condition()
        self._busy: dict[str, int] = dict.fromkeys(self.tasks, 0)
        self._running: dict[str, Running] = {}
        self._pollers: list[threading.Thread] = []
        self._last_work = time.monotonic()
        self.completed = 0
        # Shared by every attempt of this worker: the task-log event sender and the gate's lakeFS services
        # (memo, locks). Both are cheap until first used.
        self.events = EventStream(self.api.add_log, self.worker_id)
        self.gate_services = GateServices(self)

    # -- configuration ------------------------------------------------------------------------------------------
    def concurrency(self, definition: TaskDefinition) -> int:
        """Threads for this task type: the setting when given, else the task's own."""
        return self.settings.concurrency or definition.concurrency

    @property
    def store(self) -> Any:
        """The workspace store (perago's lakeFS store unless one was given), built on first use."""
        self.store_callbacks()
        return self._store

    def store_callbacks(self) -> dict[str, Any]:
        """The lakeFS store callbacks (built on first use, only when a workspace task runs)."""
        if self._callbacks is None:
            if self._store is None:
                from perago.lakefs.store import LakeFSWorkspaceStore

                self._store = LakeFSWorkspaceStore.from_settings(self.settings)
            self._callbacks = dict(self._store.callbacks())
        return self._callbacks

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Collect abandoned attempt directories, then start the lease keeper and one poller per task type."""
        gc_attempt_workspaces(self.settings.workspace_root, ttl_s=self.settings.workspace_ttl_s)
        self.lease.start()
        for definition in self.tasks.values():
            thread = threading.Thread(
                target=self._poll_loop, args=(definition,), name=f"perago-poll-{definition.name}", daemon=True
            )
            thread.start()
            self._pollers.append(thread)

    def request_stop(self) -> None:
        """Stop polling at once (signal-handler safe); :meth:`stop` then drains."""
        self._stopping.set()

    def stop(self, drain_timeout_s: float | None = None, cleanup_grace_s: float = 10.0) -> None:
        """Stop polling, let running attempts finish for ``drain_timeout_s``, then hand the rest back to Conductor."""
        drain = self.settings.drain_timeout_s if drain_timeout_s is None else drain_timeout_s
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._running, timeout=drain)
            leftovers = list(self._running.values())
        for running in leftovers:
            running.abandon()  # set the cancel flag first: it must not report after the hand-back
            logger.warning("handing back task {}: still running after the {} s drain", running.attempt.task_id, drain)
            self._release(running.task)
        with self._cond:
            self._cond.wait_for(lambda: not self._running, timeout=cleanup_grace_s)
        self.lease.stop()
        for thread in self._pollers:
            thread.join(timeout=max(1.0, self.settings.poll_timeout_ms / 1000 + 1))
        with self._cond:  # tasks a last in-flight poll delivered are being handed back
            self._cond.wait_for(lambda: not any(self._busy.values()), timeout=cleanup_grace_s)

    def run_until_idle(self, idle_s: float = 0.5, timeout_s: float = 300.0) -> int:
        """Burst mode: start, run until no task arrived for ``idle_s`` and none runs, stop; returns tasks reported."""
        self.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._cond:
                idle = not self._running and time.monotonic() - self._last_work >= idle_s
            if idle:
                break
            time.sleep(min(0.05, idle_s / 4))
        self.stop()
        return self.completed

    def serve_forever(self) -> None:
        """Run until :meth:`request_stop` (the CLI's signal handler), then drain and stop."""
        self.start()
        self._stopping.wait()
        self.stop()

    # -- polling and running ------------------------------------------------------------------------------------
    def _free_slots(self, definition: TaskDefinition) -> int:
        with self._cond:
            self._cond.wait_for(
                lambda: self._stopping.is_set() or self._busy[definition.name] < self.concurrency(definition)
            )
            return 0 if self._stopping.is_set() else self.concurrency(definition) - self._busy[definition.name]

    def _poll_loop(self, definition: TaskDefinition) -> None:
        failures = 0
        while not self._stopping.is_set():
            free = self._free_slots(definition)
            if not free:
                continue
            try:
                polled = self.api.batch_poll(
                    definition.name, self.worker_id, free, self.settings.poll_timeout_ms, self.settings.domain
                )
                failures = 0
            except PeragoError as exc:
                failures += 1
                logger.warning("polling {} failed ({}); retrying", definition.name, exc)
                self._stopping.wait(min(10.0, 0.2 * 2**failures))
                continue
            for task in polled:
                self._launch(definition, task)
            if not polled and self.settings.poll_timeout_ms == 0:
                self._stopping.wait(self.settings.poll_interval_s)

    def _launch(self, definition: TaskDefinition, task: Task) -> None:
        with self._cond:
            self._busy[definition.name] += 1
            self._last_work = time.monotonic()
        threading.Thread(
            target=self._chain, args=(definition, task), name=f"perago-{definition.name}", daemon=True
        ).start()

    def _chain(self, definition: TaskDefinition, task: Task | None) -> None:
        try:
            while task is not None:
                if self._stopping.is_set():
                    self._release(task)
                    return
                task = self._run_one(definition, task)
        finally:
            with self._cond:
                self._busy[definition.name] -= 1
                self._last_work = time.monotonic()
                self._cond.notify_all()

    def _run_one(self, definition: TaskDefinition, task: Task) -> Task | None:
        running = Running(task, AttemptSnapshot.of(task), threading.Event())
        with self._cond:
            self._running[running.attempt.task_id] = running
        self.lease.track(task, running.attempt, running.cancel)
        try:
            callbacks = self.store_callbacks() if definition.workspace is not None else {}
            result = run_attempt(self, definition, running, callbacks)
        finally:
            budget = self.lease.remaining(running.attempt.task_id)
            self.lease.forget(running.attempt.task_id)
            with self._cond:
                self._running.pop(running.attempt.task_id, None)
                self._cond.notify_all()
        if running.abandoned:
            return None
        if running.stale or result.error_type == "StaleAttemptError":
            self.metrics.fenced.labels(task=definition.name).inc()  # once per attempt, however it was noticed
        if result.is_stale:
            logger.warning("not reporting stale attempt of task {}: {}", task.task_id, result.reason_for_incompletion)
            return None
        return self._report(task, result, budget)

    def _report(self, task: Task, result: RuntimeTaskResult, within_s: float | None) -> Task | None:
        try:
            next_task = self.api.update(to_task_result(task, self.worker_id, result), within_s=within_s)
        except PeragoError as exc:
            # The task log never reached Conductor: keep what the attempt did (published commits included) here.
            lines = "".join(f"\n  {line}" for line in result.logs)
            logger.error("result {} of task {} LOST: {}; the attempt's log:{}", result.status, task.task_id, exc, lines)
            return None
        with self._cond:
            self.completed += 1
            self._last_work = time.monotonic()
        if next_task is None or not next_task.task_id:
            return None
        if self._stopping.is_set() or next_task.task_def_name not in self.tasks:
            self._release(next_task)
            return None
        return next_task

    def _release(self, task: Task) -> None:
        """Hand back a task that was delivered after shutdown began, without spending one of its retries."""
        try:
            self.api.release(task, self.worker_id)
        except PeragoError as exc:
            logger.warning("could not hand back task {} (Conductor will time it out): {}", task.task_id, exc)

    def _lease_lost(self, task: Task) -> None:
        with self._cond:
            running = self._running.get(task.task_id or "")
            if running is not None:
                running.stale = True
