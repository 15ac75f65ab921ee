"""The emulator's execution engine: workflows, polling, task updates, logs.

One lock guards all state; a Condition on it wakes long-polling workers as soon as a task is queued.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from typing import Any

from loguru import logger

from perago.testing.conductor.clock import Clock
from perago.testing.conductor.decider import Decider
from perago.testing.conductor.definitions import (
    Definitions,
    iter_workflow_tasks,
    normalize_task_def,
    normalize_workflow_def,
)
from perago.testing.conductor.errors import ApiError, invalid, not_found
from perago.testing.conductor.model import TaskRecord, WorkflowRecord
from perago.testing.conductor.store import Store

SUPPORTED_TYPES = frozenset({"SIMPLE", "FORK_JOIN", "JOIN"})
_RESULT_STATUSES = frozenset({"IN_PROGRESS", "COMPLETED", "FAILED", "FAILED_WITH_TERMINAL_ERROR"})
MAX_POLL_TIMEOUT_MS = 5000
TASK_EXEC_LOG_SIZE_LIMIT = 10
"""conductor.app.taskExecLogSizeLimit's default: the most log entries one TaskResult stores."""


class Engine:
    """Conductor's execution semantics over an in-memory store (see ``docs`` of each method)."""

    def __init__(self, clock: Clock, definitions: Definitions | None = None) -> None:
        self.clock = clock
        self.definitions = definitions or Definitions()
        self.store = Store()
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.decider = Decider(self.store, self.definitions, clock.now, self.changed.notify_all)

    def now_ms(self) -> int:
        """Current time in epoch milliseconds."""
        return int(self.clock.now() * 1000)

    # -- workflows -------------------------------------------------------------------------------

    def start_workflow(self, request: dict[str, Any]) -> str:
        """Start a workflow from a StartWorkflowRequest JSON object and return its id."""
        name = request.get("name")
        if not name:
            raise invalid("StartWorkflowRequest: workflow name cannot be null or empty")
        inline = request.get("workflowDef")
        if inline:  # StartWorkflowRequest.workflowDef: run an unregistered definition
            definition = self._prepare(normalize_workflow_def({"name": name, **inline}, self.now_ms()))
        else:
            definition = self._prepare(self.definitions.get_workflow_def(name, request.get("version")))
        with self.lock:
            workflow = WorkflowRecord(
                workflow_id=str(uuid.uuid4()),
                definition=definition,
                input=dict(request.get("input") or {}),
                create_time=self.now_ms(),
                correlation_id=request.get("correlationId"),
                task_to_domain=dict(request.get("taskToDomain") or {}),
                priority=int(request.get("priority") or 0),
            )
            workflow.update_time = workflow.create_time
            self.store.workflows[workflow.workflow_id] = workflow
            self.store.open_workflows[workflow.workflow_id] = workflow
            self.decider.decide(workflow)
            logger.debug("emulator: started workflow {} ({})", workflow.workflow_id, name)
            return workflow.workflow_id

    def _prepare(self, definition: dict[str, Any]) -> dict[str, Any]:
        """Copy the definition for one execution, with each SIMPLE task's TaskDef snapshotted into it.

        Like Conductor, the task definitions in force when the workflow starts govern its timeouts and
        retries; a SIMPLE task with neither a registered nor an inline definition rejects the start.
        """
        definition = copy.deepcopy(definition)
        workflow_tasks = iter_workflow_tasks(definition.get("tasks") or [])
        unsupported = sorted({t["type"] for t in workflow_tasks if t["type"] not in SUPPORTED_TYPES})
        if unsupported:
            raise invalid(
                f"Workflow {definition['name']}: task types {unsupported} are not supported by the perago "
                f"emulator (supported: {sorted(SUPPORTED_TYPES)})"
            )
        missing: set[str] = set()
        now_ms = self.now_ms()
        for workflow_task in workflow_tasks:
            if workflow_task["type"] != "SIMPLE":
                continue
            inline = workflow_task.get("taskDefinition")
            registered = self.definitions.task_def(workflow_task["name"])
            if inline:
                workflow_task["taskDefinition"] = normalize_task_def({"name": workflow_task["name"], **inline}, now_ms)
            elif registered is not None:
                workflow_task["taskDefinition"] = copy.deepcopy(registered)
            else:
                missing.add(workflow_task["name"])
        if missing:
            raise invalid(
                f"Cannot find the task definitions for the following tasks used in workflow: {sorted(missing)}"
            )
        return definition

    def workflow(self, workflow_id: str) -> WorkflowRecord:
        """Return the workflow record or raise 404 (caller holds the lock)."""
        workflow = self.store.workflows.get(workflow_id)
        if workflow is None:
            raise not_found(f"No such workflow found by id: {workflow_id}")
        return workflow

    def get_workflow(self, workflow_id: str, *, include_tasks: bool = True) -> dict[str, Any]:
        """Return the Workflow JSON."""
        with self.lock:
            return self.workflow(workflow_id).to_json(include_tasks=include_tasks)

    def terminate(self, workflow_id: str, reason: str | None) -> None:
        """Terminate a workflow: open tasks become CANCELED, the workflow TERMINATED.

        As in Conductor, only a COMPLETED workflow refuses (409); a FAILED or TIMED_OUT one becomes
        TERMINATED.
        """
        with self.lock:
            workflow = self.workflow(workflow_id)
            if workflow.status == "COMPLETED":
                raise ApiError(409, "Cannot terminate a COMPLETED workflow.")
            self.decider.set_output(workflow, None)
            self.decider.finish(workflow, "TERMINATED", reason)
            logger.debug("emulator: terminated workflow {} ({})", workflow_id, reason)

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
                        f"workflow {workflow_id} ({workflow.name}) still RUNNING after {timeout_s} s; "
                        f"tasks: {tasks or 'none'}"
                    )
                self.changed.wait(remaining)
            return workflow.to_json()

    # -- tasks -----------------------------------------------------------------------------------

    def task(self, task_id: str) -> TaskRecord:
        """Return the task record or raise 404 (caller holds the lock)."""
        task = self.store.tasks.get(task_id)
        if task is None:
            raise not_found(f"No such task found by id: {task_id}")
        return task

    def get_task(self, task_id: str) -> dict[str, Any]:
        """Return the Task JSON."""
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
                tasks = self._take(task_type, worker_id, domain, max(count, 1))
                remaining = deadline - time.monotonic()
                if tasks or remaining <= 0:
                    return [task.to_json() for task in tasks]
                self.changed.wait(remaining)

    def _take(self, task_type: str, worker_id: str | None, domain: str | None, count: int) -> list[TaskRecord]:
        task_def = self.definitions.task_def(task_type) or {}
        limit = int(task_def.get("concurrentExecLimit") or 0)
        if limit > 0:
            count = min(count, limit - self.store.running(task_type))
            if count <= 0:
                return []
        tasks = self.store.ready(task_type, domain, count, self.clock.now())
        now_ms = self.now_ms()
        for task in tasks:
            task.status = "IN_PROGRESS"
            task.worker_id = worker_id
            task.poll_count += 1
            if not task.start_time:
                task.start_time = now_ms
            task.update_time = now_ms
            task.callback_after_seconds = 0
            self.store.dequeue(task)
            self.store.mark_in_progress(task)
        return tasks

    def update(self, result: dict[str, Any]) -> TaskRecord:
        """Apply a TaskResult (``POST /api/tasks``) and return the task; stale updates are ignored."""
        with self.lock:
            task = self.task(str(result.get("taskId") or ""))
            workflow = self.workflow(task.workflow_instance_id)
            if workflow.terminal or task.terminal:
                logger.debug("emulator: ignoring update of finished task {} ({})", task.task_id, task.status)
                return task
            if result.get("extendLease"):
                task.update_time = self.now_ms()
                return task
            self._apply(workflow, task, result)
            return task

    def _apply(self, workflow: WorkflowRecord, task: TaskRecord, result: dict[str, Any]) -> None:
        # Like WorkflowExecutor.updateTask: the result's fields replace the task's, even when absent.
        status = result.get("status")
        if status not in _RESULT_STATUSES:
            raise invalid(
                f"TaskResult for task {task.task_id}: status must be one of {sorted(_RESULT_STATUSES)}, got {status!r}"
            )
        self._add_logs(task.task_id, result.get("logs") or [])
        task.worker_id = result.get("workerId")
        task.output_data = dict(result.get("outputData") or {})
        task.reason_for_incompletion = result.get("reasonForIncompletion")
        task.callback_after_seconds = int(result.get("callbackAfterSeconds") or 0)
        task.update_time = self.now_ms()
        if status == "IN_PROGRESS":  # a worker task goes back to the queue, visible after the callback
            task.status = "SCHEDULED"
            self.store.unmark_in_progress(task)
            self.store.enqueue(task, self.clock.now() + task.callback_after_seconds)
            self.changed.notify_all()
            return
        self.decider.end_task(workflow, task, str(status), task.reason_for_incompletion)

    def update_v2(self, result: dict[str, Any]) -> dict[str, Any] | None:
        """Apply a TaskResult, then hand the same worker the next task of that type (or None)."""
        with self.lock:
            task = self.update(result)
            worker_id = result.get("workerId") or task.worker_id
            tasks = self._take(task.task_type, worker_id, task.domain, 1)
            return tasks[0].to_json() if tasks else None

    # -- logs ------------------------------------------------------------------------------------

    def _add_logs(self, task_id: str, logs: list[Any]) -> None:
        # ExecutionDAOFacade.addTaskExecLog keeps the first conductor.app.taskExecLogSizeLimit (10) entries of a
        # TaskResult and drops the rest.
        for entry in logs[:TASK_EXEC_LOG_SIZE_LIMIT]:
            if isinstance(entry, dict) and entry.get("log") is not None:
                self._append_log(task_id, str(entry["log"]), entry.get("createdTime"))

    def _append_log(self, task_id: str, text: str, created: Any = None) -> None:
        self.store.logs.setdefault(task_id, []).append(
            {"log": text, "taskId": task_id, "createdTime": int(created or self.now_ms())}
        )

    def add_log(self, task_id: str, text: str) -> None:
        """Append one execution log line to a task (``POST /api/tasks/{id}/log``)."""
        with self.lock:
            self.task(task_id)
            self._append_log(task_id, text)

    def logs(self, task_id: str) -> list[dict[str, Any]]:
        """Return a task's execution logs (TaskExecLog JSON), oldest ``createdTime`` first like the index's query."""
        with self.lock:
            self.task(task_id)
            return sorted(self.store.logs.get(task_id, []), key=lambda entry: int(entry["createdTime"]))

    def queue_sizes(self, task_types: list[str]) -> dict[str, int]:
        """Number of queued tasks per type."""
        with self.lock:
            return {task_type: self.store.queue_size(task_type) for task_type in task_types}
