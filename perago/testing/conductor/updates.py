"""Task results: WorkflowExecutorOps.updateTask, extendLease, and the update-by-reference / signal routes.

A result's fields replace the task's (output, reason, worker, callback), even when absent. An update of
a finished task or of a task of a finished workflow changes nothing (200). A worker task updated
IN_PROGRESS goes back to SCHEDULED, pollable again after ``callbackAfterSeconds`` (same taskId); a system
task (HUMAN, WAIT) stays IN_PROGRESS. ``extendLease`` only moves ``updateTime``. Logs sent with a result
are kept as sent (their ``createdTime`` too: a log without one is dated 0, as on the server).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perago.testing.conductor.errors import invalid, not_found
from perago.testing.conductor.model import TaskRecord, remove_iteration
from perago.testing.conductor.systask import is_system

if TYPE_CHECKING:
    from perago.testing.conductor.executor import Executor

RESULT_STATUSES = frozenset({"IN_PROGRESS", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "COMPLETED", "CANCELED"})


def apply_result(executor: Executor, result: dict[str, Any]) -> TaskRecord | None:
    """Apply a TaskResult; return the task (None for a lease extension)."""
    task_id = str(result.get("taskId") or "")
    if result.get("extendLease"):
        task = _task(executor, task_id)
        if not task.terminal:
            task.update_time = executor.now_ms()
        return None
    status = result.get("status")
    if status not in RESULT_STATUSES:
        raise invalid(f"TaskResult for task {task_id}: status must be one of {sorted(RESULT_STATUSES)}, got {status!r}")
    workflow_id = result.get("workflowInstanceId")
    if not workflow_id:
        raise invalid("Workflow Id cannot be null or empty")
    workflow = executor.store.workflows.get(str(workflow_id))
    if workflow is None:
        raise not_found(f"No such workflow found by id: {workflow_id}")
    task = _task(executor, task_id)
    if task.terminal or workflow.terminal:
        executor.store.dequeue(task)
        return task
    worker_task = not is_system(task.task_type)
    task.status = "SCHEDULED" if worker_task and status == "IN_PROGRESS" else str(status)
    task.reason_for_incompletion = result.get("reasonForIncompletion")
    task.worker_id = result.get("workerId")
    task.callback_after_seconds = int(result.get("callbackAfterSeconds") or 0)
    task.output_data = dict(result.get("outputData") or {})
    if task.terminal:
        task.end_time = executor.now_ms()
    elif task.status == "SCHEDULED":
        executor.store.unmark_in_progress(task)
        executor.queue(task)
    executor.persist(task)
    add_logs(executor, task.task_id, result.get("logs") or [])
    executor.decide(workflow)
    return task


def _task(executor: Executor, task_id: str) -> TaskRecord:
    task = executor.store.tasks.get(task_id)
    if task is None:
        raise not_found(f"No such task found by id: {task_id}")
    return task


TASK_EXEC_LOG_SIZE_LIMIT = 10
"""conductor.app.taskExecLogSizeLimit's default: the most log entries one TaskResult stores."""


def add_logs(executor: Executor, task_id: str, logs: list[Any]) -> None:
    """IndexDAO.addTaskExecutionLogs, as ExecutionDAOFacade.addTaskExecLog calls it: only the first
    ``taskExecLogSizeLimit`` (10) entries of a TaskResult are kept, the rest dropped."""
    for entry in logs[:TASK_EXEC_LOG_SIZE_LIMIT]:
        if isinstance(entry, dict) and entry.get("log") is not None:
            record = {"log": str(entry["log"]), "taskId": task_id, "createdTime": int(entry.get("createdTime") or 0)}
            executor.store.logs.setdefault(task_id, []).append(record)


def pending_task(executor: Executor, workflow_id: str, reference: str) -> TaskRecord | None:
    """ExecutionService.getPendingTaskForWorkflow: an open task by reference (or by loop body reference)."""
    workflow = executor.store.workflows.get(workflow_id)
    if workflow is None:
        return None
    open_tasks = [t for t in workflow.tasks if not t.terminal]
    exact = [t for t in open_tasks if t.reference_task_name == reference]
    if exact:
        return exact[0]
    return next((t for t in open_tasks if remove_iteration(t.reference_task_name) == reference), None)


def result_of(task: TaskRecord, status: str, output: dict[str, Any], worker_id: str | None) -> dict[str, Any]:
    """``new TaskResult(task)`` with a new status and extra output."""
    return {
        "workflowInstanceId": task.workflow_instance_id,
        "taskId": task.task_id,
        "status": status,
        "outputData": {**task.output_data, **output},
        "workerId": worker_id if worker_id else task.worker_id,
        "callbackAfterSeconds": task.callback_after_seconds,
        "reasonForIncompletion": task.reason_for_incompletion,
    }


def blocking_task(executor: Executor, workflow_id: str) -> TaskRecord | None:
    """TaskServiceImpl.findPendingBlockingTask: an open WAIT, else one in a running sub-workflow."""
    workflow = executor.store.workflows.get(workflow_id)
    if workflow is None:
        return None
    for task in workflow.tasks:
        if task.task_type == "WAIT" and not task.terminal:
            return task
    for task in workflow.tasks:
        if task.task_type == "SUB_WORKFLOW" and not task.terminal and task.sub_workflow_id:
            found = blocking_task(executor, task.sub_workflow_id)
            if found is not None:
                return found
    return None
