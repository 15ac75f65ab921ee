"""The state one attempt carries between its phases: its execution context, task context, events and effects.

Used by :mod:`perago.runtime`; not a public API.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from loguru import logger

from perago.attempt import assert_current_attempt_snapshot
from perago.body import validate_params
from perago.callid import call_identity
from perago.context import TaskContext
from perago.determinism import Determinism
from perago.execution import (
    AttemptEvent,
    CleanupStaging,
    CompleteNoOpWorkspace,
    DownloadWorkspace,
    FindEarlierResult,
    LoadCurrentAttempt,
    OnEvent,
    PublishWorkspace,
    StageWorkspace,
    TaskExecutionContext,
)
from perago.models import AttemptSnapshot
from perago.result import RuntimeTaskResult, failed_result
from perago.task import TaskDefinition


@dataclass
class Effects:
    """The attempt's side effects: the callbacks it was given."""

    download: DownloadWorkspace
    stage: StageWorkspace
    publish: PublishWorkspace
    cleanup: CleanupStaging
    noop: CompleteNoOpWorkspace | None
    find_earlier: FindEarlierResult | None = None


@dataclass
class AttemptRun:
    """The state one attempt carries between its phases."""

    task: TaskDefinition[Any, Any]
    execution: TaskExecutionContext
    context: TaskContext
    load_current_attempt: LoadCurrentAttempt
    secrets: tuple[str, ...] = ()
    on_event: OnEvent | None = None
    events: list[AttemptEvent] = field(default_factory=list)

    def event(self, phase: str, detail: str = "", **fields: Any) -> None:
        """Record a phase transition and tell the listener (whose errors are logged, never raised)."""
        event = AttemptEvent(phase, detail, fields=fields)
        self.events.append(event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception as exc:
                self.context.logger.warning("the attempt event listener failed on {}: {!r}", phase, exc)

    def bind_call(self, params: object, input_commit: str) -> None:
        """Seed the deterministic streams with the call (``perago.params_sha256``) and the commit it read.

        The identity is computed on first use (from the body, once the params validated) from the validated params.
        """
        task, determinism = self.task, self.context.determinism
        assert determinism is not None
        determinism.bind(lambda: call_identity(task.name, task.version, validate_params(task, params)), input_commit)

    def checkpoint(self, phase: str) -> None:
        """Stop here if the worker cancelled the attempt."""
        self.context.raise_if_cancelled(phase)

    def fence(self, phase: str) -> None:
        """The attempt fence before ``phase`` (DESIGN §2), with cancellation checks on both sides."""
        self.checkpoint(phase)
        assert_current_attempt_snapshot(self.execution.attempt, self.load_current_attempt(self.execution.attempt))
        self.checkpoint(phase)  # a cancellation that arrived while the server was being asked
        self.event("fence", f"passed before {phase}")

    def finish(self, result: RuntimeTaskResult) -> RuntimeTaskResult:
        """``result`` with the attempt's events and their task log lines."""
        lines = tuple(line for event in self.events for line in event.log_lines())
        return replace(result, logs=lines, events=tuple(self.events))


def _context(
    task: TaskDefinition[Any, Any],
    identity: AttemptSnapshot,
    execution_id: str,
    cancel: threading.Event | None,
    determinism: Determinism,
) -> TaskContext:
    bound = logger.bind(
        task=task.name, task_id=identity.task_id, workflow_id=identity.workflow_id, execution_id=execution_id
    )
    return TaskContext(
        task_name=task.name,
        task_id=identity.task_id,
        workflow_id=identity.workflow_id,
        poll_count=identity.poll_count,
        retry_count=identity.retry_count,
        execution_id=execution_id,
        cancel_event=cancel or threading.Event(),
        logger=bound,
        determinism=determinism,
    )


def new_attempt_run(
    task: TaskDefinition[Any, Any],
    attempt: object,
    execution_id: str | None,
    load_current_attempt: LoadCurrentAttempt,
    *,
    cancel_event: threading.Event | None = None,
    secrets: Iterable[str] = (),
    on_event: OnEvent | None = None,
    chain_started_ms: Callable[[], int] | None = None,
) -> AttemptRun:
    """The state of a new attempt of ``task``: its identity read from ``attempt``, its execution id and context.

    The context's deterministic streams are unbound until :meth:`AttemptRun.bind_call`; their ``now()`` asks
    ``chain_started_ms``, by default this attempt's own scheduled time.
    """
    identity = AttemptSnapshot.of(attempt)
    execution_id = execution_id or getattr(attempt, "execution_id", None) or uuid.uuid4().hex
    execution = TaskExecutionContext(attempt, execution_id, identity=identity, task_name=task.name)
    determinism = Determinism(chain_started_ms or (lambda: identity.scheduled_time))
    context = _context(task, identity, execution_id, cancel_event, determinism)
    return AttemptRun(task, execution, context, load_current_attempt, tuple(secrets), on_event)


def failed(run: AttemptRun, exc: Exception, max_length: int) -> RuntimeTaskResult:
    """The failed result for ``exc``, logged (reason at WARNING, traceback at DEBUG) and recorded as an event."""
    result = failed_result(exc, max_length, secrets=run.secrets, non_retryable=run.task.non_retryable)
    reason = result.reason_for_incompletion
    run.context.logger.warning("attempt failed: {}", reason)
    run.context.logger.debug("attempt failed; traceback (secrets redacted):\n{}", result.traceback)
    run.event("failed", reason or "", reason=reason, traceback=result.traceback)
    return result
