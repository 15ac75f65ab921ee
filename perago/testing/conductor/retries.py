"""DeciderService.retry: whether a failed task is retried, after how long, and how its retry looks.

FAILED and TIMED_OUT tasks are retried while their attempt number is below the workflow task's
``retryCount`` (else the TaskDef's); FAILED_WITH_TERMINAL_ERROR and CANCELED never are, nor the
built-in flow tasks (SWITCH, DECISION, FORK, JOIN, EXCLUSIVE_JOIN, DO_WHILE). When no retry is left the
workflow ends (FAILED; TIMED_OUT for a timed-out task; TERMINATED for a canceled one) unless the task
is optional or permissive. The retry is a copy with a new taskId, SCHEDULED after the delay of
``retryLogic`` (FIXED, LINEAR_BACKOFF, EXPONENTIAL_BACKOFF; capped by ``maxRetryDelaySeconds``, plus up to
``backoffJitterMs``), its input refreshed from the expressions; ``totalTimeoutSeconds`` bounds all attempts.
"""

from __future__ import annotations

import copy
import random
import uuid
from dataclasses import replace
from typing import Any

from perago.testing.conductor import expressions
from perago.testing.conductor.model import RETRIABLE_TASK, TaskRecord, WorkflowRecord
from perago.testing.conductor.systask import TerminateWorkflow

BUILT_IN = frozenset({"DECISION", "SWITCH", "FORK", "JOIN", "EXCLUSIVE_JOIN", "DO_WHILE"})
_FINAL_STATUS = {"CANCELED": "TERMINATED", "TIMED_OUT": "TIMED_OUT"}


def retry_delay_seconds(retry_count: int, task_def: dict[str, Any]) -> int:
    """The delay before attempt ``retry_count + 1`` per ``retryLogic``, capped by ``maxRetryDelaySeconds``."""
    delay = int(task_def.get("retryDelaySeconds", 60))
    logic = task_def.get("retryLogic", "FIXED")
    if logic == "LINEAR_BACKOFF":
        delay = delay * int(task_def.get("backoffScaleFactor") or 1) * (retry_count + 1)
    elif logic == "EXPONENTIAL_BACKOFF":
        delay = delay * 2**retry_count
    cap = int(task_def.get("maxRetryDelaySeconds") or 0)
    return cap if 0 < cap < delay else delay


def retry(
    task: TaskRecord, task_def: dict[str, Any] | None, workflow: WorkflowRecord, now_ms: int
) -> TaskRecord | None:
    """The retry of ``task``, or None for an optional/permissive task; raises TerminateWorkflow otherwise."""
    workflow_task = task.workflow_task
    override = workflow_task.get("retryCount")
    expected = 0 if task_def is None else int(task_def.get("retryCount", 3) if override is None else override)
    if task.status not in RETRIABLE_TASK or task.task_type in BUILT_IN or expected <= task.retry_count:
        if workflow_task.get("optional") or workflow_task.get("permissive"):
            return None
        status = _FINAL_STATUS.get(task.status, "FAILED")
        reason = f"Task {task.task_id} failed with status: {status} and reason: '{task.reason_for_incompletion}'"
        raise TerminateWorkflow(reason, status, task)
    assert task_def is not None  # expected > retry_count >= 0 implies a definition
    total = int(task_def.get("totalTimeoutSeconds") or 0)
    if total > 0 and task.first_scheduled_time > 0 and (now_ms - task.first_scheduled_time) // 1000 >= total:
        elapsed = (now_ms - task.first_scheduled_time) // 1000
        raise TerminateWorkflow(
            f"Task {task.task_id}/{task.task_def_name} exceeded total timeout of {total} seconds (elapsed {elapsed} "
            "seconds across all attempts). No further retries will be attempted.",
            "TIMED_OUT" if task.status == "TIMED_OUT" else "FAILED",
            task,
        )
    delay = retry_delay_seconds(task.retry_count, task_def)
    jitter_ms = random.randint(0, int(task_def.get("backoffJitterMs") or 0))
    task.retried = True
    again = replace(task, task_id=str(uuid.uuid4()), input_data=copy.deepcopy(task.input_data), output_data={})
    again.update_time = again.scheduled_time = again.start_time = again.end_time = again.seq = 0
    again.worker_id, again.sub_workflow_id = None, None
    again.input_data.pop("subWorkflowId", None)
    again.start_delay_in_seconds = again.callback_after_seconds = delay
    again.callback_after_ms = delay * 1000 + jitter_ms
    again.retry_count = task.retry_count + 1
    again.retried, again.executed, again.poll_count = False, False, 0
    again.retried_task_id = task.task_id
    again.status = "SCHEDULED"
    if workflow.definition.get("schemaVersion", 2) > 1:
        doc = expressions.document(workflow)
        again.input_data.update(
            expressions.task_input(workflow_task.get("inputParameters"), doc, task_def, again.task_id)
        )
    return again
