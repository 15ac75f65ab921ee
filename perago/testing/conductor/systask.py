"""What every task type plugs into: a mapper (TaskMapper) and, for system tasks, a WorkflowSystemTask.

A mapper turns a workflow task of the definition into the task instances to schedule (a SWITCH maps to
itself plus the first task of the chosen case); a system task is executed by the server itself:
``start`` once when it is scheduled, ``execute`` on every evaluation until it returns True, ``cancel``
when its workflow ends first. Asynchronous ones (JOIN, SUB_WORKFLOW, START_WORKFLOW, WAIT, HTTP) are
run by Conductor's system-task workers; the emulator runs them on each evaluation and sweep instead.
The family modules (``tasks_*.py``) register themselves here; :mod:`registry` imports them all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from perago.testing.conductor import expressions
from perago.testing.conductor.model import TaskRecord, WorkflowRecord

if TYPE_CHECKING:
    from perago.testing.conductor.definitions import Definitions


class TerminateWorkflow(Exception):
    """Ends the workflow being decided with ``status`` (and the task that caused it)."""

    def __init__(self, reason: str, status: str = "FAILED", task: TaskRecord | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.task = task


class Runtime(Protocol):
    """What mappers and system tasks use from the executor."""

    definitions: Definitions

    def now_ms(self) -> int:
        """Current time in epoch milliseconds."""
        ...

    def tasks_to_schedule(
        self, workflow: WorkflowRecord, workflow_task: dict[str, Any], retry_count: int, retried_task_id: str | None
    ) -> list[TaskRecord]:
        """DeciderService.getTasksToBeScheduled."""
        ...

    def start_child(self, request: dict[str, Any]) -> WorkflowRecord:
        """Start a workflow (StartWorkflowInput as JSON); return it."""
        ...

    def find_workflow(self, workflow_id: str) -> WorkflowRecord | None:
        """A workflow by id, or None."""
        ...

    def terminate_workflow(self, workflow: WorkflowRecord, reason: str) -> None:
        """WorkflowExecutor.terminateWorkflow(workflow, reason, null)."""
        ...

    def schedule_next_iteration(self, loop_task: TaskRecord, workflow: WorkflowRecord) -> None:
        """WorkflowExecutor.scheduleNextIteration."""
        ...

    def remove_task(self, workflow: WorkflowRecord, task: TaskRecord) -> None:
        """Delete a task instance (DO_WHILE keepLastN)."""
        ...

    def call_http(self, workflow: WorkflowRecord, task: TaskRecord) -> None:
        """Run an HTTP task's request outside the engine lock, then apply its result."""
        ...


@dataclass
class MapContext:
    """TaskMapperContext: what a mapper needs to build the task instances of one workflow task."""

    runtime: Runtime
    workflow: WorkflowRecord
    workflow_task: dict[str, Any]
    task_input: dict[str, Any]
    document: dict[str, Any]  # what ``task_input`` was resolved against (expressions.document of the workflow)
    retry_count: int = 0
    retried_task_id: str | None = None
    task_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def task_def(self) -> dict[str, Any] | None:
        """The workflow task's snapshotted TaskDef."""
        task_def: dict[str, Any] | None = self.workflow_task.get("taskDefinition")
        return task_def

    def create_task(self, task_type: str | None = None, status: str = "SCHEDULED") -> TaskRecord:
        """TaskMapperContext.createTaskModel (type and definition name from the workflow task)."""
        return TaskRecord(
            task_id=self.task_id,
            task_type=task_type or str(self.workflow_task.get("type", "SIMPLE")),
            task_def_name=str(self.workflow_task.get("name")),
            reference_task_name=str(self.workflow_task.get("taskReferenceName")),
            workflow_instance_id=self.workflow.workflow_id,
            workflow_type=self.workflow.name,
            workflow_task=self.workflow_task,
            input_data={},
            scheduled_time=self.runtime.now_ms(),
            status=status,
            correlation_id=self.workflow.correlation_id,
            workflow_priority=self.workflow.priority,
        )

    def resolved_input(self, parameters: dict[str, Any] | None = None, *, template: bool = True) -> dict[str, Any]:
        """getTaskInputV2 of the workflow task's inputParameters (with its TaskDef's inputTemplate)."""
        source = self.workflow_task.get("inputParameters") if parameters is None else parameters
        task_def = self.task_def if template else None
        return expressions.task_input(source, self.document, task_def, self.task_id)

    def start_now(self, task: TaskRecord) -> TaskRecord:
        """Set startTime, as the system task mappers do."""
        task.start_time = self.runtime.now_ms()
        return task


Mapper = Callable[[MapContext], list[TaskRecord]]


class SystemTask:
    """WorkflowSystemTask: the default does nothing and never completes."""

    task_type = ""
    is_async = False

    def start(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> None:
        """Called once, when the task is scheduled."""

    def execute(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> bool:
        """Called on every evaluation while the task is not terminal; True when it changed the task."""
        return False

    def cancel(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> None:
        """Called when the workflow ends while this task is still open."""

    def is_async_complete(self, task: TaskRecord) -> bool:
        """True when something outside the server completes the task (input or definition ``asyncComplete``)."""
        if "asyncComplete" in task.input_data:
            return bool(task.input_data.get("asyncComplete"))
        return bool(task.workflow_task.get("asyncComplete"))


MAPPERS: dict[str, Mapper] = {}
SYSTEM_TASKS: dict[str, SystemTask] = {}


def mapper(*task_types: str) -> Callable[[Mapper], Mapper]:
    """Register a mapper for workflow task ``type`` values."""

    def register(function: Mapper) -> Mapper:
        for task_type in task_types:
            MAPPERS[task_type] = function
        return function

    return register


def system_task(task: SystemTask) -> SystemTask:
    """Register a system task implementation under its ``task_type``."""
    SYSTEM_TASKS[task.task_type] = task
    return task


def fail_task(task: TaskRecord, reason: str, status: str = "FAILED") -> bool:
    """End ``task`` unsuccessfully with ``reason``; True (the task changed)."""
    task.status = status
    task.reason_for_incompletion = reason
    return True


def is_system(task_type: str) -> bool:
    """SystemTaskRegistry.isSystemTask."""
    return task_type in SYSTEM_TASKS
