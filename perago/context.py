"""The running task's context, readable from task code through a contextvar (like Temporal's activity info).

```python
from perago import current_task_context

def body(workspace_dir, params):
    ctx = current_task_context()
    ctx.logger.info("working on {}", ctx.task_id)
    ctx.raise_if_cancelled()   # stop early when the worker says this attempt went stale
    rng = ctx.random()         # deterministic helpers: the same values on a retry (perago.determinism)
```
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from loguru import logger

from perago.determinism import Determinism
from perago.errors import AttemptCancelledError, PeragoError

if TYPE_CHECKING:
    from loguru import Logger


@dataclass(frozen=True)
class TaskContext:
    """What task code may know about the attempt that runs it.

    Attributes:
        task_name: The task type.
        task_id: Conductor's task id.
        workflow_id: The workflow instance id.
        poll_count: How many times Conductor delivered this task id.
        retry_count: Which retry this task is (0 for the first try).
        execution_id: perago's id for this attempt (also its directory name).
        cancel_event: Set by the worker when the attempt went stale or the worker shuts down.
        logger: A loguru logger bound to task, task_id, workflow_id and execution_id.
        determinism: The attempt's deterministic streams (behind :meth:`random`, :meth:`uuid4`, :meth:`now`).
    """

    task_name: str
    task_id: str
    workflow_id: str
    poll_count: int
    retry_count: int
    execution_id: str
    cancel_event: threading.Event = field(default_factory=threading.Event)
    logger: Logger = field(default=logger)
    determinism: Determinism | None = None

    def _streams(self) -> Determinism:
        if self.determinism is None:
            raise PeragoError(f"task {self.task_name}: this context has no deterministic helpers (made by hand?)")
        return self.determinism

    def random(self) -> random.Random:
        """A ``random.Random`` giving the same draws on every attempt of this call on this input commit.

        The same object on every call, so successive draws continue one sequence (see :mod:`perago.determinism`).
        """
        return self._streams().random()

    def uuid4(self) -> uuid.UUID:
        """The next UUID of a sequence that is the same on every attempt of this call on this input commit."""
        return self._streams().uuid4()

    def now(self) -> datetime:
        """When Conductor scheduled the first attempt of this step (aware UTC): the same on every retry.

        Not a clock; in ``TaskEnvironment`` it is :data:`perago.determinism.FIXED_NOW` (2000-01-01 UTC).
        """
        return self._streams().now()

    @property
    def cancelled(self) -> bool:
        """True once the worker asked this attempt to stop."""
        return self.cancel_event.is_set()

    def raise_if_cancelled(self, phase: str = "task body") -> None:
        """Raise :class:`AttemptCancelledError` if the attempt was cancelled."""
        if self.cancel_event.is_set():
            raise AttemptCancelledError(
                f"attempt {self.execution_id} of task {self.task_name} ({self.task_id}) was cancelled "
                f"before {phase}: it went stale or the worker is shutting down; nothing was published"
            )


_CURRENT: ContextVar[TaskContext | None] = ContextVar("perago_task_context", default=None)


def current_task_context() -> TaskContext:
    """The context of the task running in this thread.

    Raises:
        PeragoError: When called outside a running perago task.
    """
    context = _CURRENT.get()
    if context is None:
        raise PeragoError("current_task_context() was called outside a running perago task")
    return context


@contextmanager
def task_context(context: TaskContext) -> Iterator[TaskContext]:
    """Make ``context`` current for the duration of the block."""
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)
