"""Timers: response timeouts, total task timeouts, workflow timeouts, and delayed tasks becoming due.

``sweep`` runs every ~100 ms on a real clock, and on every ``ManualClock.advance``.
"""

from __future__ import annotations

from typing import Any

from loguru import logger

from perago.testing.conductor.engine import Engine
from perago.testing.conductor.model import TaskRecord, WorkflowRecord

_SYSTEM = frozenset({"FORK", "JOIN"})


def sweep(engine: Engine) -> None:
    """Apply every timeout that is due now and wake pollers waiting for delayed tasks."""
    with engine.changed:
        now_ms = engine.now_ms()
        for workflow in list(engine.store.open_workflows.values()):
            _sweep_workflow(engine, workflow, now_ms)
        engine.changed.notify_all()


def _sweep_workflow(engine: Engine, workflow: WorkflowRecord, now_ms: int) -> None:
    timeout_s = int(workflow.definition.get("timeoutSeconds") or 0)
    policy = workflow.definition.get("timeoutPolicy", "ALERT_ONLY")
    if timeout_s > 0 and policy == "TIME_OUT_WF" and now_ms - workflow.create_time >= timeout_s * 1000:
        reason = (
            f"Workflow timed out after {(now_ms - workflow.create_time) // 1000} seconds. Timeout configured "
            f"as {timeout_s} seconds. Timeout policy configured to TIME_OUT_WF"
        )
        engine.decider.finish(workflow, "TIMED_OUT", reason)
        return
    for task in list(workflow.tasks):
        if workflow.terminal:
            return
        if task.terminal or task.task_type in _SYSTEM:
            continue
        task_def = engine.decider.task_def(task) or {}
        timeout = _total_timeout(task, task_def, now_ms) or _poll_timeout(task, task_def, now_ms)
        if timeout is not None:
            _apply_policy(engine, workflow, task, task_def, timeout)
        elif _response_timed_out(task, now_ms):
            reason = (
                f"responseTimeout: {task.response_timeout_seconds} exceeded for the taskId: {task.task_id} "
                f"with Task Definition: {task_def.get('name', task.task_type)}"
            )
            logger.debug("emulator: task {} response timeout", task.task_id)
            engine.decider.end_task(workflow, task, "TIMED_OUT", reason)


def _total_timeout(task: TaskRecord, task_def: dict[str, Any], now_ms: int) -> str | None:
    timeout_s = int(task_def.get("timeoutSeconds") or 0)
    if timeout_s <= 0 or task.start_time <= 0:
        return None
    elapsed_ms = now_ms - (task.start_time + task.start_delay_in_seconds * 1000)
    if elapsed_ms < timeout_s * 1000:
        return None
    return (
        f"Task timed out after {elapsed_ms // 1000} seconds. Timeout configured as {timeout_s} seconds. "
        f"Timeout policy configured to {task_def.get('timeoutPolicy', 'TIME_OUT_WF')}"
    )


def _poll_timeout(task: TaskRecord, task_def: dict[str, Any], now_ms: int) -> str | None:
    poll_timeout_s = int(task_def.get("pollTimeoutSeconds") or 0)
    if poll_timeout_s <= 0 or task.status != "SCHEDULED":
        return None
    elapsed_ms = now_ms - (task.scheduled_time + task.start_delay_in_seconds * 1000)
    if elapsed_ms < (poll_timeout_s + task.callback_after_seconds) * 1000:
        return None
    policy = task_def.get("timeoutPolicy", "TIME_OUT_WF")
    return (
        f"Task poll timed out after {elapsed_ms // 1000} seconds. Poll timeout configured as "
        f"{poll_timeout_s} seconds. Timeout policy configured to {policy}"
    )


def _apply_policy(
    engine: Engine, workflow: WorkflowRecord, task: TaskRecord, task_def: dict[str, Any], reason: str
) -> None:
    policy = task_def.get("timeoutPolicy", "TIME_OUT_WF")
    if policy == "ALERT_ONLY":
        logger.info("emulator: {}", reason)
        return
    logger.debug("emulator: task {} timed out ({})", task.task_id, policy)
    if policy == "RETRY":
        engine.decider.end_task(workflow, task, "TIMED_OUT", reason)
        return
    engine.decider.end_task(workflow, task, "TIMED_OUT", reason, retry=False)


def _response_timed_out(task: TaskRecord, now_ms: int) -> bool:
    if task.status != "IN_PROGRESS" or task.response_timeout_seconds <= 0:
        return False
    limit_ms = (task.response_timeout_seconds + task.callback_after_seconds) * 1000
    return now_ms - task.update_time >= limit_ms
