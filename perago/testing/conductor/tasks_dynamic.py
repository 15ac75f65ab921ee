"""The branches of a FORK_JOIN_DYNAMIC, read from its input as ForkJoinDynamicTaskMapper does.

Three forms, tried in this order: ``forkTaskInputs`` (a list: one branch per item, running
``forkTaskName``/``forkTaskType`` or the sub-workflow ``forkTaskWorkflow``), ``dynamicForkTasksParam``
(a list of workflow tasks) with ``dynamicForkTasksInputParamName`` (their inputs by reference name),
and the deprecated ``dynamicForkJoinTasksParam`` (``{"dynamicTasks": [...]}``).
"""

from __future__ import annotations

import copy
from typing import Any

from perago.testing.conductor.systask import MapContext, TerminateWorkflow, is_system

Branches = tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]
_WORKFLOW_TASK_FIELDS = frozenset(
    {"optional", "startDelay", "retryCount", "asyncComplete", "permissive", "description"}
)


def dynamic_branches(context: MapContext) -> Branches:
    """(branch workflow tasks, their inputs by reference name)."""
    simple = _simple_form(context)
    if simple is not None:
        return simple
    if context.workflow_task.get("dynamicForkTasksParam"):
        return _tasks_param_form(context)
    return _legacy_form(context)


def _simple_form(context: MapContext) -> Branches | None:
    data, workflow_task = context.task_input, context.workflow_task
    inputs = data.get("forkTaskInputs")
    if not isinstance(inputs, list):
        return None
    sub_workflow = data.get("forkTaskWorkflow")
    task_type = data.get("forkTaskType")
    name = data.get("forkTaskName")
    if task_type is not None and is_system(str(task_type)) and name is None:
        name = task_type
    name = name or workflow_task.get("taskReferenceName")
    nested = any(t.workflow_task.get("type") == "FORK_JOIN_DYNAMIC" for t in context.workflow.tasks)
    branches: list[dict[str, Any]] = []
    for index, item in enumerate(inputs):
        branch = {k: v for k, v in item.items() if k in _WORKFLOW_TASK_FIELDS} if isinstance(item, dict) else {}
        params = dict(item) if isinstance(item, dict) else {"input": item}
        if sub_workflow is not None:
            version = str(data.get("forkTaskWorkflowVersion") or "")
            sub_params: dict[str, Any] = {"name": sub_workflow, "version": int(version) if version.isdigit() else None}
            if isinstance(item, dict) and isinstance(item.get("taskToDomain"), dict):
                sub_params["taskToDomain"] = item["taskToDomain"]
            branch.update(name=sub_workflow, type="SUB_WORKFLOW", subWorkflowParam=sub_params)
        else:
            branch.update(name=name, type=task_type or "SIMPLE")
            registered = context.runtime.definitions.task_def(str(name))
            if registered is not None:
                branch["taskDefinition"] = copy.deepcopy(registered)
        prefix = f"_{workflow_task.get('taskReferenceName')}_{name}" if nested else f"_{name}"
        branch["taskReferenceName"] = f"{prefix}_{index}"
        branch["inputParameters"] = {**params, "__index": index}
        if workflow_task.get("optional"):
            branch["optional"] = True
        branches.append(branch)
    return branches, {b["taskReferenceName"]: b["inputParameters"] for b in branches}


def _tasks_param_form(context: MapContext) -> Branches:
    parameter = str(context.workflow_task.get("dynamicForkTasksParam"))
    raw = context.task_input.get(parameter)
    if not isinstance(raw, list) or not all(isinstance(t, dict) and t.get("taskReferenceName") for t in raw):
        raise TerminateWorkflow(
            f"Input '{parameter}' is invalid. Cannot deserialize a list of Workflow Tasks from '{raw}'"
        )
    branches = [{"type": "SIMPLE", "inputParameters": {}, **copy.deepcopy(t)} for t in raw]
    for branch in branches:
        registered = context.runtime.definitions.task_def(str(branch.get("name")))
        if not branch.get("taskDefinition") and registered is not None:
            branch["taskDefinition"] = copy.deepcopy(registered)
    inputs = context.task_input.get(str(context.workflow_task.get("dynamicForkTasksInputParamName")))
    if not isinstance(inputs, dict):
        raise TerminateWorkflow(
            f"Input to the dynamically forked tasks is not a map -> expecting a map of K,V  but found {inputs}"
        )
    return branches, inputs


def _legacy_form(context: MapContext) -> Branches:
    parameter = context.workflow_task.get("dynamicForkJoinTasksParam")
    value = context.task_input.get(str(parameter))
    dynamic = value.get("dynamicTasks") if isinstance(value, dict) else None
    if not isinstance(dynamic, list):
        raise TerminateWorkflow(
            f"Dynamic tasks could not be created. The value of {parameter} from task's input "
            f"{context.task_input} has no dynamic tasks to be scheduled"
        )
    branches: list[dict[str, Any]] = []
    inputs: dict[str, dict[str, Any]] = {}
    for item in dynamic:
        branch = {"name": item.get("taskName"), "taskReferenceName": item.get("referenceName"), "inputParameters": {}}
        branch["type"] = item.get("type") or "SIMPLE"
        registered = context.runtime.definitions.task_def(str(item.get("taskName")))
        if registered is not None:
            branch["taskDefinition"] = copy.deepcopy(registered)
        branches.append(branch)
        inputs[str(item.get("referenceName"))] = dict(item.get("input") or {})
    return branches, inputs
