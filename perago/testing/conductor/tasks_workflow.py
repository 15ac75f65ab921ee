"""Workflows from workflows: SUB_WORKFLOW (SubWorkflowTaskMapper, SubWorkflow) and START_WORKFLOW.

SUB_WORKFLOW starts the child named by ``subWorkflowParam`` (``name``, ``version`` -- the latest at the
parent's start when absent --, ``taskToDomain``, or an inline ``workflowDefinition``) with the task's
input as the child's input, the parent's correlationId and domains; its output gets ``subWorkflowId``,
then the child's output when the child ends, and its status follows the child's (COMPLETED, FAILED,
TIMED_OUT, TERMINATED -> CANCELED). Ending the parent terminates a running child. START_WORKFLOW starts
the StartWorkflowRequest in input ``startWorkflow`` and completes at once with output ``workflowId``.
"""

from __future__ import annotations

import copy
from typing import Any

from perago.testing.conductor import expressions
from perago.testing.conductor.errors import ApiError
from perago.testing.conductor.model import TaskRecord, WorkflowRecord
from perago.testing.conductor.systask import (
    MapContext,
    Runtime,
    SystemTask,
    TerminateWorkflow,
    fail_task,
    mapper,
    system_task,
)

_CHILD_STATUS = {
    "RUNNING": "IN_PROGRESS",
    "PAUSED": "IN_PROGRESS",
    "COMPLETED": "COMPLETED",
    "FAILED": "FAILED",
    "TERMINATED": "CANCELED",
    "TIMED_OUT": "TIMED_OUT",
}


def _sub_workflow_params(context: MapContext) -> dict[str, Any]:
    params = context.workflow_task.get("subWorkflowParam")
    if not isinstance(params, dict):
        raise TerminateWorkflow(
            f"Task {context.workflow_task.get('name')} is defined as sub-workflow and is missing subWorkflowParams. "
            "Please check the workflow definition"
        )
    raw = {k: params.get(k) for k in ("name", "priority", "version", "taskToDomain", "idempotencyKey")}
    raw["idempotencyStrategy"] = params.get("idempotencyStrategy")
    definition = params.get("workflowDefinition")
    if isinstance(definition, str):
        raw["workflowDefinition"] = definition
    resolved: dict[str, Any] = expressions.resolve(raw, expressions.document(context.workflow))
    if definition is not None and not isinstance(definition, str):
        resolved["workflowDefinition"] = definition
    return resolved


@mapper("SUB_WORKFLOW")
def map_sub_workflow(context: MapContext) -> list[TaskRecord]:
    """SubWorkflowTaskMapper: a SCHEDULED task carrying everything the child's start needs."""
    params = _sub_workflow_params(context)
    name = str(params.get("name"))
    version = params.get("version")
    if params.get("workflowDefinition") is None and version is None:
        latest = context.runtime.definitions.find_workflow_def(name)
        if latest is None:
            raise TerminateWorkflow(f"The Task {name} defined as a sub-workflow has no workflow definition available ")
        version = latest["version"]
    task = context.create_task("SUB_WORKFLOW", "SCHEDULED")
    task.input_data = {
        "subWorkflowName": name,
        "priority": params.get("priority"),
        "subWorkflowVersion": None if version is None else int(version),
        "subWorkflowTaskToDomain": params.get("taskToDomain") if isinstance(params.get("taskToDomain"), dict) else None,
        "subWorkflowDefinition": params.get("workflowDefinition"),
        "idempotencyKey": params.get("idempotencyKey"),
        "idempotencyStrategy": params.get("idempotencyStrategy"),
        "workflowInput": dict(context.task_input),
    }
    task.callback_after_seconds = int(context.workflow_task.get("startDelay") or 0)
    if isinstance(params.get("priority"), int):
        task.workflow_priority = params["priority"]
    return [task]


def sync_child(child: WorkflowRecord, task: TaskRecord) -> None:
    """SubWorkflow.updateTaskStatus: the task follows the child's status; a finished child hands its output."""
    task.sub_workflow_id = child.workflow_id
    task.output_data["subWorkflowId"] = child.workflow_id
    task.status = _CHILD_STATUS[child.status]
    if child.terminal:
        task.output_data.update(child.output)
        if child.status != "COMPLETED":
            task.reason_for_incompletion = (
                f"Sub workflow {child.name}.{child.workflow_id}.{child.version} failure reason: "
                f"{child.reason_for_incompletion}"
            )


def _start(runtime: Runtime, task: TaskRecord, request: dict[str, Any]) -> WorkflowRecord | None:
    """Start a workflow for ``task``; None (and the task FAILED with the error) when it cannot start."""
    try:
        return runtime.start_child(request)
    except (ApiError, TerminateWorkflow) as exc:
        fail_task(task, str(exc))
        return None


class SubWorkflow(SystemTask):
    """SubWorkflow: start the child, follow it, terminate it when the parent ends first."""

    task_type = "SUB_WORKFLOW"
    is_async = True

    def start(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> None:
        data = task.input_data
        definition = data.get("subWorkflowDefinition")
        child_input = data.get("workflowInput") or data
        if definition is not None:
            child_input = {
                **child_input,
                "_systemMetadata": {**(child_input.get("_systemMetadata") or {}), "dynamic": True},
            }
        request = {
            "name": definition.get("name") if isinstance(definition, dict) else data.get("subWorkflowName"),
            "version": data.get("subWorkflowVersion") or None,
            "workflowDef": copy.deepcopy(definition) if isinstance(definition, dict) else None,
            "input": copy.deepcopy(child_input),
            "correlationId": workflow.correlation_id,
            "taskToDomain": data.get("subWorkflowTaskToDomain") or workflow.task_to_domain,
            "priority": data.get("priority") if isinstance(data.get("priority"), int) else None,
            "parentWorkflowId": workflow.workflow_id,
            "parentWorkflowTaskId": task.task_id,
        }
        child = _start(runtime, task, request)
        if child is not None:
            task.reason_for_incompletion = None
            sync_child(child, task)

    def execute(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> bool:
        if not task.sub_workflow_id:
            if task.status != "SCHEDULED":
                return False
            self.start(runtime, workflow, task)
            return bool(task.sub_workflow_id) or task.terminal
        child = runtime.find_workflow(task.sub_workflow_id)
        if child is None or not child.terminal:
            return False
        sync_child(child, task)
        return True

    def cancel(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> None:
        child = runtime.find_workflow(task.sub_workflow_id) if task.sub_workflow_id else None
        if child is None or child.terminal:
            return
        reason = (
            f"Parent workflow has been terminated with reason: {workflow.reason_for_incompletion}"
            if workflow.reason_for_incompletion
            else f"Parent workflow has been terminated with status {workflow.status}"
        )
        child.status = "TERMINATED"
        runtime.terminate_workflow(child, reason)

    def is_async_complete(self, task: TaskRecord) -> bool:
        return True


@mapper("START_WORKFLOW")
def map_start_workflow(context: MapContext) -> list[TaskRecord]:
    """StartWorkflowTaskMapper."""
    task = context.create_task("START_WORKFLOW", "SCHEDULED")
    task.input_data = dict(context.task_input)
    task.callback_after_seconds = int(context.workflow_task.get("startDelay") or 0)
    return [task]


class StartWorkflow(SystemTask):
    """StartWorkflow: fire and forget."""

    task_type = "START_WORKFLOW"
    is_async = True

    def start(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> None:
        request = task.input_data.get("startWorkflow")
        if request is None:
            fail_task(task, "Missing 'startWorkflow' in input data.")
            return
        if not isinstance(request, dict) or not request.get("name"):
            fail_task(task, "startWorkflow validation failed. 'name' -> Workflow name cannot be null or empty. ")
            return
        request = {**copy.deepcopy(request), "workflowDef": request.get("workflowDef")}
        request["taskToDomain"] = request.get("taskToDomain") or dict(workflow.task_to_domain)
        request["correlationId"] = request.get("correlationId") or workflow.correlation_id
        started = _start(runtime, task, request)
        if started is not None:
            task.output_data["workflowId"] = started.workflow_id
            task.status = "COMPLETED"


system_task(SubWorkflow())
system_task(StartWorkflow())
