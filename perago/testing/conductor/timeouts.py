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
        for workflow in [w for w in engine.store.workflows.values() if not w.terminal]:
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
        if not _total_timeout(engine, workflow, task, task_def, now_ms):
            _response_timeout(engine, workflow, task, now_ms)


def _total_timeout(
    engine: Engine, workflow: WorkflowRecord, task: TaskRecord, task_def: dict[str, Any], now_ms: int
) -> bool:
    timeout_s = int(task_def.get("timeoutSeconds") or 0)
    if timeout_s <= 0 or not task.start_time or now_ms - task.start_time < timeout_s * 1000:
        return False
    policy = task_def.get("timeoutPolicy", "TIME_OUT_WF")
    if policy == "ALERT_ONLY":
        return False
    reason = (
        f"Task timed out after {(now_ms - task.start_time) // 1000} seconds. Timeout configured as "
        f"{timeout_s} seconds. Timeout policy configured to {policy}"
    )
    logger.debug("emulator: task {} timed out ({})", task.task_id, policy)
    if policy == "RETRY":
        engine.decider.end_task(workflow, task, "TIMED_OUT", reason)
    else:
        task.reason_for_incompletion = reason
        task.status = "TIMED_OUT"
        task.end_time = now_ms
        engine.store.dequeue(task)
        engine.store.unmark_in_progress(task)
        engine.decider.finish(workflow, "TIMED_OUT", reason, failed_reference=task.reference_task_name)
    return True


def _response_timeout(engine: Engine, workflow: WorkflowRecord, task: TaskRecord, now_ms: int) -> None:
    if task.status != "IN_PROGRESS":
        return
    limit_ms = (task.response_timeout_seconds + task.callback_after_seconds) * 1000
    if now_ms - task.update_time < limit_ms:
        return
    reason = (
        f"responseTimeout: {task.response_timeout_seconds} exceeded for the taskId: {task.task_id} "
        "with Task Status: IN_PROGRESS"
    )
    logger.debug("emulator: task {} response timeout", task.task_id)
    engine.decider.end_task(workflow, task, "TIMED_OUT", reason)
