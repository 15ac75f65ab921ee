"""The values the attempt runtime hands its callbacks: the execution context, callback shapes, attempt events.

The callback type aliases are the seed's (DESIGN §1 "Public API"). What perago knows beyond the seed reaches the
callbacks as extra attributes of :class:`TaskExecutionContext` — the pinned input, the download record, the diff,
the after-snapshot, the ``perago.*`` metadata — so a callback written against the seed's shapes works unchanged, and
perago's own lakeFS store finds everything it needs without hashing a file twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perago.errors import ConfigurationError
from perago.models import AttemptSnapshot, DownloadRecord, StagedWorkspace, StageRequest, WorkspaceInput
from perago.snapshot import Entry, SnapshotDiff
from perago.spec import WorkspaceSpec


@dataclass(frozen=True)
class TaskExecutionContext:
    """One execution of an attempt, as the runtime's callbacks see it.

    Attribute reads that are not fields fall through to ``attempt``, so ``execution.task_id``,
    ``execution.poll_count`` or ``execution.workflow_instance_id`` (a conductor-python ``Task``) work as they do on
    the attempt itself.

    Attributes:
        attempt: The attempt object as given (a conductor-python ``Task``, an :class:`AttemptSnapshot`, ...).
        execution_id: Unique per delivery: names the attempt directory and the staging branch.
        identity: The attempt's identity read from ``attempt`` (task id, workflow id, poll and retry counts...).
        task_name: The task's name.
        pinned_workspace: The input workspace pinned to the commit that was downloaded (``ref_type="commit"``),
            or the input as given when the download callback recorded nothing.
        download: What the download callback returned, if anything.
        diff: What the task changed (writable tasks, after the body).
        after: The after-snapshot: SHA-256 of every file, symlink targets (writable tasks, after the body).
        metadata: The ``perago.*`` commit and merge metadata (writable tasks, after the body).
    """

    attempt: Any
    execution_id: str
    identity: AttemptSnapshot | None = None
    task_name: str = ""
    pinned_workspace: WorkspaceInput | None = None
    download: DownloadRecord | None = None
    diff: SnapshotDiff | None = None
    after: Mapping[str, Entry] | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not fields; guard the fields themselves against recursion in copy/pickle.
        if name.startswith("__") or name in type(self).__dataclass_fields__:
            raise AttributeError(name)
        return getattr(self.attempt, name)


def staging_request(workspace_dir: Path, workspace_input: WorkspaceInput, execution: object) -> StageRequest:
    """What a store needs to stage an attempt, read from the execution context the runtime passes.

    Raises:
        ConfigurationError: ``execution`` does not carry the diff and after-snapshot (it was not made by
            :func:`perago.run_workspace_task_attempt`).
    """
    if not isinstance(execution, TaskExecutionContext) or execution.diff is None or execution.after is None:
        raise ConfigurationError(
            "stage_workspace needs the execution context that run_workspace_task_attempt passes (with the diff and "
            f"after-snapshot of the attempt), got {type(execution).__name__}"
        )
    identity = execution.identity or AttemptSnapshot.of(execution.attempt)
    return StageRequest(
        workspace=execution.pinned_workspace or workspace_input,
        directory=workspace_dir,
        diff=execution.diff,
        after=execution.after,
        metadata=execution.metadata,
        attempt=identity,
        task_name=execution.task_name,
        execution_id=execution.execution_id,
    )


@dataclass(frozen=True)
class StepChain:
    """One workflow step's retry chain, as Conductor links it (DESIGN §2 "Exactly-once effect").

    Conductor's retry of a timed-out or failed task is a new task whose ``retriedTaskId`` names the one it retries
    (DeciderService.retry, WorkflowExecutorOps.retry); a re-delivery keeps the task id and its ``scheduledTime``. A
    restart starts a new chain with new tasks; a rerun from a task keeps its id but gives it a new ``scheduledTime``
    (WorkflowExecutorOps.rerunWF), which starts a new chain too. So a chain member is a (task id, scheduled time)
    pair, and a merge carrying ``perago.workflow_id`` = ``workflow_id``, ``perago.task_ref`` = ``task_ref`` and the
    ``perago.task_id`` / ``perago.scheduled_time`` of a member is this step's work, already published.

    Attributes:
        workflow_id: The workflow instance.
        task_ref: The step's reference task name (with a DO_WHILE iteration's ``__N`` suffix).
        members: Every (task id, scheduled time in epoch ms) of the chain known, this attempt's first.
        since_ms: When the chain's first task was scheduled (epoch ms, Conductor's clock), 0 when unknown: no
            publication of the chain can be older.
    """

    workflow_id: str
    task_ref: str
    members: tuple[tuple[str, int], ...]
    since_ms: int = 0

    def published(self, metadata: Mapping[str, str]) -> bool:
        """Whether commit metadata says this chain published it."""
        try:
            member = (metadata.get("perago.task_id", ""), int(metadata.get("perago.scheduled_time", "")))
        except ValueError:
            return False
        return (
            metadata.get("perago.workflow_id") == self.workflow_id
            and metadata.get("perago.task_ref") == self.task_ref
            and member in self.members
        )


@dataclass(frozen=True)
class EarlierResult:
    """Work an earlier attempt (or an identical earlier call) already published: the attempt completes with it.

    Attributes:
        ref: The commit to report as the output workspace's ref (the earlier merge, or the input commit).
        result: The earlier attempt's result, as it was reported (validated again by the task's output model).
        source: Why it applies, for the task log (e.g. ``"retry chain"``, ``"memo"``).
    """

    ref: str
    result: Mapping[str, Any]
    source: str


@dataclass(frozen=True)
class AttemptEvent:
    """One phase transition of an attempt, as Conductor's task log and the worker's log show it.

    Attributes:
        phase: ``received``, ``reused``, ``downloaded``, ``body``, ``fence``, ``staged``, ``published``,
            ``noop``, ``completed``, ``failed`` or ``cleaned``.
        at: When it happened (epoch seconds).
        detail: A short human-readable line.
        fields: The same facts as values (objects, bytes, branch, commit, ...).
    """

    phase: str
    detail: str
    at: float = field(default_factory=time.time)
    fields: Mapping[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """``"<phase>: <detail>"``, the task log line."""
        return f"{self.phase}: {self.detail}" if self.detail else self.phase

    def log_lines(self) -> list[str]:
        """The task log lines of this event: its line, then a failure's traceback as a line of its own."""
        traceback = self.fields.get("traceback")
        return [self.line(), str(traceback)] if traceback else [self.line()]


DownloadWorkspace = Callable[[WorkspaceInput, WorkspaceSpec, Path], DownloadRecord | None]
"""``download_workspace(workspace_input, workspace_spec, workspace_dir)``: materialise the input; may return a
:class:`DownloadRecord` (the pinned commit and every file's SHA-256) or None (the input ref is kept as given)."""
LoadCurrentAttempt = Callable[[Any], object]
"""``load_current_attempt(attempt)``: the task as the server reports it now, or None when it no longer exists."""
StageWorkspace = Callable[[Path, WorkspaceInput, WorkspaceSpec, TaskExecutionContext], StagedWorkspace]
"""``stage_workspace(workspace_dir, workspace_input, workspace_spec, execution)`` -> the staged reference."""
PublishWorkspace = Callable[[StagedWorkspace, WorkspaceInput, WorkspaceSpec, TaskExecutionContext], str]
"""``publish_workspace(staged, workspace_input, workspace_spec, execution)`` -> the published (merge) commit."""
CleanupStaging = Callable[[StagedWorkspace], None]
"""``cleanup_staging(staged)``: remove the staging branch (already gone counts as done)."""
CompleteNoOpWorkspace = Callable[[WorkspaceInput, WorkspaceSpec, TaskExecutionContext], str]
"""``complete_noop_workspace(workspace_input, workspace_spec, execution)`` -> the ref to report for a writable
attempt that changed nothing (perago's store: the pinned input commit, after checking the target branch)."""
FindEarlierResult = Callable[[WorkspaceInput, WorkspaceSpec, TaskExecutionContext], EarlierResult | None]
"""``find_earlier_result(workspace_input, workspace_spec, execution)``: work already published for this step or
call (DESIGN §2 "Exactly-once effect", §5 memoized tasks), or None to run the attempt."""
OnEvent = Callable[[AttemptEvent], None]
"""``on_event(event)``: told of each phase transition as it happens (errors are logged, never raised)."""
