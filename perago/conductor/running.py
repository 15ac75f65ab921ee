"""One running attempt inside the worker: its identity, cancel flag, metrics, and the runtime call."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conductor.client.http.models.task import Task

from perago.conductor.attempt import attempt_snapshot, execution_id_for, task_input
from perago.errors import WorkerShuttingDownError
from perago.models import AttemptSnapshot, DownloadRecord, StagedWorkspace, StageRequest
from perago.result import RuntimeTaskResult, result_for_exception
from perago.runtime import run_workspace_free_task_attempt, run_workspace_task_attempt
from perago.task import TaskDefinition

if TYPE_CHECKING:
    from perago.conductor.metrics import WorkerMetrics
    from perago.conductor.worker import Worker


@dataclass
class Running:
    """An attempt in flight; ``abandoned`` once the worker reported it failed on shutdown."""

    task: Task
    attempt: AttemptSnapshot
    cancel: threading.Event
    abandoned: bool = False
    stale: bool = False

    def abandon(self) -> None:
        """Mark the attempt as given up: stop it at the next phase boundary, and never report its result."""
        self.abandoned = True
        self.cancel.set()


def shutdown_result(running: Running, max_length: int) -> RuntimeTaskResult:
    """The retryable failure a worker reports for an attempt it could not finish before exiting."""
    error = WorkerShuttingDownError(
        f"worker shutting down before task {running.attempt.task_id} finished; Conductor will reschedule it"
    )
    return result_for_exception(error, max_length)


def _metered(definition: TaskDefinition, callbacks: dict[str, Any], metrics: WorkerMetrics) -> dict[str, Any]:
    """Wrap the store's download and stage callbacks to count bytes and files."""
    download, stage = callbacks["download_workspace"], callbacks["stage_workspace"]

    def download_workspace(workspace: Any, spec: Any, directory: Any) -> DownloadRecord | None:
        record: DownloadRecord | None = download(workspace, spec, directory)
        if record is not None:
            metrics.bytes.labels(task=definition.name, direction="download").inc(record.bytes_downloaded)
            metrics.files.labels(task=definition.name, direction="download").inc(len(record.entries))
        return record

    def stage_workspace(request: StageRequest) -> StagedWorkspace:
        staged: StagedWorkspace = stage(request)
        upserted = request.diff.upserted
        metrics.bytes.labels(task=definition.name, direction="upload").inc(sum(request.after[p].size for p in upserted))
        metrics.files.labels(task=definition.name, direction="upload").inc(len(upserted))
        return staged

    return callbacks | {"download_workspace": download_workspace, "stage_workspace": stage_workspace}


def run_attempt(
    worker: Worker, definition: TaskDefinition, running: Running, callbacks: dict[str, Any]
) -> RuntimeTaskResult:
    """Run one delivery through the runtime, with metrics."""
    settings, metrics = worker.settings, worker.metrics
    common: dict[str, Any] = {
        "execution_id": execution_id_for(running.task),
        "failure_reason_max_length": settings.failure_reason_max_length,
        "cancel_event": running.cancel,
        "secrets": settings.secret_values(),
    }
    metrics.in_flight.labels(task=definition.name).inc()
    started = time.monotonic()
    try:
        if definition.workspace is None:
            result = run_workspace_free_task_attempt(definition, task_input(running.task), running.attempt, **common)
        else:
            result = run_workspace_task_attempt(
                definition,
                task_input(running.task),
                running.attempt,
                settings.workspace_root,
                load_current_attempt=lambda _: _reread(worker, running),
                owner_worker_id=worker.worker_id,
                full_rehash=settings.full_rehash,
                **_metered(definition, callbacks, metrics),
                **common,
            )
    finally:
        metrics.in_flight.labels(task=definition.name).dec()
        metrics.duration.labels(task=definition.name).observe(time.monotonic() - started)
    outcome = "abandoned" if running.abandoned else result.status.lower()
    metrics.attempts.labels(task=definition.name, outcome=outcome).inc()
    return result


def _reread(worker: Worker, running: Running) -> AttemptSnapshot | None:
    current = worker.api.get_task(running.attempt.task_id)
    return attempt_snapshot(current) if current is not None else None
