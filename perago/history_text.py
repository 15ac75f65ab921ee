"""The text ``python -m perago history`` prints: each step's attempts, their deliveries' events, what they published."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from perago.eventlog import RecordedEvent, format_time
from perago.history import Attempt, Delivery, StepHistory, WorkflowHistory

RESULT_CHARS = 160
"""How much of a result's JSON a line shows."""


def instant(epoch_ms: Any) -> str:
    """A Conductor time (epoch ms) in UTC, or ``-`` when unset."""
    return format_time(int(epoch_ms) / 1000) if epoch_ms else "-"


def clock(epoch_ms: Any) -> str:
    """The time of day of a Conductor time (``12:00:00.131``), or ``-`` when unset."""
    return instant(epoch_ms)[11:23] if epoch_ms else "-"


def compact(value: Any, limit: int = RESULT_CHARS) -> str:
    """JSON on one line, cut at ``limit`` characters."""
    text = json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def event_text(event: RecordedEvent) -> str:
    """``12:00:00.131 downloaded: songs@3f9a...: 3 object(s), 120 byte(s)``."""
    text = f"{format_time(event.at)[11:23]} {event.phase}"
    return f"{text}: {event.detail}" if event.detail else text


def unfinished_note(delivery: Delivery, status: str, last: bool) -> str:
    """Why a delivery has no final event: still running, delivered again, or its worker went silent."""
    after = delivery.events[-1].phase
    if not last:
        return f"no final event after {after}: the task was delivered again"
    if status in ("IN_PROGRESS", "SCHEDULED"):
        return f"running, or its worker went silent, after {after} (Conductor: {status})"
    return f"no final update: the worker went silent after {after}"


def delivery_lines(delivery: Delivery, tracebacks: bool, note: str = "") -> list[str]:
    """A delivery's events, and ``note`` when it never reached a final phase."""
    lines = [f"delivery {delivery.execution_id} on {delivery.worker_id}:"]
    for event in delivery.events:
        lines.append(f"  {event_text(event)}")
        if event.extra and tracebacks:
            lines.extend(f"    {line}" for line in event.extra)
        elif event.extra:
            lines.append(f"    (traceback: {len(event.extra)} lines; --tracebacks shows them)")
    if note and not delivery.finished and delivery.events:
        lines.append(f"  {note}")
    return lines


def _workspace(workspace: Mapping[str, Any]) -> str:
    return f"{workspace.get('repository')}@{workspace.get('ref')} ({workspace.get('ref_type')})"


def outcome_lines(attempt: Attempt) -> list[str]:
    """What the attempt published, and the output Conductor recorded for it."""
    lines = [f"published {event.detail}" for event in attempt.published]
    workspace = attempt.output_workspace
    if workspace is not None:
        lines.append(f"output {_workspace(workspace)}")
    output = attempt.task.get("outputData") or {}
    if isinstance(output, Mapping) and "result" in output:
        lines.append(f"result {compact(output['result'])}")
    return lines


def attempt_lines(number: int, attempt: Attempt, tracebacks: bool) -> list[str]:
    """One attempt: its Conductor record, its deliveries, its outcome."""
    task = attempt.task
    retried = f", retry of {task['retriedTaskId']}" if task.get("retriedTaskId") else ""
    body = [
        f"retry {task.get('retryCount', 0)}, polled {task.get('pollCount', 0)} time(s), "
        f"worker {task.get('workerId') or '-'}",
        f"scheduled {clock(task.get('scheduledTime'))}, started {clock(task.get('startTime'))}, "
        f"ended {clock(task.get('endTime'))}",
    ]
    if task.get("reasonForIncompletion"):
        body.append(f"reason: {task['reasonForIncompletion']}")
    for index, delivery in enumerate(attempt.deliveries, start=1):
        note = unfinished_note(delivery, str(task.get("status")), index == len(attempt.deliveries))
        body.extend(delivery_lines(delivery, tracebacks, note))
    if not attempt.deliveries and task.get("pollCount"):
        body.append("no perago events in its log (Conductor keeps task logs only with an index: see the README)")
    body.extend(f"log: {line}" for line in attempt.other_logs)
    body.extend(outcome_lines(attempt))
    return [f"attempt {number}, task {attempt.task_id}{retried}: {task.get('status')}", *(f"  {b}" for b in body)]


def step_lines(step: StepHistory, tracebacks: bool) -> list[str]:
    """One step: its chains of attempts."""
    count = sum(len(chain) for chain in step.chains)
    lines = ["", f"step {step.reference} (task {step.task_type}): {count} attempt(s)"]
    for index, chain in enumerate(step.chains):
        if index:
            lines.append(f"  chain {index + 1} (not linked by retriedTaskId: a rerun or restart of the step)")
        for number, attempt in enumerate(chain, start=1):
            lines.extend(f"  {line}" for line in attempt_lines(number, attempt, tracebacks))
    return lines


def render_history(history: WorkflowHistory, *, tracebacks: bool = False) -> str:
    """The text of ``python -m perago history``."""
    workflow = history.workflow
    lines = [
        f"workflow {workflow.get('workflowId')} ({workflow.get('workflowName')} v{workflow.get('workflowVersion')}): "
        f"{workflow.get('status')}",
        f"  started {instant(workflow.get('startTime'))}, ended {instant(workflow.get('endTime'))}",
    ]
    if workflow.get("reasonForIncompletion"):
        lines.append(f"  reason: {workflow['reasonForIncompletion']}")
    for step in history.steps:
        lines.extend(step_lines(step, tracebacks))
    if not history.steps:
        lines.append("  no worker steps scheduled yet")
    return "\n".join(lines)
