"""The emulator's engine: one lock around the store, the executor and every API operation.

A Condition on the lock wakes long-polling workers as soon as a task is queued and callers of
:meth:`Engine.wait_for_workflow` as soon as a workflow ends. Workflow operations (retry, rerun, search
...) are in :mod:`operations` and :mod:`search`; they run under the same lock.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from perago.testing.conductor import lifecycle, polling, updates
from perago.testing.conductor.clock import Clock
from perago.testing.conductor.definitions import Definitions
from perago.testing.conductor.errors import ApiError, invalid, not_found
from perago.testing.conductor.executor import Executor
from perago.testing.conductor.model import TaskRecord, WorkflowRecord
from perago.testing.conductor.store import Store

MAX_POLL_TIMEOUT_MS = 5000  # ExecutionService.MAX_POLL_TIMEOUT_MS


class Engine:
    """Conductor's execution semantics over an in-memory store."""

    def __init__(self, clock: Clock, definitions: Definitions | None = None) -> None:
        self.clock = clock
        self.definitions = definitions or Definitions()
        self.store = Store()
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.executor = Executor(clock, self.definitions, self.store, self.changed)

    def now_ms(self) -> int:
        """Current time in epoch milliseconds."""
        return int(self.clock.now() * 1000)

    # -- workflows -------------------------------------------------------------------------------

    def start_workflow(self, request: dict[str, Any]) -> str:
        """Start a workflow from a StartWorkflowRequest JSON object and return its id.

        With ``idempotencyKey`` a second start answers per ``idempotencyStrategy``: RETURN_EXISTING hands
        back the existing id, FAIL (default) 409s, FAIL_ON_RUNNING 409s only while that one runs.
        """
        if not request.get("name") and not request.get("workflowDef"):
            raise invalid("Workflow name cannot be null or empty")
        with self.lock:
            existing = self._idempotent(request)
            if existing is not None:
                return existing
            return lifecycle.start_workflow(self.executor, {**request, "workflowId": None}).workflow_id

    def _idempotent(self, request: dict[str, Any]) -> str | None:
        key = request.get("idempotencyKey")
        if not key:
            return None
        same = [w for w in self.store.workflows.values() if w.idempotency_key == key and w.name == request.get("name")]
        if not same:
            return None
        strategy = request.get("idempotencyStrategy") or "FAIL"
        if strategy == "RETURN_EXISTING":
            return same[0].workflow_id
        if strategy == "FAIL_ON_RUNNING" and all(w.terminal for w in same):
            return None
        raise ApiError(409, f"Workflow with idempotency key {key} already exists: {same[0].workflow_id}")

    def workflow(self, workflow_id: str) -> WorkflowRecord:
        """Return the workflow record or raise 404 (caller holds the lock)."""
        workflow = self.store.workflows.get(workflow_id)
        if workflow is None:
            raise not_found(f"No such workflow found by id: {workflow_id}")
        return workflow

    def get_workflow(self, workflow_id: str, *, include_tasks: bool = True) -> dict[str, Any]:
        """The Workflow JSON (a removed but archived workflow too, as Conductor reads it from its index)."""
        with self.lock:
            workflow = self.store.workflows.get(workflow_id)
            if workflow is not None:
                return workflow.to_json(include_tasks=include_tasks)
            archived = self.store.archived.get(workflow_id)
            if archived is None:
                raise not_found(f"No such workflow found by id: {workflow_id}")
            return {**archived, "tasks": archived["tasks"] if include_tasks else []}

    def terminate(self, workflow_id: str, reason: str | None) -> None:
        """WorkflowExecutorOps.terminateWorkflow: COMPLETED is 409, TERMINATED a no-op, others end TERMINATED."""
        with self.lock:
            workflow = self.workflow(workflow_id)
            if workflow.status == "COMPLETED":
                raise ApiError(409, "Cannot terminate a COMPLETED workflow.")
            if workflow.status == "TERMINATED":
                return
            workflow.status = "TERMINATED"
            lifecycle.terminate_workflow(self.executor, workflow, reason)
            self.executor.decide(workflow)

    def wait_for_workflow(self, workflow_id: str, timeout_s: float) -> dict[str, Any]:
        """Block until the workflow is no longer RUNNING; return its JSON or raise TimeoutError."""
        deadline = time.monotonic() + timeout_s
        with self.changed:
            workflow = self.workflow(workflow_id)
            while not workflow.terminal:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    tasks = ", ".join(f"{t.reference_task_name}={t.status}" for t in workflow.tasks)
                    raise TimeoutError(
                        f"workflow {workflow_id} ({workflow.name}) still {workflow.status} after {timeout_s} s; "
                        f"tasks: {tasks or 'none'}"
                    )
                self.changed.wait(remaining)
            return workflow.to_json()

    def execute(self, request: dict[str, Any], wait_refs: list[str], wait_s: float) -> dict[str, Any]:
        """WorkflowResource.executeWorkflow: start, then wait until it ends (or ``wait_refs`` ran) or ``wait_s``."""
        workflow_id = self.start_workflow(request)
        deadline = time.monotonic() + wait_s
        with self.changed:
            workflow = self.workflow(workflow_id)
            while not workflow.terminal and not self._reached(workflow, wait_refs):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.changed.wait(remaining)
            run = workflow.to_json()
        keys = ("workflowId", "correlationId", "createTime", "updateTime", "input", "output", "priority")
        summary = {key: run[key] for key in keys} | {"status": run["status"], "tasks": run["tasks"]}
        return summary | {"variables": run["variables"], "requestId": request.get("requestId")}

    @staticmethod
    def _reached(workflow: WorkflowRecord, refs: list[str]) -> bool:
        return bool(refs) and all((t := workflow.task_by_ref(ref)) is not None and t.terminal for ref in refs)

    def sweep(self) -> None:
        """Re-evaluate the workflows that are due (timeouts, WAIT deadlines, delayed starts); wake pollers."""
        with self.changed:
            now_ms = self.now_ms()
            for workflow_id, due in list(self.store.due.items()):
                workflow = self.store.workflows.get(workflow_id)
                if workflow is None or workflow.terminal:
                    self.store.due.pop(workflow_id, None)
                elif due <= now_ms:
                    self.executor.decide(workflow)
            self.changed.notify_all()

    # -- tasks -----------------------------------------------------------------------------------

    def task(self, task_id: str) -> TaskRecord:
        """Return the task record or raise 404 (caller holds the lock)."""
        task = self.store.tasks.get(task_id)
        if task is None:
            raise not_found(f"Task not found for taskId: {task_id}")
        return task

    def get_task(self, task_id: str) -> dict[str, Any]:
        """Return the Task JSON (404 ``Task not found for taskId``, TaskResource.getTask)."""
        with self.lock:
            return self.task(task_id).to_json()

    def poll(
        self, task_type: str, worker_id: str | None, domain: str | None, count: int = 1, timeout_ms: int = 0
    ) -> list[dict[str, Any]]:
        """Hand out up to ``count`` tasks, waiting up to ``timeout_ms`` for the first one."""
        if timeout_ms > MAX_POLL_TIMEOUT_MS:
            raise invalid("Long Poll Timeout value cannot be more than 5 seconds")
        deadline = time.monotonic() + max(timeout_ms, 0) / 1000
        with self.changed:
            while True:
                tasks = polling.take(self.executor, task_type, worker_id, domain or None, max(count, 1))
                remaining = deadline - time.monotonic()
                if tasks or remaining <= 0:
                    return [task.to_json() for task in tasks]
                self.changed.wait(remaining)

    def update(self, result: dict[str, Any]) -> TaskRecord | None:
        """Apply a TaskResult (``POST /api/tasks``); None for a lease extension."""
        with self.lock:
            return updates.apply_result(self.executor, result)

    def update_v2(self, result: dict[str, Any]) -> dict[str, Any] | None:
        """TaskResource.updateTaskV2: apply, then poll the next task of that type -- only for a terminal result."""
        with self.lock:
            task = updates.apply_result(self.executor, result)
            if task is None or not task.terminal:
                return None
            worker_id = result.get("workerId")
            delivered = polling.take(self.executor, task.task_type, worker_id, task.domain, 1)
            return delivered[0].to_json() if delivered else None

    def update_by_ref(
        self, workflow_id: str, reference: str, status: str, worker_id: str | None, output: dict[str, Any]
    ) -> str | None:
        """TaskServiceImpl.updateTask(workflowId, taskRefName, status, workerId, output)."""
        with self.lock:
            pending = updates.pending_task(self.executor, workflow_id, reference)
            return self._update_pending(pending, status, output, worker_id)

    def signal(self, workflow_id: str, status: str, output: dict[str, Any]) -> str | None:
        """TaskServiceImpl.signalTask: update the workflow's blocking WAIT (or one in a running child)."""
        with self.lock:
            return self._update_pending(updates.blocking_task(self.executor, workflow_id), status, output, None)

    def _update_pending(
        self, pending: TaskRecord | None, status: str, output: dict[str, Any], worker_id: str | None
    ) -> str | None:
        """Apply ``new TaskResult(pending)`` with ``status`` and extra ``output``; the task id, or None."""
        if pending is None:
            return None
        updated = updates.apply_result(self.executor, updates.result_of(pending, status, output, worker_id))
        return None if updated is None else updated.task_id

    # -- logs, queues ------------------------------------------------------------------------------

    def add_log(self, task_id: str, text: str) -> None:
        """ExecutionService.log: stored with the current time (no check that the task exists, as the server)."""
        with self.lock:
            updates.add_logs(self.executor, task_id, [{"log": text, "createdTime": self.now_ms()}])

    def logs(self, task_id: str) -> list[dict[str, Any]]:
        """A task's execution logs (empty when none), oldest ``createdTime`` first, as the index's query sorts them."""
        with self.lock:
            return sorted(self.store.logs.get(task_id, []), key=lambda entry: int(entry["createdTime"]))

    def queue_sizes(self, task_types: list[str]) -> dict[str, int]:
        """Queued tasks per type, in the queue without a domain (as ``/tasks/queue/sizes``)."""
        with self.lock:
            return {task_type: self.store.queue_size(task_type) for task_type in task_types}
