"""Handing tasks to workers: ExecutionService.poll with Conductor's concurrency and rate limits.

A polled task becomes IN_PROGRESS with the worker's id, ``pollCount`` + 1 and ``startTime`` kept from the
first delivery. A task over its definition's ``concurrentExecLimit`` (IN_PROGRESS tasks of the same
definition, the definition snapshotted when the workflow started) or over ``rateLimitPerFrequency`` per
``rateLimitFrequencyInSeconds`` (a sliding window of deliveries per definition name) is not delivered but
postponed in its queue by ``taskExecutionPostponeDuration`` (60 s). Every poll records the poll data
(queue, domain, worker, time) that ``/tasks/queue/polldata`` shows and that picks active domains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perago.testing.conductor.model import TaskRecord

if TYPE_CHECKING:
    from perago.testing.conductor.executor import Executor

POSTPONE_S = 60  # conductor.app.taskExecutionPostponeDuration


def queue_name(task_type: str, domain: str | None) -> str:
    """QueueUtils.getQueueName: ``domain:type`` (or just the type)."""
    return f"{domain}:{task_type}" if domain else task_type


def take(executor: Executor, task_type: str, worker_id: str | None, domain: str | None, count: int) -> list[TaskRecord]:
    """Deliver up to ``count`` due tasks of ``(task_type, domain)`` to ``worker_id``."""
    store, now = executor.store, executor.clock.now()
    delivered: list[TaskRecord] = []
    for task in store.ready(task_type, domain, count, now):
        if _over_concurrency(executor, task) or _over_rate(executor, task, now):
            task.ready_at = now + POSTPONE_S
            continue
        task.status = "IN_PROGRESS"
        task.start_time = task.start_time or executor.now_ms()
        task.callback_after_seconds = task.callback_after_ms = 0
        task.worker_id = worker_id
        task.poll_count += 1
        executor.persist(task)
        store.dequeue(task)
        store.mark_in_progress(task)
        delivered.append(task)
        workflow = store.workflows.get(task.workflow_instance_id)
        if workflow is not None:  # its response timeout now counts
            executor.refresh_due(workflow)
    record_poll(executor, task_type, domain, worker_id)
    return delivered


def record_poll(executor: Executor, task_type: str, domain: str | None, worker_id: str | None) -> None:
    """PollDataDAO.updateLastPollData."""
    executor.store.poll_data[(task_type, domain)] = {
        "queueName": queue_name(task_type, domain),
        "domain": domain,
        "workerId": worker_id,
        "lastPollTime": executor.now_ms(),
    }


def poll_data(executor: Executor, task_type: str | None) -> list[dict[str, Any]]:
    """``/tasks/queue/polldata`` (one task type) or ``/tasks/queue/polldata/all`` (None)."""
    return [dict(d) for (kind, _), d in executor.store.poll_data.items() if task_type is None or kind == task_type]


def _over_concurrency(executor: Executor, task: TaskRecord) -> bool:
    limit = int((task.task_def or {}).get("concurrentExecLimit") or 0)
    return limit > 0 and executor.store.running(task.task_def_name) >= limit


def _over_rate(executor: Executor, task: TaskRecord, now: float) -> bool:
    task_def = task.task_def
    if task_def is not None:
        per = int(task_def.get("rateLimitPerFrequency") or 0)
        window = int(task_def.get("rateLimitFrequencyInSeconds") or 1)
    else:
        per, window = task.rate_limit_per_frequency, task.rate_limit_frequency_in_seconds
    if per <= 0 or window <= 0:
        return False
    bucket = [t for t in executor.store.rate_buckets.get(task.task_def_name, []) if t > now - window]
    executor.store.rate_buckets[task.task_def_name] = bucket
    if len(bucket) >= per:
        return True
    bucket.append(now)
    return False
