"""Waiting: WAIT (WaitTaskMapper, Wait) and HUMAN (HumanTaskMapper, Human).

A WAIT with ``duration`` (``"1m 30s"``, ``"2 hours"``) or ``until`` (``yyyy-MM-dd HH:mm[ z]`` or
``yyyy-MM-dd``, UTC unless a zone is given) completes by itself once that time has passed (the sweeper
checks); without either it waits for an external update: ``POST /tasks`` with its taskId, ``POST
/tasks/{workflowId}/{ref}/{status}`` or the ``/tasks/{workflowId}/{status}/signal`` routes. Both given,
or an unreadable date, is FAILED_WITH_TERMINAL_ERROR. A HUMAN task is IN_PROGRESS until updated.
"""

from __future__ import annotations

from datetime import UTC, datetime

from perago.testing.conductor.model import TaskRecord, WorkflowRecord
from perago.testing.conductor.systask import MapContext, Runtime, SystemTask, fail_task, mapper, system_task
from perago.testing.conductor.validation import parse_duration_s

FOREVER_S = 2**31 - 1  # Integer.MAX_VALUE: "until signalled"
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M %Z", "%Y-%m-%d %H:%M %z", "%Y-%m-%d")


def parse_until_ms(text: str) -> int | None:
    """DateTimeUtils.parseDate in epoch milliseconds (naive times are UTC); None when unreadable."""
    for pattern in _DATE_FORMATS:
        try:
            moment = datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    return None


@mapper("WAIT")
def map_wait(context: MapContext) -> list[TaskRecord]:
    """WaitTaskMapper: IN_PROGRESS with its wake-up time (waitTimeout) and callbackAfterSeconds."""
    task = context.start_now(context.create_task("WAIT", "IN_PROGRESS"))
    task.input_data = context.resolved_input(template=False)
    duration = str(task.input_data.get("duration") or "")
    until = str(task.input_data.get("until") or "")
    now_ms = context.runtime.now_ms()
    if duration.strip() and until.strip():
        fail_task(
            task, "Both 'duration' and 'until' specified. Please provide only one input", "FAILED_WITH_TERMINAL_ERROR"
        )
    elif duration.strip():
        seconds = parse_duration_s(duration)
        if seconds is None:
            fail_task(task, f"Not valid duration: {duration}", "FAILED_WITH_TERMINAL_ERROR")
        else:
            task.wait_timeout, task.callback_after_seconds = now_ms + seconds * 1000, seconds
    elif until.strip():
        moment = parse_until_ms(until)
        if moment is None:
            fail_task(task, f"Invalid/Unsupported Wait Until format.  Provided: {until}", "FAILED_WITH_TERMINAL_ERROR")
        else:
            task.wait_timeout, task.callback_after_seconds = moment, max((moment - now_ms) // 1000, 0)
    else:
        task.callback_after_seconds = FOREVER_S
    return [task]


class Wait(SystemTask):
    """Wait: completes once ``waitTimeout`` has passed (never when it is 0)."""

    task_type = "WAIT"
    is_async = True

    def start(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> None:
        task.status = "IN_PROGRESS"

    def execute(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> bool:
        if task.wait_timeout == 0 or runtime.now_ms() <= task.wait_timeout:
            return False
        task.status = "COMPLETED"
        return True

    def cancel(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> None:
        task.status = "CANCELED"


@mapper("HUMAN")
def map_human(context: MapContext) -> list[TaskRecord]:
    """HumanTaskMapper."""
    task = context.start_now(context.create_task("HUMAN", "IN_PROGRESS"))
    task.input_data = context.resolved_input(template=False)
    return [task]


class Human(SystemTask):
    """Human: IN_PROGRESS until something outside updates it."""

    task_type = "HUMAN"

    def start(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> None:
        task.status = "IN_PROGRESS"

    def cancel(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> None:
        task.status = "CANCELED"


system_task(Wait())
system_task(Human())
