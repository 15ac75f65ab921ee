"""From a polled Conductor task to perago's attempt identity, result and task-result shapes."""

from __future__ import annotations

import re
import time
from typing import Any

from conductor.client.http.models.task import Task
from conductor.client.http.models.task_exec_log import TaskExecLog
from conductor.client.http.models.task_result import TaskResult

from perago.result import RuntimeTaskResult

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def execution_id_for(task: Task) -> str:
    """A directory-safe id unique to this delivery: ``<taskId>-s<scheduledTime>-p<pollCount>``.

    A task id is unique per try (a retry gets a new one) and the poll count is unique per delivery of that task id;
    but an operator's rerun from a task keeps its id and starts its poll count again, with a new ``scheduledTime``
    (WorkflowExecutorOps.rerunWF), which a hand-back does not change (updateTask). With the three, two deliveries
    never share an attempt directory, a staging branch or a merge's ``perago.execution_id``.
    """
    scheduled = int(task.scheduled_time or 0)
    stamp = f"-s{scheduled}" if scheduled else ""
    return f"{_UNSAFE.sub('_', task.task_id or 'task')[:160]}{stamp}-p{int(task.poll_count or 0)}"


def task_input(task: Task) -> dict[str, Any]:
    """The task's input data (never None)."""
    return dict(task.input_data or {})


def to_task_result(task: Task, worker_id: str, result: RuntimeTaskResult) -> TaskResult:
    """Conductor's TaskResult for a runtime result (status, outputData, reasonForIncompletion, logs).

    An IN_PROGRESS result (an attempt handed back) carries ``callbackAfterSeconds``: Conductor re-queues the same
    task id for then (WorkflowExecutorOps.updateTask), spending no retry. Each log entry carries ``createdTime``
    (the server drops entries without it): the time of the attempt event it comes from, else now.
    """
    if result.events:
        logs = [
            TaskExecLog(log=line, task_id=task.task_id, created_time=int(event.at * 1000))
            for event in result.events
            for line in event.log_lines()
        ]
    else:
        now = int(time.time() * 1000)
        logs = [TaskExecLog(log=line, task_id=task.task_id, created_time=now) for line in result.logs]
    return TaskResult(
        workflow_instance_id=task.workflow_instance_id,
        task_id=task.task_id,
        status=result.status,
        output_data=dict(result.output_data),
        reason_for_incompletion=result.reason_for_incompletion,
        worker_id=worker_id,
        logs=logs,
        callback_after_seconds=result.callback_after_seconds if result.status == "IN_PROGRESS" else None,
    )
