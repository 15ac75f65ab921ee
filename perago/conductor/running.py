"""One running attempt inside the worker: its identity, cancel flag, metrics, and the runtime call."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conductor.client.http.models.task import Task

from perago.conductor.attempt import execution_id_for, task_input
from perago.conductor.gate import AttemptGate
from perago.execution import TaskExecutionContext
from perago.models import AttemptSnapshot, DownloadRecord, StagedWorkspace
from perago.result import RuntimeTaskResult
from perago.runtime import run_workspace_free_task_attempt, run_workspace_task_attempt
from perago.task import TaskDefinition

if TYPE_CHECKING:
    from perago.conductor.metrics import WorkerMetrics
    from perago.conductor.worker import Worker


@dataclass
class Running:
    """An attempt in flight; ``abandoned`` once the worker handed it back to Conductor on shutdown."""

    task: Task
    attempt: AttemptSnapshot
    cancel: threading.Event
    abandoned: bool = False
    stale: bool = False

    def abandon(self) -> None:
        """Mark the attempt as given up: stop it at the next phase boundary, and never report its result."""
        self.abandoned = True
        self.cancel.set()


def _metered(definition: TaskDefinition, callbacks: dict[str, Any], metrics: WorkerMetrics) -> dict[str, Any]:
    """Wrap the store's download and stage callbacks to count bytes and files."""
    download, stage = callbacks["download_workspace"], callbacks["stage_workspace"]

    def download_workspace(workspace_input: Any, workspace_spec: Any, workspace_dir: Any) -> DownloadRecord | None:
        record: DownloadRecord | None = download(workspace_input, workspace_spec, workspace_dir)
        if record is not None:
            metrics.bytes.labels(task=definition.name, direction="download").inc(record.bytes_downloaded)
            metrics.files.labels(task=definition.name, direction="download").inc(len(record.entries))
        return record

    def stage_workspace(
        workspace_dir: Any, workspace_input: Any, workspace_spec: Any, execution: TaskExecutionContext
    ) -> StagedWorkspace:
        staged: StagedWorkspace = stage(workspace_dir, workspace_input, workspace_spec, execution)
        upserted = execution.diff.upserted if execution.diff is not None else ()
        after = execution.after or {}
        metrics.bytes.labels(task=definition.name, direction="upload").inc(sum(after[p].size for p in upserted))
        metrics.files.labels(task=definition.name, direction="upload").inc(len(upserted))
        return staged

    return callbacks | {"download_workspace": download_workspace, "stage_workspace": stage_workspace}


def _current(worker: Worker, task_id: str) -> Task | None:
    """The fence's read of the task: transient failures retried within the attempt's remaining lease."""
    return worker.api.get_task(task_id, within_s=worker.lease.remaining(task_id))


def run_attempt(
    worker: Worker, definition: TaskDefinition, running: Running, callbacks: dict[str, Any]
) -> RuntimeTaskResult:
    """Run one delivery through the runtime, with metrics."""
    settings, metrics = worker.settings, worker.metrics
    events, task_id, execution_id = worker.events, running.attempt.task_id, execution_id_for(running.task)
    common: dict[str, Any] = {
        "execution_id": execution_id,
        "failure_reason_max_length": settings.failure_reason_max_length,
        "cancel_event": running.cancel,
        "secrets": settings.secret_values(),
        "on_event": (listener := events.listener(task_id, execution_id)),
    }
    # The polled conductor Task itself is the attempt (the seed's contract): the fence compares it with the task
    # as re-read from the server.
    metrics.in_flight.labels(task=definition.name).inc()
    started = time.monotonic()
    # The gate: memo, the step's earlier merge, concurrency keys, and now()'s chain start (perago.conductor.gate).
    gate = AttemptGate(worker.gate_services, definition, running.task, running.cancel, listener)
    common["chain_started_ms"] = gate.chain_started_ms
    try:
        with gate:
            if definition.workspace is None:
                result = gate.blocked_free() or run_workspace_free_task_attempt(
                    definition, task_input(running.task), attempt=running.task, **common
                )
            else:
                result = run_workspace_task_attempt(
                    definition,
                    task_input(running.task),
                    running.task,
                    settings.workspace_root,
                    find_earlier_result=gate.find_earlier_result,
                    load_current_attempt=lambda _: _current(worker, task_id),
                    owner_worker_id=worker.worker_id,
                    full_rehash=settings.full_rehash,
                    **gate.callbacks(_metered(definition, callbacks, metrics)),
                    **common,
                )
            result = gate.finish(result)
    finally:
        metrics.in_flight.labels(task=definition.name).dec()
        metrics.duration.labels(task=definition.name).observe(time.monotonic() - started)
    outcome = "abandoned" if running.abandoned else result.status.lower()
    metrics.attempts.labels(task=definition.name, outcome=outcome).inc()
    # The worker reports neither an abandoned attempt nor a stale one: their last events are sent now instead.
    return events.settle(task_id, execution_id, result, reported=not (running.abandoned or result.is_stale))
