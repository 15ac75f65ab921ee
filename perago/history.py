"""A workflow's attempt history: every step's tries across retries and timeouts, each with its deliveries' events.

Built from Conductor's records alone — the workflow with its tasks and each task's log — passed in as the server's
JSON, so this module needs no client. Conductor links a retry to the task it retries with ``retriedTaskId``
(``DeciderService.retry``); a rerun or restart schedules tasks with no link, which start a new chain of the same step.
A task id may have been delivered more than once (handed back, then polled again); its log tells the deliveries
apart by execution id (:mod:`perago.eventlog`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from perago.eventlog import RecordedEvent, parse_log

SYSTEM_TASK_TYPES = frozenset(
    {"DECISION", "DO_WHILE", "DYNAMIC", "EVENT", "EXCLUSIVE_JOIN", "FORK", "FORK_JOIN", "FORK_JOIN_DYNAMIC", "HTTP"}
    | {"HUMAN", "INLINE", "JOIN", "JSON_JQ_TRANSFORM", "KAFKA_PUBLISH", "LAMBDA", "NOOP", "SET_VARIABLE"}
    | {"START_WORKFLOW", "SUB_WORKFLOW", "SWITCH", "TERMINATE", "WAIT"}
)
"""Task types Conductor runs itself: no worker attempts (``TaskType``)."""
FINAL_PHASES = frozenset({"completed", "failed"})
"""The phases after which a delivery sends its final update."""


@dataclass(frozen=True)
class Delivery:
    """One delivery of a task id to a worker, as its events tell it.

    Attributes:
        execution_id: The delivery's execution id (``<taskId>-s<scheduledTime>-p<pollCount>`` for perago's worker).
        worker_id: The worker that ran it.
        events: Its events, in time order.
    """

    execution_id: str
    worker_id: str
    events: tuple[RecordedEvent, ...]

    @property
    def finished(self) -> bool:
        """Whether the delivery reached a final phase (an attempt killed mid-way did not)."""
        return any(event.phase in FINAL_PHASES for event in self.events)


@dataclass(frozen=True)
class Attempt:
    """One try of a workflow step: a Conductor task, with its deliveries.

    Attributes:
        task: The task as Conductor reports it (JSON).
        deliveries: Its deliveries, in the order they started.
        other_logs: Log lines that are not perago events (written by another worker or by hand).
    """

    task: Mapping[str, Any]
    deliveries: tuple[Delivery, ...] = ()
    other_logs: tuple[str, ...] = ()

    @property
    def task_id(self) -> str:
        """Conductor's task id."""
        return str(self.task.get("taskId") or "")

    @property
    def published(self) -> tuple[RecordedEvent, ...]:
        """The ``published`` events of its deliveries: the merges this attempt landed."""
        return tuple(event for d in self.deliveries for event in d.events if event.phase == "published")

    @property
    def output_workspace(self) -> Mapping[str, Any] | None:
        """The output workspace Conductor recorded for it, if any."""
        output = self.task.get("outputData") or {}
        workspace = output.get("workspace") if isinstance(output, Mapping) else None
        return workspace if isinstance(workspace, Mapping) and workspace.get("ref") else None


@dataclass(frozen=True)
class StepHistory:
    """Every try of one workflow step, as chains linked by ``retriedTaskId``.

    Attributes:
        reference: The step's reference task name.
        task_type: The task definition name.
        chains: Each chain's attempts, first try first; more than one chain after a rerun or restart.
    """

    reference: str
    task_type: str
    chains: tuple[tuple[Attempt, ...], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class WorkflowHistory:
    """A workflow and the attempt history of its worker steps.

    Attributes:
        workflow: The workflow as Conductor reports it (JSON, tasks included).
        steps: Its worker steps in the order they were first scheduled.
    """

    workflow: Mapping[str, Any]
    steps: tuple[StepHistory, ...]


def is_worker_task(task: Mapping[str, Any]) -> bool:
    """Whether a worker polls this task (a SIMPLE task's ``taskType`` is its definition's name)."""
    declared = (task.get("workflowTask") or {}).get("type")
    return bool(declared == "SIMPLE" if declared else task.get("taskType") not in SYSTEM_TASK_TYPES)


def deliveries(events: Sequence[RecordedEvent]) -> tuple[Delivery, ...]:
    """Group events by execution id, each delivery in the order of its first event."""
    grouped: dict[str, list[RecordedEvent]] = {}
    for event in events:
        grouped.setdefault(event.execution_id, []).append(event)
    return tuple(Delivery(execution, found[0].worker_id, tuple(found)) for execution, found in grouped.items())


def attempt_of(task: Mapping[str, Any], log_entries: Sequence[str]) -> Attempt:
    """One task with the deliveries its log entries record."""
    events, others = parse_log(log_entries)
    return Attempt(task, deliveries(events), tuple(others))


def _chains(attempts: Sequence[Attempt]) -> tuple[tuple[Attempt, ...], ...]:
    """Link attempts (in scheduling order) into chains by ``retriedTaskId``."""
    chains: list[list[Attempt]] = []
    chain_of: dict[str, int] = {}
    for attempt in attempts:
        index = chain_of.get(str(attempt.task.get("retriedTaskId") or ""))
        if index is None:
            index = len(chains)
            chains.append([])
        chains[index].append(attempt)
        chain_of[attempt.task_id] = index
    return tuple(tuple(chain) for chain in chains)


def build_history(workflow: Mapping[str, Any], read_logs: Callable[[str], Sequence[str]]) -> WorkflowHistory:
    """The attempt history of ``workflow`` (JSON with its tasks); ``read_logs(task_id)`` gives a task's log entries."""
    tasks = sorted(
        (t for t in workflow.get("tasks") or [] if is_worker_task(t)),
        key=lambda t: (int(t.get("seq") or 0), int(t.get("scheduledTime") or 0)),
    )
    by_step: dict[str, list[Attempt]] = {}
    for task in tasks:
        reference = str(task.get("referenceTaskName") or task.get("taskDefName") or "")
        by_step.setdefault(reference, []).append(attempt_of(task, read_logs(str(task.get("taskId")))))
    steps = tuple(
        StepHistory(reference, str(attempts[0].task.get("taskDefName") or ""), _chains(attempts))
        for reference, attempts in by_step.items()
    )
    return WorkflowHistory(workflow, steps)
