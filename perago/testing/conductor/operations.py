"""Workflow operations users call, as WorkflowExecutorOps does them (every function holds the engine lock).

retry (the last failed tasks again, new taskIds), restart (from the start, same id), rerun (from a task,
or everything, optionally with new input), pause/resume, skip a task not yet scheduled, reset callbacks,
remove. Errors keep the server's statuses: a retry of a running workflow is 404 ("Workflow is still
running"), a restart/rerun of one 409, resume of a workflow that is not PAUSED and skip on one that is not
RUNNING 500 (IllegalStateException is not mapped by ApplicationExceptionMapper).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from perago.testing.conductor import expressions, graph
from perago.testing.conductor.errors import ApiError, invalid, not_found
from perago.testing.conductor.model import UNSUCCESSFUL_TASK, TaskRecord, WorkflowRecord
from perago.testing.conductor.operations_parents import push_parents, reset_for_rerun
from perago.testing.conductor.systask import is_system

if TYPE_CHECKING:
    from perago.testing.conductor.engine import Engine

_IN_PLACE = frozenset({"DO_WHILE", "FORK_JOIN", "JOIN", "EXCLUSIVE_JOIN"})


def retry(engine: Engine, workflow_id: str, resume_sub_workflows: bool = False) -> None:
    """WorkflowExecutorOps.retry."""
    with engine.lock:
        workflow = engine.workflow(workflow_id)
        if not workflow.terminal:
            raise not_found(f"Workflow is still running.  status={workflow.status}")
        if not workflow.tasks:
            raise ApiError(409, "Workflow has not started yet")
        if resume_sub_workflows:
            failed = next((t for t in workflow.tasks if t.status in UNSUCCESSFUL_TASK), None)
            if failed is None:
                return
            workflow = _deepest_failed_child(engine, failed, workflow)
        retry_workflow(engine, workflow)
        push_parents(engine, workflow, "retried")
        engine.executor.decide(workflow)


def _deepest_failed_child(engine: Engine, task: TaskRecord, workflow: WorkflowRecord) -> WorkflowRecord:
    if task.task_type == "SUB_WORKFLOW" and task.sub_workflow_id in engine.store.workflows:
        child = engine.store.workflows[str(task.sub_workflow_id)]
        failed = next((t for t in child.tasks if t.status in UNSUCCESSFUL_TASK), None)
        return workflow if failed is None else _deepest_failed_child(engine, failed, child)
    return workflow


def retry_workflow(engine: Engine, workflow: WorkflowRecord) -> None:
    """The private retry(workflow): reschedule the last unsuccessful instance of each reference."""
    retriable: dict[str, TaskRecord] = {}
    for task in workflow.tasks:
        if task.status == "CANCELED" and task.task_type in ("JOIN", "DO_WHILE"):
            task.status = "IN_PROGRESS"
        elif task.status in UNSUCCESSFUL_TASK:
            retriable[task.reference_task_name] = task
        else:
            retriable.pop(task.reference_task_name, None)
    if not retriable and workflow.status != "TIMED_OUT":
        raise ApiError(
            409, "There are no retryable tasks! Use restart if you want to attempt entire workflow execution again."
        )
    workflow.status = "RUNNING"
    workflow.last_retried_time = engine.now_ms()
    workflow.reason_for_incompletion = None
    engine.executor.persist_workflow(workflow)
    again = [_rescheduled(engine, workflow, t) for t in sorted(retriable.values(), key=lambda t: t.seq)]
    engine.executor.schedule(workflow, engine.executor.add_new(workflow, again))


def _rescheduled(engine: Engine, workflow: WorkflowRecord, task: TaskRecord) -> TaskRecord:
    """taskToBeRescheduled: loops and joins in place; anything else as a new SCHEDULED copy."""
    if task.task_type in _IN_PLACE:
        task.retried, task.retry_count, task.status = False, task.retry_count + 1, "IN_PROGRESS"
        return task
    again = replace(task, task_id=str(uuid.uuid4()), input_data=copy.deepcopy(task.input_data), output_data={})
    again.retried_task_id, again.status, again.retry_count = task.task_id, "SCHEDULED", task.retry_count + 1
    again.retried = again.executed = False
    again.poll_count = again.callback_after_seconds = again.callback_after_ms = again.seq = 0
    again.scheduled_time = again.start_time = again.end_time = again.update_time = 0
    again.worker_id = again.reason_for_incompletion = again.sub_workflow_id = None
    doc = expressions.document(workflow)
    again.input_data.update(
        expressions.task_input(task.workflow_task.get("inputParameters"), doc, task.task_def, again.task_id)
    )
    again.input_data.pop("subWorkflowId", None)
    task.retried = task.executed = True
    return again


def restart(engine: Engine, workflow_id: str, use_latest_definitions: bool = False) -> None:
    """WorkflowExecutorOps.restart: the same workflow id from its first task."""
    with engine.lock:
        workflow = engine.workflow(workflow_id)
        if not workflow.terminal:
            raise ApiError(409, f"Workflow: {workflow_id} is not in terminal state, unable to restart.")
        if use_latest_definitions:
            latest = engine.definitions.find_workflow_def(workflow.name)
            if latest is None:
                raise not_found(f"Unable to find latest definition for {workflow_id}")
            workflow.definition = engine.definitions.populate(latest)
        if workflow.definition.get("restartable") is False and workflow.status == "COMPLETED":
            raise not_found(f"Workflow: {workflow_id} is non-restartable")
        _forget_tasks(engine, workflow, workflow.tasks)
        workflow.tasks = []
        workflow.reason_for_incompletion = workflow.failed_task_id = None
        workflow.create_time, workflow.end_time, workflow.last_retried_time = engine.now_ms(), 0, 0
        workflow.status, workflow.output = "RUNNING", {}
        engine.executor.persist_workflow(workflow)
        engine.executor.decide(workflow)
        push_parents(engine, workflow, "restarted")


def _forget_tasks(engine: Engine, workflow: WorkflowRecord, tasks: list[TaskRecord]) -> None:
    for task in list(tasks):
        engine.executor.remove_task(workflow, task)


def rerun(engine: Engine, workflow_id: str, request: dict[str, Any]) -> str:
    """WorkflowExecutorOps.rerun: from ``reRunFromTaskId`` (or from the start) with optional new inputs."""
    with engine.lock:
        workflow = engine.workflow(workflow_id)
        if not _rerun(engine, workflow, request.get("reRunFromTaskId"), request.get("taskInput"), request):
            raise invalid(f"Task {request.get('reRunFromTaskId')} not found")
        return workflow_id


def _rerun(engine: Engine, workflow: WorkflowRecord, task_id: Any, task_input: Any, request: dict[str, Any]) -> bool:
    if not workflow.terminal:
        raise ApiError(409, f"Workflow: {workflow.workflow_id} is not in terminal state, unable to rerun.")
    start_from = next((t for t in workflow.tasks if task_id is not None and t.task_id == task_id), None)
    if task_id is not None and start_from is None:
        start_from = next(
            (
                t
                for t in workflow.tasks
                if t.task_type == "SUB_WORKFLOW"
                and t.sub_workflow_id in engine.store.workflows
                and _rerun(engine, engine.store.workflows[str(t.sub_workflow_id)], task_id, task_input, {})
            ),
            None,
        )
        if start_from is None:
            return False
    workflow.status, workflow.reason_for_incompletion, workflow.failed_task_id = "RUNNING", None, None
    workflow.failed_reference_task_names, workflow.failed_task_names = set(), set()
    workflow.correlation_id = request.get("correlationId") or workflow.correlation_id
    workflow.input = request.get("workflowInput") or workflow.input
    if start_from is None:
        _forget_tasks(engine, workflow, workflow.tasks)
    else:
        _forget_tasks(engine, workflow, [t for t in workflow.tasks if t.seq > start_from.seq])
        reset_for_rerun(engine, workflow, start_from, task_input, direct=start_from.task_id == task_id)
    engine.executor.persist_workflow(workflow)
    engine.executor.decide(workflow)
    push_parents(engine, workflow, "reran")
    return True


def pause(engine: Engine, workflow_id: str) -> None:
    """WorkflowExecutorOps.pauseWorkflow."""
    with engine.lock:
        workflow = engine.workflow(workflow_id)
        if workflow.terminal:
            raise ApiError(409, f"Workflow {workflow.name}.{workflow_id} has ended, status cannot be updated.")
        workflow.status = "PAUSED"
        engine.executor.persist_workflow(workflow)


def resume(engine: Engine, workflow_id: str) -> None:
    """WorkflowExecutorOps.resumeWorkflow."""
    with engine.lock:
        workflow = engine.workflow(workflow_id)
        if workflow.status != "PAUSED":
            raise ApiError(
                500,
                f"The workflow {workflow_id} is not PAUSED so cannot resume. Current status is {workflow.status}",
            )
        workflow.status = "RUNNING"
        workflow.last_retried_time = engine.now_ms()
        engine.executor.persist_workflow(workflow)
        engine.executor.decide(workflow)


def skip_task(engine: Engine, workflow_id: str, reference: str, request: dict[str, Any]) -> None:
    """WorkflowExecutorOps.skipTaskFromWorkflow: record a SKIPPED task for a reference not scheduled yet."""
    with engine.lock:
        workflow = engine.workflow(workflow_id)
        if workflow.status != "RUNNING":
            raise ApiError(
                500,
                f"The workflow {workflow_id} is not running so the task referenced by {reference} cannot be skipped",
            )
        workflow_task = graph.task_by_ref(workflow.definition, reference)
        if workflow_task is None:
            raise ApiError(
                500, f"The task referenced by {reference} does not exist in the WorkflowDefinition {workflow.name}"
            )
        if workflow.task_by_ref(reference) is not None:
            raise ApiError(500, f"The task referenced {reference} has already been processed, cannot be skipped")
        skipped = TaskRecord(
            task_id=str(uuid.uuid4()),
            task_type=str(workflow_task.get("name")),
            task_def_name=str(workflow_task.get("name")),
            reference_task_name=reference,
            workflow_instance_id=workflow_id,
            workflow_type=workflow.name,
            workflow_task=workflow_task,
            input_data=dict(request.get("taskInput") or {}),
            output_data=dict(request.get("taskOutput") or {}),
            scheduled_time=0,
            status="SKIPPED",
            end_time=engine.now_ms(),
            correlation_id=workflow.correlation_id,
            workflow_priority=workflow.priority,
        )
        workflow.tasks.append(skipped)
        engine.store.add_task(skipped)
        engine.executor.decide(workflow)


def reset_callbacks(engine: Engine, workflow_id: str) -> None:
    """WorkflowExecutorOps.resetCallbacksForWorkflow: SCHEDULED worker tasks waiting on a callback are due now."""
    with engine.lock:
        workflow = engine.workflow(workflow_id)
        if workflow.terminal:
            raise ApiError(409, f"Workflow is in terminal state. Status = {workflow.status}")
        for task in workflow.tasks:
            if not is_system(task.task_type) and task.status == "SCHEDULED" and task.callback_after_seconds > 0:
                task.callback_after_seconds = task.callback_after_ms = 0
                engine.executor.queue(task)


def remove(engine: Engine, workflow_id: str, archive: bool = True) -> None:
    """ExecutionDAOFacade.removeWorkflow: gone from the store (still readable when archived)."""
    with engine.lock:
        workflow = engine.store.workflows.get(workflow_id)
        if workflow is None:
            raise not_found(f"No such workflow found by id: {workflow_id}")
        if archive:
            engine.store.archived[workflow_id] = workflow.to_json()
        _forget_tasks(engine, workflow, workflow.tasks)
        engine.store.workflows.pop(workflow_id, None)


def decide(engine: Engine, workflow_id: str) -> None:
    """``PUT /workflow/decide/{id}``: evaluate now."""
    with engine.lock:
        engine.executor.decide(engine.workflow(workflow_id))
