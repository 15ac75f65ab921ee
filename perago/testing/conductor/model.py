"""Runtime records of the emulator: task and workflow instances and their Conductor JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL_TASK = frozenset(
    {
        "CANCELED",
        "FAILED",
        "FAILED_WITH_TERMINAL_ERROR",
        "COMPLETED",
        "COMPLETED_WITH_ERRORS",
        "TIMED_OUT",
        "SKIPPED",
    }
)
SUCCESSFUL_TASK = frozenset({"COMPLETED", "COMPLETED_WITH_ERRORS", "SKIPPED"})
RETRIABLE_TASK = frozenset({"FAILED", "TIMED_OUT"})
TERMINAL_WORKFLOW = frozenset({"COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"})


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
    seq: int
    status: str = "SCHEDULED"
    correlation_id: str | None = None
    domain: str | None = None
    output_data: dict[str, Any] = field(default_factory=dict)
    retry_count: int = 0
    poll_count: int = 0
    start_time: int = 0
    end_time: int = 0
    update_time: int = 0
    start_delay_in_seconds: int = 0
    retried_task_id: str | None = None
    retried: bool = False
    executed: bool = False
    callback_after_seconds: int = 0
    response_timeout_seconds: int = 0
    worker_id: str | None = None
    reason_for_incompletion: str | None = None
    workflow_priority: int = 0
    ready_at: float = 0.0  # seconds: when a SCHEDULED task may be polled (retry delay, callback)

    @property
    def terminal(self) -> bool:
        """True once the task reached a final status."""
        return self.status in TERMINAL_TASK

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
            "taskDefName": self.workflow_task.get("name", self.task_type),
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
            "rateLimitPerFrequency": 0,
            "rateLimitFrequencyInSeconds": 0,
            "workflowPriority": self.workflow_priority,
            "iteration": 0,
            "subworkflowChanged": False,
            "loopOverTask": False,
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
    reason_for_incompletion: str | None = None
    failed_reference_task_names: list[str] = field(default_factory=list)
    failed_task_names: list[str] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The workflow definition's name."""
        return str(self.definition["name"])

    @property
    def version(self) -> int:
        """The workflow definition's version."""
        return int(self.definition["version"])

    @property
    def terminal(self) -> bool:
        """True once the workflow reached a final status."""
        return self.status in TERMINAL_WORKFLOW

    def latest(self, reference: str) -> TaskRecord | None:
        """Return the newest task (last retry) scheduled for ``reference``, or None."""
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
            "failedReferenceTaskNames": self.failed_reference_task_names,
            "failedTaskNames": self.failed_task_names,
            "workflowDefinition": self.definition,
            "priority": self.priority,
            "variables": self.variables,
            "lastRetriedTime": 0,
        }
