"""A workflow's start and end: WorkflowExecutorOps.startWorkflow, completeWorkflow, terminateWorkflow.

- start: the definition (registered, or inline in the request) is snapshotted with its task definitions
  (:meth:`Definitions.populate`), the input completed by its ``inputTemplate``, then evaluated;
- complete: the output is the successful TERMINATE task's output, else ``outputParameters``, else the
  last task's output; a parent's SUB_WORKFLOW task then follows the child;
- terminate (a failure, a TERMINATE task, a time-out or a user): open tasks are CANCELED (a running child
  workflow terminated), FAILED tasks listed in ``failedReferenceTaskNames``, and the definition's
  ``failureWorkflow`` started with the failed workflow's input plus ``workflowId``, ``reason``,
  ``failureStatus``, ``failureTaskId`` and ``failedWorkflow`` (its id lands in output
  ``conductor.failure_workflow``).
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any

from loguru import logger

from perago.testing.conductor import graph, registry, tasks_workflow
from perago.testing.conductor.definitions import normalize_workflow_def
from perago.testing.conductor.errors import ApiError, invalid
from perago.testing.conductor.model import WorkflowRecord
from perago.testing.conductor.systask import TerminateWorkflow, is_system

if TYPE_CHECKING:
    from perago.testing.conductor.executor import Executor


def resolve_definition(executor: Executor, request: dict[str, Any]) -> dict[str, Any]:
    """The definition a start runs: inline ``workflowDef`` or the registered one (404 when missing)."""
    name = request.get("name")
    inline = request.get("workflowDef")
    if inline:
        definition = normalize_workflow_def({"name": name, **inline}, executor.now_ms(), "startWorkflow.workflowDef")
    else:
        if not name:
            raise invalid("Workflow name must be specified when searching for a definition")
        registered = executor.definitions.find_workflow_def(str(name), request.get("version"))
        if registered is None:
            raise ApiError(404, f"No such workflow defined. name={name}, version={request.get('version')}")
        definition = registered
    definition = executor.definitions.populate(definition)
    tasks = graph.collect(definition.get("tasks") or [])
    refused = sorted({str(t.get("type")) for t in tasks if t.get("type") in registry.UNSUPPORTED})
    if refused:
        raise invalid(
            f"Workflow {definition['name']}: task types {refused} are not supported by the perago Conductor "
            "emulator (see docs/conductor-emulator.md)"
        )
    return definition


def start_workflow(executor: Executor, request: dict[str, Any]) -> WorkflowRecord:
    """createWorkflowModel + createAndEvaluate; ``request`` is a StartWorkflowRequest (plus parent ids)."""
    definition = resolve_definition(executor, request)
    workflow_input = request.get("input")
    if workflow_input is None:
        raise invalid("NULL input passed when starting workflow")
    now_ms = executor.now_ms()
    workflow = WorkflowRecord(
        workflow_id=str(request.get("workflowId") or uuid.uuid4()),
        definition=definition,
        input={**copy.deepcopy(definition.get("inputTemplate") or {}), **workflow_input},
        create_time=now_ms,
        correlation_id=request.get("correlationId"),
        task_to_domain=dict(request.get("taskToDomain") or {}),
        priority=int(request.get("priority") or 0),
        variables=copy.deepcopy(definition.get("variables") or {}),
        parent_workflow_id=request.get("parentWorkflowId"),
        parent_workflow_task_id=request.get("parentWorkflowTaskId"),
        idempotency_key=request.get("idempotencyKey"),
    )
    workflow.update_time = now_ms
    executor.store.workflows[workflow.workflow_id] = workflow
    logger.debug("emulator: started workflow {} ({})", workflow.workflow_id, workflow.name)
    executor.decide(workflow)
    return workflow


def end_execution(executor: Executor, workflow: WorkflowRecord, terminate_task: Any) -> None:
    """WorkflowExecutorOps.endExecution: complete, or end as a TERMINATE task says."""
    if terminate_task is not None:
        status = terminate_task.input_data.get("terminationStatus")
        reason = terminate_task.input_data.get("terminationReason") or (
            f"Workflow is {status} by TERMINATE task: {terminate_task.task_id}"
        )
        if status in ("FAILED", "TERMINATED"):
            workflow.status = str(status)
            terminate(executor, workflow, TerminateWorkflow(str(reason), str(status), terminate_task))
        else:
            workflow.reason_for_incompletion = str(reason)
            complete_workflow(executor, workflow)
    else:
        complete_workflow(executor, workflow)
    cancel_open_tasks(executor, workflow)


def complete_workflow(executor: Executor, workflow: WorkflowRecord) -> None:
    """WorkflowExecutorOps.completeWorkflow."""
    if workflow.status == "COMPLETED":
        return
    if workflow.terminal:
        raise ApiError(409, f"Workflow is already in terminal state. Current status: {workflow.status}")
    executor.decider.update_output(workflow)
    workflow.status = "COMPLETED"
    _record_failures(workflow)
    executor.persist_workflow(workflow)
    if workflow.parent_workflow_id:
        update_parent(executor, workflow)


def _record_failures(workflow: WorkflowRecord) -> None:
    failed = [t for t in workflow.tasks if t.status in ("FAILED", "FAILED_WITH_TERMINAL_ERROR")]
    workflow.failed_reference_task_names.update(t.reference_task_name for t in failed)
    workflow.failed_task_names.update(t.task_def_name for t in failed)


def terminate(executor: Executor, workflow: WorkflowRecord, cause: TerminateWorkflow) -> None:
    """WorkflowExecutorOps.terminate(workflow, TerminateWorkflowException)."""
    if not workflow.terminal:
        workflow.status = cause.status
    if cause.task is not None:
        workflow.failed_task_id = workflow.failed_task_id or cause.task.task_id
        executor.persist(cause.task)
    failure = workflow.definition.get("failureWorkflow")
    if isinstance(failure, str) and failure.startswith("$"):
        parts = failure.split(".")
        failure = workflow.input.get(parts[2]) if len(parts) > 2 else None
    terminate_workflow(executor, workflow, cause.reason, failure, workflow.definition.get("failureWorkflowVersion"))


def terminate_workflow(
    executor: Executor,
    workflow: WorkflowRecord,
    reason: str | None,
    failure_workflow: str | None = None,
    failure_version: int | None = None,
) -> None:
    """WorkflowExecutorOps.terminateWorkflow(workflow, reason, failureWorkflow, version)."""
    if not workflow.terminal:
        workflow.status = "TERMINATED"
    executor.decider.update_output(workflow)
    _record_failures(workflow)
    workflow.reason_for_incompletion = reason
    cancel_open_tasks(executor, workflow)
    executor.persist_workflow(workflow)
    for task in workflow.tasks:
        executor.store.dequeue(task)
    if workflow.parent_workflow_id:
        update_parent(executor, workflow)
    if failure_workflow:
        _start_failure_workflow(executor, workflow, str(failure_workflow), failure_version, reason)
    executor.notify()


def _start_failure_workflow(
    executor: Executor, workflow: WorkflowRecord, name: str, version: int | None, reason: str | None
) -> None:
    failure_input = {
        **workflow.input,
        "workflowId": workflow.workflow_id,
        "reason": reason,
        "failureStatus": workflow.status,
        "failedWorkflow": workflow.to_json(),
    }
    if workflow.failed_task_id is not None:
        failure_input["failureTaskId"] = workflow.failed_task_id
    request = {"name": name, "version": version, "input": failure_input}
    request.update(correlationId=workflow.correlation_id, taskToDomain=workflow.task_to_domain)
    try:
        started = start_workflow(executor, request)
    except (ApiError, TerminateWorkflow) as exc:
        workflow.output["conductor.failure_workflow"] = f"Error workflow {name} failed to start.  reason: {exc}"
        return
    workflow.output["conductor.failure_workflow"] = started.workflow_id


def cancel_open_tasks(executor: Executor, workflow: WorkflowRecord) -> None:
    """WorkflowExecutorOps.cancelNonTerminalTasks."""
    for task in workflow.tasks:
        if task.terminal:
            continue
        task.status = "CANCELED"
        if is_system(task.task_type):
            registry.system_task(task.task_type).cancel(executor, workflow, task)
        executor.persist(task)


def update_parent(executor: Executor, child: WorkflowRecord) -> None:
    """updateParentWorkflowTask: the parent's SUB_WORKFLOW task follows the child; the parent is re-evaluated."""
    task = executor.store.tasks.get(str(child.parent_workflow_task_id))
    parent = executor.store.workflows.get(str(child.parent_workflow_id))
    if task is None or parent is None or task not in parent.tasks or task.terminal:
        return
    tasks_workflow.sync_child(child, task)
    executor.persist(task)
    executor.decide(parent)
