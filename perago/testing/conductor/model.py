"""Runtime records of the emulator: task and workflow instances and their Conductor JSON.

Status sets follow conductor-oss's ``TaskModel.Status`` (terminal / successful / retriable flags) and
``WorkflowModel.Status``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL_TASK = frozenset(
    {"CANCELED", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "COMPLETED", "COMPLETED_WITH_ERRORS", "TIMED_OUT", "SKIPPED"}
)
SUCCESSFUL_TASK = frozenset({"COMPLETED", "COMPLETED_WITH_ERRORS", "SKIPPED", "IN_PROGRESS", "SCHEDULED"})
UNSUCCESSFUL_TASK = TERMINAL_TASK - SUCCESSFUL_TASK  # FAILED, FAILED_WITH_TERMINAL_ERROR, TIMED_OUT, CANCELED
RETRIABLE_TASK = frozenset({"FAILED", "TIMED_OUT", "COMPLETED", "COMPLETED_WITH_ERRORS", "IN_PROGRESS", "SCHEDULED"})
TERMINAL_WORKFLOW = frozenset({"COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"})
LOOP_DELIMITER = "__"


def remove_iteration(reference: str) -> str:
    """``ref__3`` -> ``ref`` (TaskUtils.removeIterationFromTaskRefName: the text before the first ``__``)."""
    return reference.split(LOOP_DELIMITER, maxsplit=1)[0] if reference else reference


def append_iteration(reference: str, iteration: int) -> str:
    """``ref`` -> ``ref__3`` (TaskUtils.appendIteration)."""
    return f"{reference}{LOOP_DELIMITER}{iteration}"


@dataclass
class TaskRecord:
    """One task instance (one attempt: a retry is a new record with a new taskId)."""

    task_id: str
    task_type: str
    reference_task_name: str
    workflow_instance_id: str
    workflow_type: str
    workflow_task: dict[str, Any]
    input_data: dict[str, Any]
    scheduled_time: int
    seq: int = 0
    task_def_name: str = ""
    status: str = "SCHEDULED"
    correlation_id: str | None = None
    domain: str | None = None
    output_data: dict[str, Any] = field(default_factory=dict)
    retry_count: int = 0
    poll_count: int = 0
    start_time: int = 0
    end_time: int = 0
    update_time: int = 0
    first_scheduled_time: int = 0
    start_delay_in_seconds: int = 0
    retried_task_id: str | None = None
    retried: bool = False
    executed: bool = False
    callback_after_seconds: int = 0
    callback_after_ms: int = 0  # a retry's delay with its jitter (queued on this when set)
    response_timeout_seconds: int = 0
    worker_id: str | None = None
    reason_for_incompletion: str | None = None
    workflow_priority: int = 0
    iteration: int = 0
    sub_workflow_id: str | None = None
    subworkflow_changed: bool = False
    wait_timeout: int = 0  # epoch ms a WAIT task completes at (0: until signalled)
    rate_limit_per_frequency: int = 0
    rate_limit_frequency_in_seconds: int = 0
    ready_at: float = 0.0  # seconds: when a queued task may be polled (start delay, retry delay, callback)
    in_flight: bool = False  # an HTTP call for this task is running outside the engine lock

    @property
    def terminal(self) -> bool:
        """True once the task reached a final status."""
        return self.status in TERMINAL_TASK

    @property
    def successful(self) -> bool:
        """TaskModel.Status.isSuccessful (non-terminal statuses count as successful, as in Conductor)."""
        return self.status in SUCCESSFUL_TASK

    @property
    def loop_over(self) -> bool:
        """True for a task scheduled inside a DO_WHILE iteration."""
        return self.iteration > 0

    @property
    def task_def(self) -> dict[str, Any] | None:
        """The TaskDef snapshotted into the workflow when it started (registered or ad-hoc)."""
        task_def: dict[str, Any] | None = self.workflow_task.get("taskDefinition")
        return task_def

    def to_json(self) -> dict[str, Any]:
        """Return the Task JSON Conductor sends (camelCase, epoch milliseconds)."""
        return {
            "taskType": self.task_type,
            "status": self.status,
            "inputData": self.input_data,
            "referenceTaskName": self.reference_task_name,
            "retryCount": self.retry_count,
            "seq": self.seq,
            "correlationId": self.correlation_id,
            "pollCount": self.poll_count,
            "taskDefName": self.task_def_name,
            "scheduledTime": self.scheduled_time,
            "startTime": self.start_time,
            "endTime": self.end_time,
            "updateTime": self.update_time,
            "startDelayInSeconds": self.start_delay_in_seconds,
            "retriedTaskId": self.retried_task_id,
            "retried": self.retried,
            "executed": self.executed,
            "callbackFromWorker": True,
            "responseTimeoutSeconds": self.response_timeout_seconds,
            "workflowInstanceId": self.workflow_instance_id,
            "workflowType": self.workflow_type,
            "taskId": self.task_id,
            "reasonForIncompletion": self.reason_for_incompletion,
            "callbackAfterSeconds": self.callback_after_seconds,
            "workerId": self.worker_id,
            "outputData": self.output_data,
            "workflowTask": self.workflow_task,
            "domain": self.domain,
            "rateLimitPerFrequency": self.rate_limit_per_frequency,
            "rateLimitFrequencyInSeconds": self.rate_limit_frequency_in_seconds,
            "workflowPriority": self.workflow_priority,
            "iteration": self.iteration,
            "subWorkflowId": self.sub_workflow_id,
            "subworkflowChanged": self.subworkflow_changed,
            "loopOverTask": self.loop_over,
            "queueWaitTime": max(self.start_time - self.scheduled_time, 0) if self.start_time else 0,
        }


@dataclass
class WorkflowRecord:
    """One workflow execution."""

    workflow_id: str
    definition: dict[str, Any]
    input: dict[str, Any]
    create_time: int
    correlation_id: str | None = None
    task_to_domain: dict[str, str] = field(default_factory=dict)
    priority: int = 0
    status: str = "RUNNING"
    output: dict[str, Any] = field(default_factory=dict)
    tasks: list[TaskRecord] = field(default_factory=list)
    update_time: int = 0
    end_time: int = 0
    last_retried_time: int = 0
    reason_for_incompletion: str | None = None
    failed_task_id: str | None = None
    failed_reference_task_names: set[str] = field(default_factory=set)
    failed_task_names: set[str] = field(default_factory=set)
    variables: dict[str, Any] = field(default_factory=dict)
    parent_workflow_id: str | None = None
    parent_workflow_task_id: str | None = None
    idempotency_key: str | None = None

    @property
    def name(self) -> str:
        """The workflow definition's name."""
        return str(self.definition["name"])

    @property
    def version(self) -> int:
        """The workflow definition's version."""
        return int(self.definition.get("version") or 1)

    @property
    def terminal(self) -> bool:
        """True once the workflow reached a final status."""
        return self.status in TERMINAL_WORKFLOW

    def task_by_ref(self, reference: str) -> TaskRecord | None:
        """WorkflowModel.getTaskByRefName: the last task (in list order) with this reference name."""
        for task in reversed(self.tasks):
            if task.reference_task_name == reference:
                return task
        return None

    def to_json(self, *, include_tasks: bool = True) -> dict[str, Any]:
        """Return the Workflow JSON Conductor sends for ``GET /api/workflow/{id}``."""
        return {
            "workflowId": self.workflow_id,
            "workflowName": self.name,
            "workflowVersion": self.version,
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "correlationId": self.correlation_id,
            "tasks": [task.to_json() for task in self.tasks] if include_tasks else [],
            "createTime": self.create_time,
            "startTime": self.create_time,
            "updateTime": self.update_time,
            "endTime": self.end_time,
            "reasonForIncompletion": self.reason_for_incompletion,
            "taskToDomain": self.task_to_domain,
            "failedReferenceTaskNames": sorted(self.failed_reference_task_names),
            "failedTaskNames": sorted(self.failed_task_names),
            "workflowDefinition": self.definition,
            "priority": self.priority,
            "variables": self.variables,
            "lastRetriedTime": self.last_retried_time,
            "parentWorkflowId": self.parent_workflow_id,
            "parentWorkflowTaskId": self.parent_workflow_task_id,
            "idempotencyKey": self.idempotency_key,
        }

    def summary(self) -> dict[str, Any]:
        """The WorkflowSummary JSON that ``/workflow/search`` lists."""
        return {
            "workflowType": self.name,
            "version": self.version,
            "workflowId": self.workflow_id,
            "correlationId": self.correlation_id,
            "startTime": self.create_time,
            "updateTime": self.update_time,
            "endTime": self.end_time,
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "reasonForIncompletion": self.reason_for_incompletion,
            "executionTime": max(self.end_time - self.create_time, 0) if self.end_time else 0,
            "failedReferenceTaskNames": ",".join(sorted(self.failed_reference_task_names)),
            "priority": self.priority,
            "variables": self.variables,
            "idempotencyKey": self.idempotency_key,
        }
