"""When a workflow next needs evaluating on its own: its earliest timeout or WAIT deadline.

Conductor's sweeper re-evaluates running workflows from a decider queue whose entries are postponed to
the next moment something can happen. The emulator keeps that moment per workflow, recomputed after each
evaluation, so a sweep evaluates only the workflows that are due instead of all of them (thousands of
open workflows must not hold the engine lock for long every 100 ms).
"""

from __future__ import annotations

from typing import Any

from perago.testing.conductor import registry
from perago.testing.conductor.model import TaskRecord, WorkflowRecord
from perago.testing.conductor.systask import is_system


def next_due_ms(workflow: WorkflowRecord) -> int | None:
    """The earliest epoch ms at which evaluating ``workflow`` could change it (None: only events can)."""
    if workflow.terminal:
        return None
    candidates: list[int] = []
    timeout_s = int(workflow.definition.get("timeoutSeconds") or 0)
    if timeout_s > 0:
        candidates.append((workflow.last_retried_time or workflow.create_time) + timeout_s * 1000)
    for task in workflow.tasks:
        if not task.terminal:
            candidates += _task_deadlines(task)
    return min(candidates) if candidates else None


def _task_deadlines(task: TaskRecord) -> list[int]:
    found: list[int] = []
    if task.task_type == "WAIT" and task.wait_timeout > 0:
        found.append(task.wait_timeout + 1)
    if is_system(task.task_type) and registry.system_task(task.task_type).is_async and task.status == "SCHEDULED":
        found.append(int(task.ready_at * 1000))
    task_def = task.task_def
    if task_def is not None:
        found += _timeouts(task, task_def)
    return found


def _timeouts(task: TaskRecord, task_def: dict[str, Any]) -> list[int]:
    found: list[int] = []
    delay_ms = task.start_delay_in_seconds * 1000
    total = int(task_def.get("totalTimeoutSeconds") or 0)
    if total > 0 and task.first_scheduled_time > 0:
        found.append(task.first_scheduled_time + total * 1000)
    timeout = int(task_def.get("timeoutSeconds") or 0)
    if timeout > 0 and task.start_time > 0:
        found.append(task.start_time + delay_ms + timeout * 1000)
    poll = int(task_def.get("pollTimeoutSeconds") or 0)
    if poll > 0 and task.status == "SCHEDULED":
        found.append(task.scheduled_time + delay_ms + (poll + task.callback_after_seconds) * 1000)
    response = int(task_def.get("responseTimeoutSeconds") or 0)
    if response > 0 and task.status == "IN_PROGRESS":
        found.append(task.update_time + (response + task.callback_after_seconds) * 1000)
    return found
