"""The decider (DeciderService.decide): from a workflow's tasks, what to schedule next and whether it is over.

For every task that has not been processed yet: open system tasks are evaluated again, timeouts are
checked, a failed task is retried (or the workflow fails, see :mod:`retries`, or it becomes
COMPLETED_WITH_ERRORS when optional), and a finished task is marked executed and the task(s) after it in
the definition are mapped (:mod:`graph`, the ``tasks_*`` mappers). The workflow is complete when nothing
is left to schedule and every top-level task ran, or a TERMINATE task completed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perago.testing.conductor import expressions, graph, registry, retries, timeouts
from perago.testing.conductor.model import TaskRecord, WorkflowRecord, append_iteration, remove_iteration
from perago.testing.conductor.systask import MapContext, Runtime, TerminateWorkflow, is_system


@dataclass
class Outcome:
    """DeciderOutcome."""

    to_schedule: list[TaskRecord] = field(default_factory=list)
    to_update: list[TaskRecord] = field(default_factory=list)
    complete: bool = False
    terminate_task: TaskRecord | None = None


class Decider:
    """DeciderService over the executor's runtime (which gives the time and schedules mapped tasks)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def decide(self, workflow: WorkflowRecord) -> Outcome:
        """Evaluate ``workflow`` (raises TerminateWorkflow when it must end now)."""
        unprocessed = [t for t in workflow.tasks if t.status != "SKIPPED" and not t.executed]
        first: list[TaskRecord] = []
        if not unprocessed:
            tasks = workflow.definition.get("tasks") or []
            index = 0
            while index < len(tasks) and self._skipped(tasks[index], workflow):
                index += 1
            if index < len(tasks):
                first = self.tasks_to_schedule(workflow, tasks[index], 0)
        return self._decide(workflow, first)

    def _decide(self, workflow: WorkflowRecord, scheduled_first: list[TaskRecord]) -> Outcome:
        outcome = Outcome()
        if workflow.terminal:
            return outcome
        now_ms = self.runtime.now_ms()
        timeouts.check_workflow(workflow, now_ms)
        if workflow.status == "PAUSED":
            return outcome
        pending = [t for t in workflow.tasks if not t.retried and t.status != "SKIPPED" and not t.executed]
        executed = {t.reference_task_name for t in workflow.tasks if t.executed}
        outcome.terminate_task = next(
            (t for t in workflow.tasks if t.task_type == "TERMINATE" and t.status == "COMPLETED"), None
        )
        to_schedule: dict[str, TaskRecord] = {t.reference_task_name: t for t in scheduled_first}
        for task in pending:
            self._pending(workflow, task, now_ms, to_schedule, executed, outcome)
        outcome.to_schedule = [t for t in to_schedule.values() if t.reference_task_name not in executed]
        if outcome.terminate_task is not None or (not outcome.to_schedule and self.complete(workflow)):
            self._check_permissive(workflow)
            outcome.complete = True
        return outcome

    def _pending(
        self,
        workflow: WorkflowRecord,
        task: TaskRecord,
        now_ms: int,
        to_schedule: dict[str, TaskRecord],
        executed: set[str],
        outcome: Outcome,
    ) -> None:
        if is_system(task.task_type) and not task.terminal:
            to_schedule.setdefault(task.reference_task_name, task)
            executed.discard(task.reference_task_name)
        task_def = self._task_def(workflow, task)
        if task_def is not None:
            async_complete = is_system(task.task_type) and registry.system_task(task.task_type).is_async_complete(task)
            timeouts.check_task(task_def, task, now_ms, async_complete)
        if task.terminal and not task.successful:
            again = retries.retry(
                task, task_def or self.runtime.definitions.task_def(task.task_def_name), workflow, now_ms
            )
            if again is not None:
                to_schedule[again.reference_task_name] = again
                executed.discard(again.reference_task_name)
                outcome.to_update.append(task)
            elif not (task.workflow_task.get("permissive") and not task.workflow_task.get("optional")):
                task.status = "COMPLETED_WITH_ERRORS"
        if not task.executed and not task.retried and task.terminal:
            task.executed = True
            following = self.next_tasks(workflow, task)
            if task.loop_over and task.task_type != "DO_WHILE" and following:
                following = self._loop_next(workflow, task, following)
            for nxt in following:
                to_schedule.setdefault(nxt.reference_task_name, nxt)
            outcome.to_update.append(task)

    @staticmethod
    def _task_def(workflow: WorkflowRecord, task: TaskRecord) -> dict[str, Any] | None:
        if task.task_def is not None:
            return task.task_def
        declared = graph.task_by_ref(workflow.definition, task.reference_task_name)
        return None if declared is None else declared.get("taskDefinition")

    @staticmethod
    def _skipped(workflow_task: dict[str, Any], workflow: WorkflowRecord) -> bool:
        found = workflow.task_by_ref(str(workflow_task.get("taskReferenceName")))
        return found is not None and found.status == "SKIPPED"

    def _loop_next(self, workflow: WorkflowRecord, task: TaskRecord, following: list[TaskRecord]) -> list[TaskRecord]:
        """filterNextLoopOverTasks: the next body tasks get this iteration's suffix (unless already there)."""
        for nxt in following:
            nxt.reference_task_name = append_iteration(nxt.reference_task_name, task.iteration)
            nxt.iteration = task.iteration
        present = {t.reference_task_name for t in workflow.tasks if t.status == "IN_PROGRESS" or t.terminal}
        return [t for t in following if t.reference_task_name not in present]

    def next_tasks(self, workflow: WorkflowRecord, task: TaskRecord) -> list[TaskRecord]:
        """DeciderService.getNextTask."""
        if task.task_type in ("DECISION", "SWITCH") and task.input_data.get("hasChildren") is not None:
            return []
        reference = remove_iteration(task.reference_task_name) if task.loop_over else task.reference_task_name
        following = self._next_not_skipped(workflow, reference)
        if following is None:
            return []
        if following.get("type") == "DO_WHILE" and workflow.task_by_ref(str(following["taskReferenceName"])):
            return []
        return self.tasks_to_schedule(workflow, following, 0)

    def tasks_to_schedule(
        self, workflow: WorkflowRecord, workflow_task: dict[str, Any], retry_count: int, retried_id: str | None = None
    ) -> list[TaskRecord]:
        """DeciderService.getTasksToBeScheduled: map a workflow task, minus references already running or done."""
        document = expressions.document(workflow)
        task_input = expressions.task_input(workflow_task.get("inputParameters"), document)
        context = MapContext(self.runtime, workflow, workflow_task, task_input, document, retry_count, retried_id)
        present = {t.reference_task_name for t in workflow.tasks if t.status == "IN_PROGRESS" or t.terminal}
        mapped = registry.mapper(str(workflow_task.get("type", "SIMPLE")))(context)
        return [t for t in mapped if t.reference_task_name not in present]

    def complete(self, workflow: WorkflowRecord) -> bool:
        """DeciderService.checkForWorkflowCompletion."""
        statuses: dict[str, str] = {}
        not_done: list[TaskRecord] = []
        for task in workflow.tasks:
            statuses[task.reference_task_name] = task.status
            if not task.terminal:
                return False
            if task.task_type == "TERMINATE" and task.status == "COMPLETED":
                return True
            if not task.retried or not task.executed:
                not_done.append(task)
        if not statuses:
            return False
        top_level = [str(t.get("taskReferenceName")) for t in workflow.definition.get("tasks") or []]
        if any(reference not in statuses for reference in top_level):
            return False
        return not any(self._unscheduled_next(workflow, task, statuses) for task in not_done)

    def _unscheduled_next(self, workflow: WorkflowRecord, task: TaskRecord, statuses: dict[str, str]) -> bool:
        """getNextTasksToBeScheduled names a reference that has no task yet."""
        following = self._next_not_skipped(workflow, task.reference_task_name)
        return following is not None and following.get("taskReferenceName") not in statuses

    def _next_not_skipped(self, workflow: WorkflowRecord, reference: str) -> dict[str, Any] | None:
        """The workflow task after ``reference`` in the definition, passing over skipped ones."""
        following = graph.next_in_definition(workflow.definition, reference)
        while following is not None and self._skipped(following, workflow):
            following = graph.next_in_definition(workflow.definition, str(following.get("taskReferenceName")))
        return following

    @staticmethod
    def _check_permissive(workflow: WorkflowRecord) -> None:
        latest: dict[str, TaskRecord] = {}
        for task in workflow.tasks:
            if task.workflow_task.get("permissive") and not task.workflow_task.get("optional"):
                known = latest.get(task.reference_task_name)
                if known is None or task.retry_count > known.retry_count:
                    latest[task.reference_task_name] = task
        failed = [t for t in latest.values() if t.terminal and not t.successful]
        if failed:
            raise TerminateWorkflow(
                ". ".join(
                    f"Task {t.task_id} failed with status: {t.status} and reason: '{t.reason_for_incompletion}'"
                    for t in failed
                )
            )

    def update_output(self, workflow: WorkflowRecord) -> None:
        """DeciderService.updateWorkflowOutput."""
        if not workflow.tasks:
            return
        terminate = next((t for t in workflow.tasks if t.task_type == "TERMINATE" and t.status == "COMPLETED"), None)
        if terminate is not None:
            workflow.output = dict(terminate.output_data)
            return
        parameters = workflow.definition.get("outputParameters") or {}
        if parameters:
            workflow.output = expressions.task_input(parameters, expressions.document(workflow))
        else:
            workflow.output = dict(workflow.tasks[-1].output_data)
