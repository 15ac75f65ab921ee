"""One attempt, end to end (DESIGN §1): download, body, guardrails, fence, stage, fence, publish, clean up.

Side effects are keyword callables (see docs/architecture.md): the lakeFS and Conductor adapters provide them,
tests pass plain functions. The functions here never raise for anything that happens after the input shape is
known: every outcome becomes a :class:`RuntimeTaskResult`, and the attempt directory, the staging branch and
the owner registration are always cleaned up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger
from pydantic import BaseModel

from perago.attempt import assert_current_attempt_snapshot
from perago.body import (
    build_workspace_free_task_output,
    build_workspace_task_output,
    invoke_workspace_free_task,
    invoke_workspace_task_body,
)
from perago.callid import call_identity
from perago.context import TaskContext, task_context
from perago.errors import ConfigurationError, TaskInputError
from perago.models import AttemptSnapshot, DownloadRecord, StagedWorkspace, StageRequest, WorkspaceInput
from perago.result import RuntimeTaskResult, completed_result, redact, result_for_exception
from perago.snapshot import Snapshot, diff_snapshots, snapshot_directory
from perago.spec import WorkspaceSpec
from perago.task import TaskDefinition
from perago.workspace import (
    cleanup_attempt_workspace_safely,
    new_workspace_owner,
    prepare_attempt_workspace,
    register_active_workspace_owner,
    unregister_active_workspace_owner,
)

DownloadFn = Callable[[WorkspaceInput, WorkspaceSpec, Path], DownloadRecord | None]
LoadAttemptFn = Callable[[AttemptSnapshot], AttemptSnapshot | None]
StageFn = Callable[[StageRequest], StagedWorkspace]
PublishFn = Callable[[StagedWorkspace, WorkspaceInput, Mapping[str, str]], str]
CleanupFn = Callable[[StagedWorkspace], None]
NoopFn = Callable[[WorkspaceInput], str]


def parse_workspace_task_input(input_data: Any) -> tuple[WorkspaceInput, Any]:
    """Steps 1-2: exactly ``{"workspace", "params"}``; the workspace validated as :class:`WorkspaceInput`.

    Raises:
        TaskInputError: Wrong shape (keys named).
        pydantic.ValidationError: An invalid workspace.
    """
    if not isinstance(input_data, Mapping) or set(input_data) != {"workspace", "params"}:
        found = sorted(input_data) if isinstance(input_data, Mapping) else type(input_data).__name__
        raise TaskInputError(f"workspace task input must be exactly {{'workspace', 'params'}}, got {found}")
    return WorkspaceInput.model_validate(input_data["workspace"]), input_data["params"]


def attempt_metadata(
    task: TaskDefinition,
    attempt: AttemptSnapshot,
    execution_id: str,
    input_commit: str,
    params: BaseModel | Any,
) -> dict[str, str]:
    """The ``perago.*`` commit and merge metadata of an attempt (DESIGN §3; all strings)."""
    return {
        "perago.task": task.name,
        "perago.task_version": str(task.version),
        "perago.workflow_id": attempt.workflow_id,
        "perago.task_id": attempt.task_id,
        "perago.poll_count": str(attempt.poll_count),
        "perago.retry_count": str(attempt.retry_count),
        "perago.worker_id": attempt.worker_id or "",
        "perago.execution_id": execution_id,
        "perago.input_commit": input_commit,
        "perago.params_sha256": call_identity(task.name, task.version, params),
    }


@dataclass
class _Attempt:
    """The state one workspace attempt carries between its phases."""

    task: TaskDefinition
    attempt: AttemptSnapshot
    context: TaskContext
    load_current_attempt: LoadAttemptFn
    secrets: tuple[str, ...] = ()
    logs: list[str] = field(default_factory=list)

    def checkpoint(self, phase: str) -> None:
        self.context.raise_if_cancelled(phase)

    def fence(self, phase: str) -> None:
        self.checkpoint(phase)
        assert_current_attempt_snapshot(self.attempt, self.load_current_attempt(self.attempt))
        self.checkpoint(phase)  # a cancellation that arrived while the server was being asked
        self.logs.append(f"fence passed before {phase}")


def _context(
    task: TaskDefinition, attempt: AttemptSnapshot, execution_id: str, cancel: threading.Event | None
) -> TaskContext:
    bound = logger.bind(
        task=task.name, task_id=attempt.task_id, workflow_id=attempt.workflow_id, execution_id=execution_id
    )
    return TaskContext(
        task_name=task.name,
        task_id=attempt.task_id,
        workflow_id=attempt.workflow_id,
        poll_count=attempt.poll_count,
        retry_count=attempt.retry_count,
        execution_id=execution_id,
        cancel_event=cancel or threading.Event(),
        logger=bound,
    )


@dataclass(frozen=True)
class _Effects:
    download: DownloadFn
    stage: StageFn
    publish: PublishFn
    cleanup: CleanupFn
    noop: NoopFn | None


def _before_snapshot(record: DownloadRecord | None, directory: Path, read_only: bool) -> Snapshot | None:
    """Step 5: the digests the download recorded, else (writable tasks only) a hash of the files.

    Read-only tasks need no before-snapshot: their pre guardrails walk the directory only if there are any.
    ``full_rehash`` does not apply here: the recorded digests were computed from the very bytes written, it is
    the stamps of the after-snapshot that a full re-hash distrusts.
    """
    if record is not None and record.entries:
        return record.entries
    return None if read_only else snapshot_directory(directory)


def _publish(
    run: _Attempt,
    effects: _Effects,
    request: StageRequest,
    workspace: WorkspaceInput,
    staged_box: list[StagedWorkspace],
) -> str:
    """Steps 7b/7c: fence -> no-op completion, or fence -> stage -> fence -> publish."""
    if request.diff.is_empty:
        if effects.noop is None:
            raise ConfigurationError(
                f"task {run.task.name}: the workspace did not change but no complete_noop_workspace callback was "
                "given; refusing to complete without confirming the target branch"
            )
        run.fence("no-op completion")
        return effects.noop(request.workspace)
    run.fence("staging")
    staged = effects.stage(request)
    staged_box.append(staged)
    run.logs.append(
        f"staged {len(request.diff.upserted)} upsert(s), {len(request.diff.removed)} deletion(s) on {staged.branch}"
    )
    run.fence("publication")
    commit = effects.publish(staged, workspace, request.metadata)
    run.logs.append(f"published merge commit {commit} to {workspace.branch}")
    return commit


def _run_phases(
    run: _Attempt,
    effects: _Effects,
    workspace: WorkspaceInput,
    params: Any,
    directory: Path,
    staged_box: list[StagedWorkspace],
    full_rehash: bool,
) -> dict[str, Any]:
    """Steps 4-7 inside a prepared directory; returns the task output."""
    spec = run.task.workspace
    assert spec is not None
    record = effects.download(workspace, spec, directory)
    pinned = workspace.published_output(record.commit_id) if record is not None else workspace
    run.logs.append(f"downloaded {workspace.repository}@{pinned.ref}")
    run.checkpoint("the task body")
    before = _before_snapshot(record, directory, spec.read_only)
    outcome = invoke_workspace_task_body(run.task, directory, params, before=before, full_rehash=full_rehash)
    run.checkpoint("publication")
    if spec.read_only:
        return build_workspace_task_output(pinned, outcome.output)
    assert before is not None and outcome.after is not None
    request = StageRequest(
        workspace=pinned,
        directory=directory,
        diff=diff_snapshots(before, outcome.after),
        after=outcome.after,
        metadata=attempt_metadata(run.task, run.attempt, run.context.execution_id, pinned.ref, outcome.params),
        attempt=run.attempt,
        task_name=run.task.name,
        execution_id=run.context.execution_id,
    )
    commit = _publish(run, effects, request, workspace, staged_box)
    return build_workspace_task_output(workspace.published_output(commit), outcome.output)


def _cleanup(run: _Attempt, effects: _Effects, staged_box: list[StagedWorkspace], directory: Path | None) -> None:
    """Step 9: clean the staging branch (errors logged, never replacing the result) and the directory."""
    for staged in staged_box:
        try:
            effects.cleanup(staged)
        except Exception as exc:
            run.context.logger.error(
                "could not delete staging branch {}: {}",
                staged.branch,
                redact(f"{type(exc).__name__}: {exc}", run.secrets),
            )
    if directory is not None:
        cleanup_attempt_workspace_safely(directory)


def run_workspace_task_attempt(
    task: TaskDefinition,
    input_data: Any,
    attempt: AttemptSnapshot,
    workspace_root: Path,
    *,
    download_workspace: DownloadFn,
    load_current_attempt: LoadAttemptFn,
    stage_workspace: StageFn,
    publish_workspace: PublishFn,
    cleanup_staging: CleanupFn,
    complete_noop_workspace: NoopFn | None = None,
    owner_worker_id: str,
    execution_id: str,
    failure_reason_max_length: int,
    cancel_event: threading.Event | None = None,
    secrets: Iterable[str] = (),
    full_rehash: bool = False,
) -> RuntimeTaskResult:
    """Run one attempt of a workspace task (DESIGN §1); never raises for the attempt's own failures.

    Returns:
        COMPLETED with ``{"workspace", "result"}``, or a failed result from :func:`result_for_exception`.
    """
    secrets = tuple(secrets)
    context = _context(task, attempt, execution_id, cancel_event)
    run = _Attempt(task, attempt, context, load_current_attempt, secrets)
    effects = _Effects(download_workspace, stage_workspace, publish_workspace, cleanup_staging, complete_noop_workspace)
    try:
        workspace, params = parse_workspace_task_input(input_data)
        if task.workspace is None:
            raise TaskInputError(f"task {task.name} is workspace-free; use run_workspace_free_task_attempt")
    except Exception as exc:
        return _failed(run, exc, failure_reason_max_length, secrets)
    owner = new_workspace_owner(owner_worker_id, task.name, attempt.task_id, execution_id)
    register_active_workspace_owner(owner)
    staged_box: list[StagedWorkspace] = []
    directory: Path | None = None
    try:
        with (
            task_context(context),
            logger.contextualize(
                task=task.name, task_id=attempt.task_id, workflow_id=attempt.workflow_id, execution_id=execution_id
            ),
        ):
            directory = prepare_attempt_workspace(workspace_root, owner)
            output = _run_phases(run, effects, workspace, params, directory, staged_box, full_rehash)
            return completed_result(output, run.logs)
    except Exception as exc:
        return _failed(run, exc, failure_reason_max_length, secrets)
    finally:
        _cleanup(run, effects, staged_box, directory)
        unregister_active_workspace_owner(owner)


def _failed(run: _Attempt, exc: Exception, max_length: int, secrets: tuple[str, ...]) -> RuntimeTaskResult:
    result = result_for_exception(exc, max_length, secrets=secrets, non_retryable=run.task.non_retryable)
    run.context.logger.warning("attempt failed: {}", result.reason_for_incompletion)
    logs = (*run.logs, redact(f"failed: {result.reason_for_incompletion}", secrets))
    return RuntimeTaskResult(result.status, result.output_data, result.reason_for_incompletion, logs, result.error_type)


def run_workspace_free_task_attempt(
    task: TaskDefinition,
    input_data: Any,
    attempt: AttemptSnapshot,
    *,
    execution_id: str,
    failure_reason_max_length: int,
    cancel_event: threading.Event | None = None,
    secrets: Iterable[str] = (),
) -> RuntimeTaskResult:
    """Run one attempt of a workspace-free task: input exactly ``{"params"}``, output ``{"result"}``."""
    context = _context(task, attempt, execution_id, cancel_event)
    run = _Attempt(task, attempt, context, lambda _: None)
    try:
        if not isinstance(input_data, Mapping) or set(input_data) != {"params"}:
            found = sorted(input_data) if isinstance(input_data, Mapping) else type(input_data).__name__
            raise TaskInputError(f"workspace-free task input must be exactly {{'params'}}, got {found}")
        with (
            task_context(context),
            logger.contextualize(
                task=task.name, task_id=attempt.task_id, workflow_id=attempt.workflow_id, execution_id=execution_id
            ),
        ):
            run.checkpoint("the task body")
            output = invoke_workspace_free_task(task, input_data["params"])
        return completed_result(build_workspace_free_task_output(output))
    except Exception as exc:
        return _failed(run, exc, failure_reason_max_length, tuple(secrets))
