"""Worker tasks: SIMPLE (and any other type a worker polls) and DYNAMIC.

SimpleTaskMapper / UserDefinedTaskMapper: one SCHEDULED task whose type is the workflow task's name
(SIMPLE) or type (other worker types), its input resolved with the TaskDef's inputTemplate, queued
after ``startDelay``. DynamicTaskMapper: the task name comes from the input parameter named by
``dynamicTaskNameParam``; the task is then a worker task of that type.
"""

from __future__ import annotations

from perago.testing.conductor.definitions import TASK_DEF_DEFAULTS
from perago.testing.conductor.model import TaskRecord
from perago.testing.conductor.systask import MapContext, TerminateWorkflow, mapper


def _worker_task(context: MapContext, task_type: str) -> TaskRecord:
    workflow_task = context.workflow_task
    task_def = context.task_def or {"name": workflow_task.get("name"), **TASK_DEF_DEFAULTS}
    task = context.create_task(task_type, "SCHEDULED")
    task.input_data = context.resolved_input()
    delay = int(workflow_task.get("startDelay") or 0)
    task.start_delay_in_seconds = delay
    task.callback_after_seconds = delay
    task.retry_count = context.retry_count
    task.retried_task_id = context.retried_task_id
    task.response_timeout_seconds = int(task_def.get("responseTimeoutSeconds") or 0)
    task.rate_limit_per_frequency = int(task_def.get("rateLimitPerFrequency") or 0)
    task.rate_limit_frequency_in_seconds = int(task_def.get("rateLimitFrequencyInSeconds") or 1)
    return task


@mapper("SIMPLE")
def map_simple(context: MapContext) -> list[TaskRecord]:
    """SimpleTaskMapper: the task's type is the workflow task's name."""
    return [_worker_task(context, str(context.workflow_task.get("name")))]


def map_user_defined(context: MapContext) -> list[TaskRecord]:
    """UserDefinedTaskMapper: a worker task polled by its declared type."""
    return [_worker_task(context, str(context.workflow_task.get("type")))]


@mapper("DYNAMIC")
def map_dynamic(context: MapContext) -> list[TaskRecord]:
    """DynamicTaskMapper: the name to run is the input parameter named by ``dynamicTaskNameParam``."""
    workflow_task = context.workflow_task
    parameter = workflow_task.get("dynamicTaskNameParam")
    name = context.task_input.get(str(parameter))
    if name is None:
        raise TerminateWorkflow(
            "Cannot map a dynamic task based on the parameter and input. "
            f"Parameter= {parameter}, input= {context.task_input}"
        )
    workflow_task["name"] = str(name)  # Conductor renames the workflow task in the running definition
    if not workflow_task.get("taskDefinition"):
        registered = context.runtime.definitions.task_def(str(name))
        if registered is None:
            raise TerminateWorkflow(f"Invalid task specified.  Cannot find task by name {name} in the task definitions")
        workflow_task["taskDefinition"] = registered
    task = _worker_task(context, str(name))
    task.task_def_name = str(name)
    return [task]
