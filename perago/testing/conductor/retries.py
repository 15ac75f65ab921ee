"""Retry policy: whether a failed task is retried and after how long (Conductor's DeciderService)."""

from __future__ import annotations

from typing import Any

from perago.testing.conductor.model import RETRIABLE_TASK, TaskRecord


def should_retry(task: TaskRecord, task_def: dict[str, Any] | None) -> bool:
    """True when ``task`` failed retriably and its definition allows another attempt.

    FAILED_WITH_TERMINAL_ERROR and CANCELED are never retried; FAILED and TIMED_OUT are retried while
    ``retryCount`` (the attempt number, 0 for the first attempt) is below the definition's retryCount.
    """
    if task.status not in RETRIABLE_TASK:
        return False
    if task_def is None:
        return False
    override = task.workflow_task.get("retryCount")
    allowed = int(task_def.get("retryCount", 3) if override is None else override)
    return task.retry_count < allowed


def retry_delay_seconds(task: TaskRecord, task_def: dict[str, Any] | None) -> int:
    """Delay before the retry of ``task`` is pollable, per ``retryLogic``.

    FIXED: ``retryDelaySeconds``; EXPONENTIAL_BACKOFF: ``retryDelaySeconds * 2 ** retryCount``;
    LINEAR_BACKOFF: ``retryDelaySeconds * backoffScaleFactor * (retryCount + 1)``.
    """
    definition = task_def or {}
    delay = int(definition.get("retryDelaySeconds", 60))
    logic = definition.get("retryLogic", "FIXED")
    if logic == "EXPONENTIAL_BACKOFF":
        return int(delay * (2**task.retry_count))
    if logic == "LINEAR_BACKOFF":
        scale = int(definition.get("backoffScaleFactor", 1) or 1)
        return delay * scale * (task.retry_count + 1)
    return delay
