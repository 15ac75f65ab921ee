"""Shared helpers: conductor-python clients bound to an emulator, and short-hands for common steps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.task_resource_api import TaskResourceApi
from conductor.client.http.models import Task, TaskDef, TaskResult, Workflow, WorkflowDef, WorkflowTask
from conductor.client.orkes_clients import OrkesClients

from perago.testing.conductor import ConductorEmulator, ManualClock


class Conductor:
    """conductor-python's metadata, workflow and task clients against one emulator."""

    def __init__(self, emulator: ConductorEmulator) -> None:
        self.emulator = emulator
        self.configuration = Configuration(server_api_url=emulator.url)
        clients = OrkesClients(configuration=self.configuration)
        self.metadata = clients.get_metadata_client()
        self.workflows = clients.get_workflow_client()
        self.tasks = clients.get_task_client()
        self.task_api: TaskResourceApi = self.tasks.taskResourceApi

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.emulator.clock, ManualClock)
        return self.emulator.clock

    def task_def(self, name: str, **fields: Any) -> TaskDef:
        task_def = TaskDef(name=name, **fields)
        self.metadata.register_task_def(task_def)
        return task_def

    def workflow_def(
        self, name: str, tasks: list[WorkflowTask], output: dict[str, Any] | None = None, version: int = 1
    ) -> WorkflowDef:
        workflow_def = WorkflowDef(name=name, version=version, tasks=tasks, output_parameters=output or {})
        self.metadata.register_workflow_def(workflow_def, overwrite=True)
        return workflow_def

    def chain(self, name: str, *task_types: str, **task_def_fields: Any) -> None:
        """Register task defs and a workflow running them in sequence, each fed the workflow input."""
        for task_type in dict.fromkeys(task_types):
            self.task_def(task_type, **task_def_fields)
        steps = [
            simple(task_type, f"{task_type}_{index}", {"value": "${workflow.input.value}"})
            for index, task_type in enumerate(task_types)
        ]
        self.workflow_def(name, steps)

    def start(self, name: str, workflow_input: dict[str, Any] | None = None, **kwargs: Any) -> str:
        workflow_id: str = self.workflows.start_workflow_by_name(name, workflow_input or {}, **kwargs)
        return workflow_id

    def poll_one(self, task_type: str, worker_id: str = "worker-1", **kwargs: Any) -> Task:
        tasks = self.tasks.batch_poll_tasks(
            task_type, worker_id=worker_id, count=1, timeout_in_millisecond=50, **kwargs
        )
        assert tasks, f"expected a {task_type} task to poll"
        task: Task = tasks[0]
        return task

    def poll_now(self, task_type: str, count: int = 1, worker_id: str = "w") -> list[Task]:
        """Batch poll without waiting (OrkesTaskClient drops timeout=0, so use the raw API)."""
        tasks: list[Task] = self.task_api.batch_poll(task_type, workerid=worker_id, count=count, timeout=0)
        return tasks

    def result(self, task: Task, status: str, **fields: Any) -> TaskResult:
        return TaskResult(
            workflow_instance_id=task.workflow_instance_id,
            task_id=task.task_id,
            worker_id=task.worker_id,
            status=status,
            **fields,
        )

    def complete(self, task: Task, output: dict[str, Any] | None = None) -> str:
        task_id: str = self.tasks.update_task(self.result(task, "COMPLETED", output_data=output or {}))
        return task_id

    def fail(self, task: Task, reason: str = "boom", status: str = "FAILED") -> None:
        self.tasks.update_task(self.result(task, status, reason_for_incompletion=reason))

    def workflow(self, workflow_id: str) -> Workflow:
        workflow: Workflow = self.workflows.get_workflow(workflow_id, include_tasks=True)
        return workflow


def simple(name: str, reference: str, inputs: dict[str, Any] | None = None, *, optional: bool = False) -> WorkflowTask:
    return WorkflowTask(
        name=name,
        task_reference_name=reference,
        type="SIMPLE",
        input_parameters=inputs or {},
        optional=optional,
    )


@pytest.fixture
def conductor(conductor_emulator: ConductorEmulator) -> Conductor:
    """Clients on the real-clock emulator."""
    return Conductor(conductor_emulator)


@pytest.fixture
def manual(conductor_emulator_manual: ConductorEmulator) -> Conductor:
    """Clients on the ManualClock emulator (``manual.clock.advance(s)``)."""
    return Conductor(conductor_emulator_manual)


@pytest.fixture
def make_simple() -> Iterator[Any]:
    yield simple
