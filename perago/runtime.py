"""One attempt, end to end (DESIGN §1): download, body, guardrails, fence, stage, fence, publish, clean up.

The public functions have the seed's signatures (DESIGN §1 "Public API"). Side effects are keyword callables with
the seed's shapes (:mod:`perago.execution`): the lakeFS and Conductor adapters provide them, tests pass plain
functions. Once the input is known to belong to the right kind of task, nothing raises: every outcome becomes a
:class:`RuntimeTaskResult`, and the attempt directory, the staging branch and the owner registration are always
cleaned up.

Beyond the seed, keyword-only extras with defaults: ``cancel_event`` (set by the worker when the attempt went stale
or the worker shuts down; checked at every phase boundary), ``secrets`` (redacted from reasons, logs and
tracebacks), ``full_rehash``, ``find_earlier_result`` (work an earlier attempt of the same step already published:
the attempt completes with it without downloading or running the body; it may also raise
:class:`~perago.concurrency.AttemptHandedBack`, which hands the attempt back to Conductor), ``on_event`` (each phase
transition as it happens, for Conductor's task log) and ``chain_started_ms`` (when the step's retry chain started,
for :meth:`TaskContext.now`).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from loguru import logger

from perago.attempt_state import AttemptRun, Effects, failed, new_attempt_run
from perago.body import (
    build_workspace_task_output,
    invoke_workspace_free_task,
    parse_workspace_task_input,
    run_task_body,
)
from perago.concurrency import AttemptHandedBack, handed_back_result
from perago.context import task_context
from perago.errors import ConfigurationError, TaskInputError
from perago.execution import (
    CleanupStaging,
    CompleteNoOpWorkspace,
    DownloadWorkspace,
    EarlierResult,
    FindEarlierResult,
    LoadCurrentAttempt,
    OnEvent,
    PublishWorkspace,
    StageWorkspace,
)
from perago.metadata import attempt_metadata
from perago.models import AttemptSnapshot, DownloadRecord, StagedWorkspace, WorkspaceInput
from perago.result import RuntimeTaskResult, completed_result, failure_reason
from perago.snapshot import changes_since, diff_snapshots, snapshot_directory, stamp_snapshot
from perago.task import TaskDefinition
from perago.workspace import (
    cleanup_attempt_workspace_safely,
    new_workspace_owner,
    prepare_attempt_workspace,
    register_active_workspace_owner,
    unregister_active_workspace_owner,
)

__all__ = ["attempt_metadata", "run_workspace_free_task_attempt", "run_workspace_task_attempt"]

DEFAULT_FAILURE_REASON_MAX_LENGTH = 1000
"""The default of ``PERAGO_FAILURE_REASON_MAX_LENGTH`` (used where the caller gives no length)."""


def _handed_back(run: AttemptRun, exc: AttemptHandedBack, max_length: int) -> RuntimeTaskResult:
    """IN_PROGRESS with ``callbackAfterSeconds``: Conductor delivers the same task again later, no retry spent."""
    run.event("handed back", f"{exc} (again in {exc.after_s} s)", after_s=exc.after_s)
    run.context.logger.info("attempt handed back to Conductor for {} s: {}", exc.after_s, exc)
    return handed_back_result(exc, max_length)


def _earlier(run: AttemptRun, effects: Effects, workspace: WorkspaceInput, when: str) -> EarlierResult | None:
    """Work an earlier attempt of the same step (or call) already published, if the hook finds any."""
    if effects.find_earlier is None or run.task.workspace is None:
        return None
    earlier = effects.find_earlier(workspace, run.task.workspace, run.execution)
    if earlier is not None:
        run.event("reused", f"{earlier.source}: completed with {earlier.ref} {when}", ref=earlier.ref)
    return earlier


def _reuse(run: AttemptRun, effects: Effects, workspace: WorkspaceInput) -> dict[str, Any] | None:
    """Before anything runs: complete with earlier work, no download, no body."""
    earlier = _earlier(run, effects, workspace, "without running")
    if earlier is None:
        return None
    return build_workspace_task_output(run.task, workspace, earlier.ref, earlier.result)


def _downloaded(run: AttemptRun, workspace: WorkspaceInput, record: DownloadRecord | None) -> WorkspaceInput:
    pinned = workspace.published_output(record.commit_id) if record is not None else workspace
    run.execution = replace(run.execution, pinned_workspace=pinned, download=record)
    objects, size, hits = (len(record.entries), record.bytes_downloaded, record.cache_hits) if record else (0, 0, 0)
    detail = f"{workspace.repository}@{pinned.ref}: {objects} object(s), {size} byte(s) fetched, {hits} from the cache"
    run.event("downloaded", detail, objects=objects, bytes=size, cache_hits=hits, ref=pinned.ref)
    return pinned


def _read_only(
    run: AttemptRun, directory: Path, params: Any, workspace: WorkspaceInput, pinned: WorkspaceInput
) -> dict[str, Any]:
    """Step 7a: run the body; report the commit that was read; warn about (and drop) anything written."""
    record = run.execution.download
    recorded = record.entries if record is not None and record.entries else None
    stamps = recorded if recorded is not None else stamp_snapshot(directory)
    outcome = run_task_body(run.task, directory, params, before=recorded)
    run.event("body", "finished, guardrails passed")
    written = changes_since(directory, stamps)
    if written:
        listed = ", ".join(written[:10]) + (f" (+{len(written) - 10} more)" if len(written) > 10 else "")
        run.context.logger.warning(
            "read-only task {} changed {} path(s) in its workspace ({}); they are discarded: declare a writable "
            "WorkspaceSpec() to publish them",
            run.task.name,
            len(written),
            listed,
        )
        run.event("warning", f"read-only task changed {len(written)} path(s), discarded: {listed}")
    return build_workspace_task_output(run.task, workspace, pinned.ref, outcome.output)


def _publish(
    run: AttemptRun, effects: Effects, workspace: WorkspaceInput, directory: Path, staged_box: list[StagedWorkspace]
) -> tuple[str, Mapping[str, Any] | None]:
    """Steps 7b/7c: fence -> no-op completion, or fence -> stage -> fence -> publish.

    Returns the ref to report and, when an earlier attempt of the same step published while this one ran, that
    attempt's result (this one then publishes nothing: the step's effect lands once).
    """
    spec, execution = run.task.workspace, run.execution
    assert spec is not None and execution.diff is not None
    if execution.diff.is_empty:
        if effects.noop is None:
            raise ConfigurationError(
                f"task {run.task.name}: the workspace did not change but no complete_noop_workspace callback was "
                "given; refusing to complete without confirming the target branch"
            )
        run.fence("no-op completion")
        ref = effects.noop(workspace, spec, run.execution)
        run.event("noop", f"nothing changed; completed with {ref}", ref=ref)
        return ref, None
    run.fence("staging")
    staged = effects.stage(directory, workspace, spec, run.execution)
    staged_box.append(staged)
    diff = execution.diff
    run.event("staged", f"{len(diff.upserted)} upsert(s), {len(diff.removed)} deletion(s) on {staged.branch}")
    run.fence("publication")
    earlier = _earlier(run, effects, workspace, "instead of merging")
    if earlier is not None:
        return earlier.ref, earlier.result
    ref = effects.publish(staged, workspace, spec, run.execution)
    run.event("published", f"merge commit {ref} on {workspace.branch}", ref=ref, branch=workspace.branch)
    return ref, None


def _run_phases(
    run: AttemptRun,
    effects: Effects,
    workspace: WorkspaceInput,
    params: Any,
    directory: Path,
    staged_box: list[StagedWorkspace],
    full_rehash: bool,
) -> dict[str, Any]:
    """Steps 4-7 inside a prepared directory; returns the task output."""
    spec = run.task.workspace
    assert spec is not None
    run.checkpoint("the download")
    pinned = _downloaded(run, workspace, effects.download(workspace, spec, directory))
    run.bind_call(params, pinned.ref)
    run.checkpoint("the task body")
    if spec.read_only:
        return _read_only(run, directory, params, workspace, pinned)
    record = run.execution.download
    before = record.entries if record is not None and record.entries else snapshot_directory(directory)
    outcome = run_task_body(run.task, directory, params, before=before, full_rehash=full_rehash)
    assert outcome.after is not None
    run.event("body", "finished, guardrails passed")
    run.checkpoint("publication")
    execution = run.execution
    metadata = attempt_metadata(
        run.task, execution.attempt, execution.execution_id, pinned.ref, outcome.params, result=outcome.output
    )
    run.execution = replace(
        execution, diff=diff_snapshots(before, outcome.after), after=outcome.after, metadata=metadata
    )
    ref, earlier_result = _publish(run, effects, workspace, directory, staged_box)
    result = earlier_result if earlier_result is not None else outcome.output
    return build_workspace_task_output(run.task, workspace, ref, result)


def _cleanup(run: AttemptRun, effects: Effects, staged_box: list[StagedWorkspace], directory: Path | None) -> None:
    """Step 9: clean the staging branch (errors logged, never replacing the result) and the directory."""
    for staged in staged_box:
        try:
            effects.cleanup(staged)
        except Exception as exc:
            reason = failure_reason(exc, 500, run.secrets)
            run.context.logger.error("could not delete staging branch {}: {}", staged.branch, reason)
            run.event("warning", f"staging branch {staged.branch} not deleted: {reason}")
    if directory is not None and cleanup_attempt_workspace_safely(directory, run.execution.attempt):
        run.event("cleaned", f"attempt directory removed{', staging branch deleted' if staged_box else ''}")


def run_workspace_task_attempt(
    task: TaskDefinition[Any, Any],
    input_data: Mapping[str, Any],
    attempt: object,
    workspace_root: Path,
    *,
    download_workspace: DownloadWorkspace,
    load_current_attempt: LoadCurrentAttempt,
    stage_workspace: StageWorkspace,
    publish_workspace: PublishWorkspace,
    cleanup_staging: CleanupStaging,
    complete_noop_workspace: CompleteNoOpWorkspace | None = None,
    owner_worker_id: str | None = None,
    execution_id: str | None = None,
    failure_reason_max_length: int,
    cancel_event: threading.Event | None = None,
    secrets: Iterable[str] = (),
    full_rehash: bool = False,
    find_earlier_result: FindEarlierResult | None = None,
    on_event: OnEvent | None = None,
    chain_started_ms: Callable[[], int] | None = None,
) -> RuntimeTaskResult:
    """Run one workspace task attempt (DESIGN §1); never raises for the attempt's own failures.

    Args:
        task: A workspace task definition.
        input_data: The Conductor task input, exactly ``{"workspace", "params"}``.
        attempt: The attempt as polled: a conductor-python ``Task``, an :class:`AttemptSnapshot`, or any object
            with its attributes (``task_id``, ``workflow_instance_id`` or ``workflow_id``, ``poll_count``,
            ``retry_count``, ``worker_id``, ``status``).
        workspace_root: Where the attempt directory ``<workspace_root>/<execution_id>/`` is made.
        download_workspace: ``(workspace_input, workspace_spec, workspace_dir)``: materialise the input.
        load_current_attempt: ``(attempt)``: the task as the server reports it now (None: gone), for the fence.
        stage_workspace: ``(workspace_dir, workspace_input, workspace_spec, execution)`` -> ``StagedWorkspace``.
        publish_workspace: ``(staged, workspace_input, workspace_spec, execution)`` -> the published commit.
        cleanup_staging: ``(staged)``: remove the staging branch; errors are logged, never the result.
        complete_noop_workspace: ``(workspace_input, workspace_spec, execution)`` -> the ref reported when a
            writable task changed nothing; without it such an attempt fails closed.
        owner_worker_id: Written into the attempt directory's owner marker (default: ``PERAGO_WORKER_ID``, else
            ``pid-<pid>``).
        execution_id: Names the attempt directory and staging branch (default: the attempt's ``execution_id``
            attribute, else a fresh id).
        failure_reason_max_length: The longest ``reasonForIncompletion``.
        cancel_event: Set by the worker to stop the attempt at the next phase boundary.
        secrets: Values redacted from reasons, logs and tracebacks.
        full_rehash: Re-hash every file after the body instead of trusting the download stamps.
        find_earlier_result: ``(workspace_input, workspace_spec, execution)`` -> work an earlier attempt of the
            same step already published (:class:`perago.execution.EarlierResult`), or None; raising
            :class:`~perago.concurrency.AttemptHandedBack` hands the attempt back (IN_PROGRESS).
        on_event: Told of each phase transition as it happens.
        chain_started_ms: When the first attempt of this step's retry chain was scheduled (epoch ms), asked on the
            body's first ``current_task_context().now()``; default: this attempt's own ``scheduled_time``.

    Returns:
        COMPLETED with ``{"workspace", "result"}``, IN_PROGRESS when handed back, or a failed result from
        :func:`result_for_exception`.

    Raises:
        TaskInputError: The task is workspace-free (use :func:`run_workspace_free_task_attempt`).
    """
    if task.workspace is None:
        raise TaskInputError(f"task {task.name} is workspace-free: use run_workspace_free_task_attempt")
    run = new_attempt_run(
        task,
        attempt,
        execution_id,
        load_current_attempt,
        cancel_event=cancel_event,
        secrets=secrets,
        on_event=on_event,
        chain_started_ms=chain_started_ms,
    )
    effects = Effects(
        download_workspace,
        stage_workspace,
        publish_workspace,
        cleanup_staging,
        complete_noop_workspace,
        find_earlier_result,
    )
    owner = new_workspace_owner(owner_worker_id or os.environ.get("PERAGO_WORKER_ID") or f"pid-{os.getpid()}")
    register_active_workspace_owner(owner)
    staged_box: list[StagedWorkspace] = []
    directory: Path | None = None
    identity, execution_id = run.execution.identity, run.execution.execution_id
    assert identity is not None
    try:
        with (
            task_context(run.context),
            logger.contextualize(
                task=task.name, task_id=identity.task_id, workflow_id=identity.workflow_id, execution_id=execution_id
            ),
        ):
            run.event("received", f"poll {identity.poll_count}, retry {identity.retry_count}", execution=execution_id)
            workspace, params = parse_workspace_task_input(input_data)
            output = _reuse(run, effects, workspace)
            if output is None:
                directory = prepare_attempt_workspace(workspace_root, run.execution, owner)
                output = _run_phases(run, effects, workspace, params, directory, staged_box, full_rehash)
            result = completed_result(output)
            output_ref = output["workspace"]["ref"]
            run.event("completed", f"output ref {output_ref}", ref=output_ref)
    except AttemptHandedBack as exc:
        result = _handed_back(run, exc, failure_reason_max_length)
    except Exception as exc:
        result = failed(run, exc, failure_reason_max_length)
    finally:
        _cleanup(run, effects, staged_box, directory)
        unregister_active_workspace_owner(owner)
    return run.finish(result)


def run_workspace_free_task_attempt(
    task: TaskDefinition[Any, Any],
    input_data: Mapping[str, Any],
    *,
    failure_reason_max_length: int = DEFAULT_FAILURE_REASON_MAX_LENGTH,
    attempt: object | None = None,
    execution_id: str | None = None,
    cancel_event: threading.Event | None = None,
    secrets: Iterable[str] = (),
    on_event: OnEvent | None = None,
    chain_started_ms: Callable[[], int] | None = None,
) -> RuntimeTaskResult:
    """Run one workspace-free task attempt: input exactly ``{"params"}``, output ``{"result"}``; never raises.

    ``failure_reason_max_length`` defaults to the setting's default (1000): the seed's own docstring example calls
    this function without it. ``attempt`` (the polled task, for :func:`current_task_context`), ``execution_id``,
    ``cancel_event``, ``secrets``, ``on_event`` and ``chain_started_ms`` (for ``now()``, as in
    :func:`run_workspace_task_attempt`) are perago's keyword-only extras.

    Raises:
        TaskInputError: The task has a workspace (use :func:`run_workspace_task_attempt`).

    Example:
        >>> result = run_workspace_free_task_attempt(metadata_validate, {"params": {"song_id": "song-1"}})
        >>> result.status
        'COMPLETED'
    """
    if task.workspace is not None:
        raise TaskInputError(f"task {task.name} needs a workspace: use run_workspace_task_attempt")
    if attempt is None:
        attempt = AttemptSnapshot(f"local-{uuid.uuid4().hex[:12]}", "", poll_count=1, retry_count=0, worker_id=None)
    run = new_attempt_run(
        task,
        attempt,
        execution_id,
        lambda _: None,
        cancel_event=cancel_event,
        secrets=secrets,
        on_event=on_event,
        chain_started_ms=chain_started_ms,
    )
    run.bind_call(input_data.get("params"), "")
    identity = run.execution.identity
    assert identity is not None
    try:
        with task_context(run.context):
            run.event("received", f"poll {identity.poll_count}, retry {identity.retry_count}")
            run.checkpoint("the task body")
            result = completed_result(invoke_workspace_free_task(task, input_data))
            run.event("completed", "body finished")
    except Exception as exc:
        result = failed(run, exc, failure_reason_max_length)
    return run.finish(result)
