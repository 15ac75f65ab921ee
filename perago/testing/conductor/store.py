"""In-memory state of the emulator: workflows, tasks, task queues and task logs.

Not thread-safe by itself: the engine holds its lock around every call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perago.testing.conductor.model import TaskRecord, WorkflowRecord

QueueKey = tuple[str, str | None]


@dataclass
class Store:
    """Everything the emulator knows about running and finished executions."""

    workflows: dict[str, WorkflowRecord] = field(default_factory=dict)
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    queues: dict[QueueKey, dict[str, None]] = field(default_factory=dict)
    in_progress: dict[str, set[str]] = field(default_factory=dict)
    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    poll_data: dict[QueueKey, dict[str, Any]] = field(default_factory=dict)
    archived: dict[str, dict[str, Any]] = field(default_factory=dict)  # removed workflows, as the index keeps them
    rate_buckets: dict[str, list[float]] = field(default_factory=dict)  # task def name -> recent poll times
    due: dict[str, int] = field(default_factory=dict)  # workflow id -> epoch ms it next needs an evaluation

    def add_task(self, task: TaskRecord) -> None:
        """Register a new task instance (not queued yet)."""
        self.tasks[task.task_id] = task

    def enqueue(self, task: TaskRecord, ready_at: float) -> None:
        """Put a SCHEDULED task in its (type, domain) queue, pollable from ``ready_at``."""
        task.ready_at = ready_at
        self.queues.setdefault((task.task_type, task.domain), {})[task.task_id] = None

    def dequeue(self, task: TaskRecord) -> None:
        """Remove a task from its queue (no-op when absent)."""
        queue = self.queues.get((task.task_type, task.domain))
        if queue is not None:
            queue.pop(task.task_id, None)

    def ready(self, task_type: str, domain: str | None, count: int, now: float) -> list[TaskRecord]:
        """Return up to ``count`` pollable tasks of a queue in FIFO order, dropping stale entries."""
        queue = self.queues.get((task_type, domain))
        if not queue:
            return []
        found: list[TaskRecord] = []
        stale: list[str] = []
        for task_id in queue:
            task = self.tasks.get(task_id)
            if task is None or task.status != "SCHEDULED":
                stale.append(task_id)
            elif task.ready_at <= now:
                found.append(task)
                if len(found) >= count:
                    break
        for task_id in stale:
            del queue[task_id]
        return found

    def queue_size(self, task_type: str, domain: str | None = None) -> int:
        """Queued (SCHEDULED, due or delayed) tasks in the ``(task_type, domain)`` queue."""
        queue = self.queues.get((task_type, domain)) or {}
        return sum(1 for task_id in queue if task_id in self.tasks and self.tasks[task_id].status == "SCHEDULED")

    def mark_in_progress(self, task: TaskRecord) -> None:
        """Track an IN_PROGRESS task by definition name (for ``concurrentExecLimit``)."""
        self.in_progress.setdefault(task.task_def_name, set()).add(task.task_id)

    def unmark_in_progress(self, task: TaskRecord) -> None:
        """Stop tracking a task that left IN_PROGRESS."""
        running = self.in_progress.get(task.task_def_name)
        if running is not None:
            running.discard(task.task_id)

    def running(self, task_def_name: str) -> int:
        """Number of IN_PROGRESS tasks of a task definition."""
        return len(self.in_progress.get(task_def_name, ()))
