"""What a retry or rerun of a sub-workflow does to its parents, and how a rerun resets its tasks.

updateAndPushParents: each parent's SUB_WORKFLOW task goes back to IN_PROGRESS (with an execution log
``Sub workflow <id> retried.``), the parent to RUNNING, its canceled siblings are rescheduled (JOIN and
DO_WHILE resumed in place) and it is evaluated again. finalizeRerun: after the rerun task is reset, the
other unsuccessful tasks that remain are reset too (worker tasks requeued, system tasks resumed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perago.testing.conductor import registry
from perago.testing.conductor.model import UNSUCCESSFUL_TASK, TaskRecord, WorkflowRecord
from perago.testing.conductor.systask import is_system

if TYPE_CHECKING:
    from perago.testing.conductor.engine import Engine


def push_parents(engine: Engine, workflow: WorkflowRecord, operation: str) -> None:
    """WorkflowExecutorOps.updateAndPushParents."""
    while workflow.parent_workflow_id:
        task = engine.store.tasks.get(str(workflow.parent_workflow_task_id))
        parent = engine.store.workflows.get(str(workflow.parent_workflow_id))
        if task is None or parent is None or task.workflow_task.get("optional"):
            return
        if task.retried and task.task_type == "SUB_WORKFLOW":
            return
        task.subworkflow_changed, task.status, task.reason_for_incompletion = True, "IN_PROGRESS", None
        task.executed = False
        log = {"log": f"Sub workflow {workflow.name}.{workflow.workflow_id} {operation}.", "taskId": task.task_id}
        engine.store.logs.setdefault(task.task_id, []).append({**log, "createdTime": engine.now_ms()})
        parent.status, parent.reason_for_incompletion, parent.failed_task_id = "RUNNING", None, None
        parent.failed_reference_task_names, parent.failed_task_names = set(), set()
        parent.last_retried_time = engine.now_ms()
        for sibling in parent.tasks:
            if sibling.status == "CANCELED" and sibling is not task:
                _resume(engine, sibling)
        engine.executor.persist_workflow(parent)
        engine.executor.decide(parent)
        workflow = parent


def _resume(engine: Engine, task: TaskRecord) -> None:
    if task.task_type in ("JOIN", "DO_WHILE"):
        task.status = "IN_PROGRESS"
        return
    task.retry_count += 1
    task.reason_for_incompletion = task.worker_id = None
    task.poll_count = task.start_time = task.end_time = 0
    task.scheduled_time = engine.now_ms()
    task.retried = task.executed = False
    task.status = "SCHEDULED"
    if not is_system(task.task_type):
        engine.executor.queue(task)


def reset_for_rerun(
    engine: Engine, workflow: WorkflowRecord, task: TaskRecord, task_input: Any, *, direct: bool
) -> None:
    """Reset the task a rerun starts from (and, for a direct rerun, the other unsuccessful ones)."""
    now_ms = engine.now_ms()
    task.scheduled_time, task.start_time, task.update_time, task.end_time = now_ms, 0, 0, 0
    task.output_data, task.retried, task.executed, task.poll_count = {}, False, False, 0
    task.reason_for_incompletion = None
    if task.task_type == "SUB_WORKFLOW":
        task.sub_workflow_id = None if direct else task.sub_workflow_id
        task.status = "SCHEDULED" if direct else "IN_PROGRESS"
        task.start_time = 0 if direct else now_ms
        task.ready_at = 0.0
    else:
        if isinstance(task_input, dict):
            task.input_data = dict(task_input)
        _restart(engine, workflow, task)
    engine.executor.persist(task)
    if direct:
        for other in workflow.tasks:
            if other.status in UNSUCCESSFUL_TASK and other.reference_task_name != task.reference_task_name:
                _finalize(engine, workflow, other)


def _restart(engine: Engine, workflow: WorkflowRecord, task: TaskRecord) -> None:
    if registry.is_sync_system(task.task_type):
        task.status = "IN_PROGRESS"
        registry.system_task(task.task_type).start(engine.executor, workflow, task)
    elif task.task_type == "FORK" and task.workflow_task.get("type") == "FORK_JOIN_DYNAMIC":
        task.status = "COMPLETED"
    else:
        task.status = "SCHEDULED"
        if is_system(task.task_type):
            task.ready_at = 0.0
        else:
            engine.executor.queue(task)


def _finalize(engine: Engine, workflow: WorkflowRecord, task: TaskRecord) -> None:
    """finalizeRerun for one remaining unsuccessful task."""
    if task.task_type == "SUB_WORKFLOW":
        task.sub_workflow_id = None
        task.output_data.pop("subWorkflowId", None)
    if task.task_type in ("JOIN", "DO_WHILE") or registry.is_sync_system(task.task_type):
        task.status = "IN_PROGRESS"
    else:
        task.status = "SCHEDULED"
        if not is_system(task.task_type):
            engine.executor.queue(task)
    task.executed = False
    task.start_time, task.end_time = engine.now_ms(), 0
    task.reason_for_incompletion = None
