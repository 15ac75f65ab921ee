"""The timeout checks DeciderService runs on every evaluation of a workflow.

- workflow ``timeoutSeconds`` (from creation or the last retry): TIME_OUT_WF times the workflow out,
  ALERT_ONLY only logs;
- task ``totalTimeoutSeconds`` (all attempts), ``timeoutSeconds`` (from startTime + startDelay) and
  ``pollTimeoutSeconds`` (a SCHEDULED task nobody polled): per ``timeoutPolicy`` -- RETRY marks the task
  TIMED_OUT (then retried), TIME_OUT_WF also times the workflow out, ALERT_ONLY only logs;
- ``responseTimeoutSeconds``: an IN_PROGRESS task not updated for that long (plus its callback) is TIMED_OUT.
"""

from __future__ import annotations

from typing import Any

from loguru import logger

from perago.testing.conductor.model import TaskRecord, WorkflowRecord
from perago.testing.conductor.systask import TerminateWorkflow


def check_workflow(workflow: WorkflowRecord, now_ms: int) -> None:
    """DeciderService.checkWorkflowTimeout."""
    timeout_s = int(workflow.definition.get("timeoutSeconds") or 0)
    if workflow.terminal or timeout_s <= 0:
        return
    elapsed = now_ms - (workflow.last_retried_time or workflow.create_time)
    if elapsed < timeout_s * 1000:
        return
    policy = workflow.definition.get("timeoutPolicy") or "TIME_OUT_WF"
    reason = (
        f"Workflow timed out after {elapsed // 1000} seconds. Timeout configured as {timeout_s} seconds. "
        f"Timeout policy configured to {policy}"
    )
    if policy == "TIME_OUT_WF":
        raise TerminateWorkflow(reason, "TIMED_OUT")
    logger.info("emulator: {} {}", workflow.workflow_id, reason)


def check_task(task_def: dict[str, Any], task: TaskRecord, now_ms: int, async_complete: bool) -> None:
    """Total, per-attempt and poll timeouts, then the response timeout (may raise TerminateWorkflow)."""
    if task.terminal:
        return
    for check in (_total, _attempt, _poll):
        reason = check(task_def, task, now_ms)
        if reason is not None:
            _apply_policy(reason, task_def, task)
            if task.terminal:
                return
    if _response_timed_out(task_def, task, now_ms, async_complete):
        task.status = "TIMED_OUT"
        task.reason_for_incompletion = (
            f"responseTimeout: {task_def.get('responseTimeoutSeconds')} exceeded for the taskId: {task.task_id} "
            f"with Task Definition: {task.task_def_name}"
        )


def _policy(task_def: dict[str, Any]) -> str:
    return str(task_def.get("timeoutPolicy") or "TIME_OUT_WF")


def _total(task_def: dict[str, Any], task: TaskRecord, now_ms: int) -> str | None:
    total = int(task_def.get("totalTimeoutSeconds") or 0)
    if total <= 0 or task.first_scheduled_time <= 0:
        return None
    elapsed = (now_ms - task.first_scheduled_time) // 1000
    if elapsed < total:
        return None
    return (
        f"Task {task.task_def_name}/{task.task_id} exceeded total timeout of {total} seconds (elapsed {elapsed} "
        f"seconds across all attempts including retry delays). Timeout policy: {_policy(task_def)}"
    )


def _attempt(task_def: dict[str, Any], task: TaskRecord, now_ms: int) -> str | None:
    timeout_s = int(task_def.get("timeoutSeconds") or 0)
    if timeout_s <= 0 or task.start_time <= 0:
        return None
    elapsed = now_ms - (task.start_time + task.start_delay_in_seconds * 1000)
    if elapsed < timeout_s * 1000:
        return None
    return (
        f"Task timed out after {elapsed // 1000} seconds. Timeout configured as {timeout_s} seconds. "
        f"Timeout policy configured to {_policy(task_def)}"
    )


def _poll(task_def: dict[str, Any], task: TaskRecord, now_ms: int) -> str | None:
    poll_s = int(task_def.get("pollTimeoutSeconds") or 0)
    if poll_s <= 0 or task.status != "SCHEDULED":
        return None
    elapsed = now_ms - (task.scheduled_time + task.start_delay_in_seconds * 1000)
    if elapsed < (poll_s + task.callback_after_seconds) * 1000:
        return None
    return (
        f"Task poll timed out after {elapsed // 1000} seconds. Poll timeout configured as {poll_s} seconds. "
        f"Timeout policy configured to {_policy(task_def)}"
    )


def _apply_policy(reason: str, task_def: dict[str, Any], task: TaskRecord) -> None:
    """DeciderService.timeoutTaskWithTimeoutPolicy."""
    policy = _policy(task_def)
    if policy == "ALERT_ONLY":
        logger.info("emulator: {}", reason)
        return
    task.status = "TIMED_OUT"
    task.reason_for_incompletion = reason
    if policy == "TIME_OUT_WF":
        raise TerminateWorkflow(reason, "TIMED_OUT", task)


def _response_timed_out(task_def: dict[str, Any], task: TaskRecord, now_ms: int, async_complete: bool) -> bool:
    response_s = int(task_def.get("responseTimeoutSeconds") or 0)
    if async_complete or task.status != "IN_PROGRESS" or response_s == 0:
        return False
    return now_ms - task.update_time >= (response_s + task.callback_after_seconds) * 1000
