"""The executor (WorkflowExecutorOps.decide and scheduleTask): runs the decider until nothing changes.

Every method expects the engine lock to be held. One evaluation maps and queues what the decider wants
scheduled, starts and executes the synchronous system tasks (SWITCH, INLINE, DO_WHILE ...), runs the
asynchronous ones that Conductor's system-task workers would run (JOIN, SUB_WORKFLOW, WAIT, HTTP ...),
and repeats while that changed something. Evaluations requested while one is running (a child workflow
finishing inside its parent's evaluation) are queued and run right after it, like Conductor's decider
queue.
"""

from __future__ import annotations

import threading
from typing import Any

from perago.testing.conductor import deadlines, lifecycle, registry, tasks_http
from perago.testing.conductor.clock import Clock
from perago.testing.conductor.decider import Decider
from perago.testing.conductor.definitions import Definitions
from perago.testing.conductor.model import TaskRecord, WorkflowRecord, append_iteration
from perago.testing.conductor.store import Store
from perago.testing.conductor.systask import TerminateWorkflow, is_system

MAX_ROUNDS = 1000  # one evaluation's bound (Conductor re-queues a decide that nears its lock lease)
ACTIVE_WORKER_MS = 10_000  # conductor.app.activeWorkerLastPollTimeout


class Executor:
    """WorkflowExecutorOps over the in-memory store."""

    def __init__(self, clock: Clock, definitions: Definitions, store: Store, changed: threading.Condition) -> None:
        self.clock = clock
        self.definitions = definitions
        self.store = store
        self.changed = changed  # on the engine's lock: HTTP calls finish on their own thread under it
        self.notify = changed.notify_all
        self.decider = Decider(self)
        self._depth = 0
        self._queued: dict[str, None] = {}
        self.http_threads: list[threading.Thread] = []

    def now_ms(self) -> int:
        """Current time in epoch milliseconds."""
        return int(self.clock.now() * 1000)

    # -- Runtime (used by mappers and system tasks) -----------------------------------------------

    def tasks_to_schedule(
        self, workflow: WorkflowRecord, workflow_task: dict[str, Any], retry_count: int, retried_task_id: str | None
    ) -> list[TaskRecord]:
        """DeciderService.getTasksToBeScheduled."""
        return self.decider.tasks_to_schedule(workflow, workflow_task, retry_count, retried_task_id)

    def start_child(self, request: dict[str, Any]) -> WorkflowRecord:
        """Start a workflow on behalf of SUB_WORKFLOW / START_WORKFLOW."""
        return lifecycle.start_workflow(self, request)

    def find_workflow(self, workflow_id: str) -> WorkflowRecord | None:
        """A workflow by id, or None."""
        return self.store.workflows.get(workflow_id)

    def terminate_workflow(self, workflow: WorkflowRecord, reason: str) -> None:
        """WorkflowExecutor.terminateWorkflow(workflow, reason, null)."""
        lifecycle.terminate_workflow(self, workflow, reason)

    def schedule_next_iteration(self, loop_task: TaskRecord, workflow: WorkflowRecord) -> None:
        """WorkflowExecutorOps.scheduleNextIteration: the loop body's first task, renamed ``ref__N``."""
        body = loop_task.workflow_task.get("loopOver") or []
        scheduled = self.tasks_to_schedule(workflow, body[0], loop_task.retry_count, None)
        self.set_domains(scheduled, workflow)
        for task in scheduled:
            task.reference_task_name = append_iteration(task.reference_task_name, loop_task.iteration)
            task.iteration = loop_task.iteration
        self.schedule(workflow, scheduled)
        workflow.tasks.extend(scheduled)

    def remove_task(self, workflow: WorkflowRecord, task: TaskRecord) -> None:
        """Delete a task instance and its queue entry."""
        if task in workflow.tasks:
            workflow.tasks.remove(task)
        self.store.dequeue(task)
        self.store.unmark_in_progress(task)
        self.store.tasks.pop(task.task_id, None)

    def call_http(self, workflow: WorkflowRecord, task: TaskRecord) -> None:
        """Run the HTTP request on a thread; its result is applied under the lock, then the workflow decided."""
        request = dict(tasks_http.request_of(task))
        thread = threading.Thread(
            target=self._http, args=(workflow.workflow_id, task.task_id, request), name="conductor-http", daemon=True
        )
        self.http_threads = [t for t in self.http_threads if t.is_alive()] + [thread]
        thread.start()

    def _http(self, workflow_id: str, task_id: str, request: dict[str, Any]) -> None:
        outcome = tasks_http.perform(request)
        with self.changed:
            task, workflow = self.store.tasks.get(task_id), self.store.workflows.get(workflow_id)
            if task is None or workflow is None or task.terminal or workflow.terminal:
                return
            tasks_http.apply(task, outcome, registry.system_task("HTTP").is_async_complete(task))
            self.persist(task)
            self.decide(workflow)

    # -- evaluation ------------------------------------------------------------------------------

    def decide(self, workflow: WorkflowRecord) -> None:
        """Evaluate ``workflow`` now, or right after the evaluation in progress."""
        self._queued[workflow.workflow_id] = None
        if self._depth:
            return
        self._depth += 1
        try:
            while self._queued:
                workflow_id = next(iter(self._queued))
                del self._queued[workflow_id]
                queued = self.store.workflows.get(workflow_id)
                if queued is not None:
                    self._decide(queued)
        finally:
            self._depth -= 1
            self.notify()

    def _decide(self, workflow: WorkflowRecord) -> None:
        if workflow.terminal:
            if workflow.status != "COMPLETED":
                lifecycle.cancel_open_tasks(self, workflow)
            return
        try:
            for _ in range(MAX_ROUNDS):
                outcome = self.decider.decide(workflow)
                if outcome.complete:
                    lifecycle.end_execution(self, workflow, outcome.terminate_task)
                    return
                if not self._apply(workflow, outcome.to_schedule, outcome.to_update):
                    return
            self.store.due[workflow.workflow_id] = self.now_ms()  # still busy: the next sweep goes on
        except TerminateWorkflow as exc:
            lifecycle.terminate(self, workflow, exc)

    def _apply(self, workflow: WorkflowRecord, to_schedule: list[TaskRecord], to_update: list[TaskRecord]) -> bool:
        """Schedule, run system tasks, persist; True when another round is needed."""
        self.set_domains(to_schedule, workflow)
        changed = self.schedule(workflow, self.add_new(workflow, to_schedule))
        for task in to_schedule:
            if self._runs_inline(task) and registry.system_task(task.task_type).execute(self, workflow, task):
                to_update.append(task)
                changed = True
        changed = self._run_async(workflow) or changed
        for task in to_update:
            self.persist(task)
        self.persist_workflow(workflow)
        return changed

    @staticmethod
    def _runs_inline(task: TaskRecord) -> bool:
        """An open synchronous system task (executed in the decide loop)."""
        return registry.is_sync_system(task.task_type) and not task.terminal

    def add_new(self, workflow: WorkflowRecord, tasks: list[TaskRecord]) -> list[TaskRecord]:
        """Append to ``workflow`` the tasks whose reference and retry count it does not have yet; return those."""
        present = {f"{t.reference_task_name}_{t.retry_count}" for t in workflow.tasks}
        new = [t for t in tasks if f"{t.reference_task_name}_{t.retry_count}" not in present]
        workflow.tasks.extend(new)
        return new

    def schedule(self, workflow: WorkflowRecord, tasks: list[TaskRecord]) -> bool:
        """WorkflowExecutorOps.scheduleTask: number, store, start synchronous system tasks, queue the rest."""
        count = max((t.seq for t in workflow.tasks), default=0)
        now_ms, started = self.now_ms(), False
        for task in tasks:
            if task.seq == 0:
                count += 1
                task.seq = count
            task.first_scheduled_time = task.first_scheduled_time or now_ms
            task.scheduled_time = task.scheduled_time or now_ms
            self.store.add_task(task)
        for task in tasks:
            if not is_system(task.task_type):
                self.queue(task)
                continue
            system = registry.system_task(task.task_type)
            if not task.terminal and task.start_time == 0 and not system.is_async:
                task.start_time = now_ms
            if system.is_async:
                task.ready_at = self.clock.now() + task.callback_after_seconds
            else:
                system.start(self, workflow, task)
                started = True
                self.persist(task)
        return started

    def _run_async(self, workflow: WorkflowRecord) -> bool:
        """What Conductor's system-task workers do for JOIN, SUB_WORKFLOW, START_WORKFLOW, WAIT and HTTP."""
        changed, now = False, self.clock.now()
        for task in list(workflow.tasks):
            if task.terminal or task.in_flight or not is_system(task.task_type) or workflow.terminal:
                continue
            system = registry.system_task(task.task_type)
            if not system.is_async or task.ready_at > now:
                continue
            before = task.status
            if task.status == "SCHEDULED":
                task.poll_count += 1
                task.start_time = self.now_ms()
                system.start(self, workflow, task)
                done = task.status != before
            else:
                done = system.execute(self, workflow, task)
                task.poll_count += 1 if done else 0
            if done:
                self.persist(task)
                changed = True
        return changed

    # -- queues, domains, persistence --------------------------------------------------------------

    def queue(self, task: TaskRecord) -> None:
        """addTaskToQueue: pollable after callbackAfterMs (a retry's jittered delay) or callbackAfterSeconds."""
        delay_s = task.callback_after_ms / 1000 if task.callback_after_ms > 0 else task.callback_after_seconds
        self.store.enqueue(task, self.clock.now() + delay_s)
        self.notify()

    def set_domains(self, tasks: list[TaskRecord], workflow: WorkflowRecord) -> None:
        """WorkflowExecutorOps.setTaskDomains: ``*`` first, then the task type's own mapping."""
        mapping = workflow.task_to_domain or {}
        for task in tasks:
            if is_system(task.task_type):
                continue
            for key in ("*", task.task_type):
                domains = mapping.get(key)
                if domains is not None and (key != "*" or str(domains).strip()):
                    task.domain = self.active_domain(task.task_type, str(domains).split(","))

    def active_domain(self, task_type: str, domains: list[str]) -> str | None:
        """getActiveDomain: the first domain a worker polled recently, else the last one (NO_DOMAIN: none)."""
        now_ms = self.now_ms()
        for domain in (d.strip() for d in domains):
            if domain.upper() == "NO_DOMAIN":
                continue
            poll = self.store.poll_data.get((task_type, domain))
            if poll is not None and now_ms - poll["lastPollTime"] < ACTIVE_WORKER_MS:
                return domain
        last = domains[-1].strip() if domains else ""
        return None if not last or last.upper() == "NO_DOMAIN" else last

    def persist(self, task: TaskRecord) -> None:
        """ExecutionDAOFacade.updateTask: updateTime (unless already finished) and endTime when terminal."""
        now_ms = self.now_ms()
        if not task.terminal or task.update_time == 0:
            task.update_time = now_ms
        if task.terminal:
            task.end_time = task.end_time or now_ms
            self.store.dequeue(task)
            self.store.unmark_in_progress(task)

    def persist_workflow(self, workflow: WorkflowRecord) -> None:
        """ExecutionDAOFacade.updateWorkflow."""
        workflow.update_time = self.now_ms()
        self.refresh_due(workflow)
        if workflow.terminal:
            workflow.end_time = workflow.update_time

    def refresh_due(self, workflow: WorkflowRecord) -> None:
        """Recompute when the sweeper must next evaluate ``workflow`` (after any change to its tasks)."""
        due = deadlines.next_due_ms(workflow)
        if due is None:
            self.store.due.pop(workflow.workflow_id, None)
        else:
            self.store.due[workflow.workflow_id] = due
