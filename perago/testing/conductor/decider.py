"""The decider: schedules the next tasks of a workflow, retries failures, completes or fails it.

Callers hold the engine lock. The workflow definition is walked from the top each time: a SIMPLE task
is done when its newest attempt succeeded, FORK_JOIN runs its branches side by side and the JOIN that
follows it completes when every branch is done.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Literal

from perago.testing.conductor import expressions
from perago.testing.conductor.definitions import Definitions
from perago.testing.conductor.model import SUCCESSFUL_TASK, TaskRecord, WorkflowRecord
from perago.testing.conductor.retries import retry_delay_seconds, should_retry
from perago.testing.conductor.store import Store

Progress = tuple[Literal["done", "waiting", "failed"], TaskRecord | None]
_WAITING: Progress = ("waiting", None)
_DONE: Progress = ("done", None)


class Decider:
    """Moves workflows forward; every method expects the engine lock to be held."""

    def __init__(
        self, store: Store, definitions: Definitions, now: Callable[[], float], notify: Callable[[], None]
    ) -> None:
        self.store = store
        self.definitions = definitions
        self.now = now
        self.notify = notify

    def now_ms(self) -> int:
        """Current time in epoch milliseconds."""
        return int(self.now() * 1000)

    def task_def(self, task: TaskRecord) -> dict[str, Any] | None:
        """The TaskDef snapshotted into the workflow at start (None for system tasks)."""
        task_def: dict[str, Any] | None = task.workflow_task.get("taskDefinition")
        return task_def

    # -- walking the definition ------------------------------------------------------------------

    def decide(self, workflow: WorkflowRecord) -> None:
        """Schedule what can run now; complete or fail the workflow when it is over."""
        if workflow.terminal:
            return
        state, failed = self._sequence(workflow, workflow.definition["tasks"])
        if state == "done":
            self.complete(workflow)
        elif state == "failed" and failed is not None:
            self.fail(workflow, failed)

    def fail(self, workflow: WorkflowRecord, failed: TaskRecord) -> None:
        """End the workflow because ``failed`` failed for good (TIMED_OUT when it timed out)."""
        status = "TIMED_OUT" if failed.status == "TIMED_OUT" else "FAILED"
        self.set_output(workflow, failed)
        reason = f"Task {failed.task_id} failed with status: {status} and reason: '{failed.reason_for_incompletion}'"
        self.finish(workflow, status, reason)

    def _sequence(self, workflow: WorkflowRecord, workflow_tasks: list[dict[str, Any]]) -> Progress:
        index = 0
        while index < len(workflow_tasks):
            workflow_task = workflow_tasks[index]
            if workflow_task["type"] == "FORK_JOIN":
                join = workflow_tasks[index + 1] if index + 1 < len(workflow_tasks) else None
                progress = self._fork(workflow, workflow_task, join)
                index += 2 if join is not None and join["type"] == "JOIN" else 1
            else:
                progress = self._simple(workflow, workflow_task)
                index += 1
            if progress[0] != "done":
                return progress
        return _DONE

    def _simple(self, workflow: WorkflowRecord, workflow_task: dict[str, Any]) -> Progress:
        task = workflow.latest(workflow_task["taskReferenceName"])
        if task is None:
            self.schedule(workflow, workflow_task)
            return _WAITING
        if task.status in SUCCESSFUL_TASK:
            return _DONE
        if not task.terminal:
            return _WAITING
        return ("failed", task)

    def _fork(self, workflow: WorkflowRecord, fork: dict[str, Any], join: dict[str, Any] | None) -> Progress:
        fork_task = workflow.latest(fork["taskReferenceName"])
        if fork_task is None:
            fork_task = self._system_task(workflow, fork, "FORK", "COMPLETED")
        results = [self._sequence(workflow, branch) for branch in fork.get("forkTasks") or []]
        join_task = None
        if join is not None and join["type"] == "JOIN":
            join_task = workflow.latest(join["taskReferenceName"])
            if join_task is None:
                join_task = self._system_task(workflow, join, "JOIN", "IN_PROGRESS")
        for state, failed in results:
            if state == "failed":  # the workflow fails at once; finish() cancels the waiting JOIN
                return ("failed", failed)
        if any(state == "waiting" for state, _ in results):
            return _WAITING
        if join_task is not None and join is not None and not join_task.terminal:
            join_task.output_data = self._join_output(workflow, fork, join)
            self._end(join_task, "COMPLETED")
        return _DONE

    def _join_output(self, workflow: WorkflowRecord, fork: dict[str, Any], join: dict[str, Any]) -> dict[str, Any]:
        join_on = join.get("joinOn") or [
            branch[-1]["taskReferenceName"] for branch in fork.get("forkTasks") or [] if branch
        ]
        output: dict[str, Any] = {}
        for reference in join_on:
            task = workflow.latest(reference)
            if task is not None:
                output[reference] = task.output_data
        return output

    # -- creating tasks --------------------------------------------------------------------------

    def context(self, workflow: WorkflowRecord) -> dict[str, Any]:
        """The expression context: ``workflow`` and each task reference's newest input/output."""
        context: dict[str, Any] = {
            "workflow": {
                "input": workflow.input,
                "output": workflow.output,
                "workflowId": workflow.workflow_id,
                "correlationId": workflow.correlation_id,
                "workflowType": workflow.name,
                "version": workflow.version,
                "variables": workflow.variables,
            }
        }
        for task in workflow.tasks:
            context[task.reference_task_name] = {
                "input": task.input_data,
                "output": task.output_data,
                "status": task.status,
                "taskId": task.task_id,
                "retryCount": task.retry_count,
                "reasonForIncompletion": task.reason_for_incompletion,
            }
        return context

    def _new_task(
        self, workflow: WorkflowRecord, workflow_task: dict[str, Any], task_type: str, inputs: dict[str, Any]
    ) -> TaskRecord:
        now_ms = self.now_ms()
        task = TaskRecord(
            task_id=str(uuid.uuid4()),
            task_type=task_type,
            reference_task_name=workflow_task["taskReferenceName"],
            workflow_instance_id=workflow.workflow_id,
            workflow_type=workflow.name,
            workflow_task=workflow_task,
            input_data=inputs,
            scheduled_time=now_ms,
            update_time=now_ms,
            seq=len(workflow.tasks) + 1,
            correlation_id=workflow.correlation_id,
            workflow_priority=workflow.priority,
        )
        workflow.tasks.append(task)
        self.store.add_task(task)
        return task

    def _system_task(
        self, workflow: WorkflowRecord, workflow_task: dict[str, Any], task_type: str, status: str
    ) -> TaskRecord:
        inputs = expressions.resolve(workflow_task.get("inputParameters") or {}, self.context(workflow))
        if task_type == "JOIN":
            inputs = {**inputs, "joinOn": workflow_task.get("joinOn") or []}
        task = self._new_task(workflow, workflow_task, task_type, inputs)
        task.start_time = task.scheduled_time
        task.status = status
        if status == "COMPLETED":
            task.end_time = task.scheduled_time
            task.executed = True
        return task

    def schedule(
        self, workflow: WorkflowRecord, workflow_task: dict[str, Any], retry_of: TaskRecord | None = None
    ) -> TaskRecord:
        """Create a SCHEDULED SIMPLE task (or the retry of ``retry_of``) and queue it."""
        inputs = expressions.resolve(workflow_task.get("inputParameters") or {}, self.context(workflow))
        if retry_of is not None:  # the failed attempt's input, refreshed from the expressions
            inputs = {**retry_of.input_data, **inputs}
        task = self._new_task(workflow, workflow_task, workflow_task["name"], inputs)
        task_def = self.task_def(task) or {}
        task.response_timeout_seconds = int(task_def.get("responseTimeoutSeconds", 3600))
        task.domain = self._domain(workflow, task.task_type)
        delay = 0
        if retry_of is not None:
            delay = retry_delay_seconds(retry_of, task_def)
            task.retry_count = retry_of.retry_count + 1
            task.retried_task_id = retry_of.task_id
            task.start_delay_in_seconds = delay
        task.callback_after_seconds = delay
        self.store.enqueue(task, self.now() + delay)
        self.notify()
        return task

    @staticmethod
    def _domain(workflow: WorkflowRecord, task_type: str) -> str | None:
        mapped = workflow.task_to_domain.get(task_type) or workflow.task_to_domain.get("*")
        if not mapped:
            return None
        return str(mapped).split(",")[0].strip() or None

    # -- ending tasks and workflows ---------------------------------------------------------------

    def _end(self, task: TaskRecord, status: str, reason: str | None = None) -> None:
        now_ms = self.now_ms()
        task.status = status
        task.end_time = now_ms
        task.update_time = now_ms
        task.executed = True
        if reason is not None:
            task.reason_for_incompletion = reason
        self.store.dequeue(task)
        self.store.unmark_in_progress(task)

    def end_task(
        self,
        workflow: WorkflowRecord,
        task: TaskRecord,
        status: str,
        reason: str | None,
        *,
        retry: bool = True,
    ) -> None:
        """Finish ``task`` with ``status``; retry it, or fail the workflow, or (optional) carry on.

        ``retry=False`` is the TIME_OUT_WF timeout policy: the workflow times out whatever the retries.
        """
        self._end(task, status, reason)
        if status not in SUCCESSFUL_TASK:
            if retry and should_retry(task, self.task_def(task)):
                task.retried = True
                self.schedule(workflow, task.workflow_task, retry_of=task)
            elif task.workflow_task.get("optional") and retry:
                task.status = "COMPLETED_WITH_ERRORS"
            elif not retry:
                self.fail(workflow, task)
                return
        self.decide(workflow)

    def complete(self, workflow: WorkflowRecord) -> None:
        """COMPLETE the workflow, evaluating its outputParameters (else the last task's output)."""
        self.set_output(workflow, None)
        self.finish(workflow, "COMPLETED", None)

    def set_output(self, workflow: WorkflowRecord, last: TaskRecord | None) -> None:
        """Set the workflow output: its outputParameters, else ``last``'s (or the last task's) output."""
        parameters = workflow.definition.get("outputParameters") or {}
        if parameters:
            workflow.output = expressions.resolve(parameters, self.context(workflow))
        elif last is not None or workflow.tasks:
            workflow.output = dict((last or workflow.tasks[-1]).output_data)

    def finish(self, workflow: WorkflowRecord, status: str, reason: str | None) -> None:
        """End the workflow with ``status``; cancel its open tasks; record the FAILED task names."""
        for task in workflow.tasks:
            if not task.terminal:
                self._end(task, "CANCELED")
        now_ms = self.now_ms()
        self.store.open_workflows.pop(workflow.workflow_id, None)
        workflow.status = status
        workflow.reason_for_incompletion = reason
        workflow.end_time = now_ms
        workflow.update_time = now_ms
        if status != "COMPLETED":  # Conductor lists FAILED / FAILED_WITH_TERMINAL_ERROR tasks only
            failed = [t for t in workflow.tasks if t.status in ("FAILED", "FAILED_WITH_TERMINAL_ERROR")]
            workflow.failed_reference_task_names = sorted({t.reference_task_name for t in failed})
            workflow.failed_task_names = sorted({str(t.workflow_task.get("name", t.task_type)) for t in failed})
        self.notify()  # wake ConductorEmulator.wait_for_workflow
