"""Run one task the way a worker would, without Conductor: ``TaskEnvironment``.

The task goes through perago's real attempt runtime (input shape, params validation, guardrails, change
detection, fence, staging, publication, cleanup) against either a local directory or a lakeFS repository (the
emulator in tests), and the run is returned for inspection::

    env = TaskEnvironment(features_build)
    run = env.run({"min_total_plays": 0}, directory=tmp_path)      # the directory plays the target branch
    run.assert_completed()
    assert run.changes.added == ("features/manifest.json", "features/songs.csv")

    run = env.run({}, workspace=lakefs_repository.workspace("main"))  # a lakeFS branch (emulated in tests)
    assert run.commit["metadata"]["perago.task"] == "features_build"

    run = TaskEnvironment(metadata_validate).run({"song_id": "song-001", ...})   # workspace-free
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Self

from pydantic import BaseModel

from perago.models import AttemptSnapshot, WorkspaceInput
from perago.result import RuntimeTaskResult
from perago.runtime import run_workspace_free_task_attempt, run_workspace_task_attempt
from perago.settings import PeragoSettings
from perago.snapshot import SnapshotDiff
from perago.task import P, R, TaskDefinition
from perago.testing.harness_local import LocalDirectoryStore
from perago.testing.harness_repo import LakeFSRepository

COMPLETED = "COMPLETED"


@dataclass(frozen=True)
class TaskRun(Generic[R]):
    """The outcome of one harness run.

    Attributes:
        task: The task's name.
        status: ``COMPLETED``, ``FAILED`` or ``FAILED_WITH_TERMINAL_ERROR`` (what Conductor would receive).
        output: The task's output data as sent to Conductor (``{"workspace": ..., "result": ...}``).
        reason: The failure reason (``"<ErrorType>: <message>"``), None on success.
        result: The output validated into the task's output model (None unless completed).
        workspace: The output workspace (None for workspace-free tasks and failures).
        changes: What the run published (None when it published nothing: read-only, no-op or failure).
        commit: The published commit (``id``, ``message``, ``parents``, ``metadata``), or None.
        calls: For a local directory: the store callbacks that ran, in order.
        logs: The task log lines Conductor would receive (phase transitions; a failure's traceback).
        exception: The exception the attempt failed with (None when it completed).
        traceback: Its traceback, as the worker logs it (secrets redacted).
    """

    task: str
    status: str
    output: Mapping[str, Any]
    reason: str | None
    result: R | None = None
    workspace: WorkspaceInput | None = None
    changes: SnapshotDiff | None = None
    commit: Mapping[str, Any] | None = None
    calls: tuple[str, ...] = ()
    logs: tuple[str, ...] = ()
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    traceback: str | None = None

    @property
    def completed(self) -> bool:
        """True when the task completed."""
        return self.status == COMPLETED

    def assert_completed(self) -> Self:
        """Raise AssertionError with the failure reason unless the run completed; return self."""
        if not self.completed:
            raise AssertionError(f"task {self.task} ended {self.status}: {self.reason}")
        return self


@dataclass
class TaskEnvironment(Generic[P, R]):
    """Runs a task's attempts in-process with injected storage.

    Attributes:
        task: The task to run (what ``@task`` returned).
        settings: Settings for the lakeFS store and the reason length (defaults are fine for tests).
        workspace_root: Where attempt directories go (one shared directory under the system temp directory by
            default; each attempt's own directory inside it is removed when the attempt ends).
    """

    task: TaskDefinition[P, R]
    settings: PeragoSettings = field(default_factory=PeragoSettings)
    workspace_root: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "perago-harness")
    attempt: AttemptSnapshot = field(
        default_factory=lambda: AttemptSnapshot(
            task_id=f"harness-{uuid.uuid4().hex[:12]}",
            workflow_id="harness-workflow",
            poll_count=1,
            retry_count=0,
            worker_id="harness-worker",
        )
    )

    def run(
        self,
        params: Mapping[str, Any] | BaseModel,
        *,
        directory: Path | None = None,
        workspace: WorkspaceInput | None = None,
        repository: LakeFSRepository | None = None,
    ) -> TaskRun[R]:
        """Run the task once.

        Args:
            params: The task's params (a dict or the params model).
            directory: Run against this local directory; a writable task's changes are applied to it.
            workspace: Run against this lakeFS workspace (``repository.workspace(...)``).
            repository: The repository ``workspace`` belongs to (for its endpoint and credentials).

        Returns:
            The run, with its status, result, and what it published.
        """
        wire = params.model_dump(mode="json") if isinstance(params, BaseModel) else dict(params)
        if self.task.workspace is None:
            return self._run_free(wire)
        if directory is not None:
            return self._run_local(wire, directory)
        if workspace is None or repository is None:
            raise TypeError(f"task {self.task.name} needs a workspace: pass directory=, or workspace= and repository=")
        return self._run_lakefs(wire, workspace, repository)

    def _run_free(self, params: dict[str, Any]) -> TaskRun[R]:
        result = run_workspace_free_task_attempt(
            self.task,
            {"params": params},
            failure_reason_max_length=self.settings.failure_reason_max_length,
            attempt=self.attempt,
            secrets=self.settings.secret_values(),
        )
        return self._finish(result)

    def _run_local(self, params: dict[str, Any], directory: Path) -> TaskRun[R]:
        store = LocalDirectoryStore(directory)
        workspace = store.workspace()
        result = self._attempt(params, workspace, _callbacks(store))
        changes = store.staged_request.diff if "publish" in store.calls and store.staged_request else None
        commit = None
        if changes is not None and store.published_metadata is not None:
            ref = result.output_data["workspace"]["ref"]
            commit = {"id": ref, "parents": [workspace.ref], "metadata": store.published_metadata}
        return self._finish(result, changes=changes, commit=commit, calls=tuple(store.calls))

    def _run_lakefs(self, params: dict[str, Any], workspace: WorkspaceInput, repo: LakeFSRepository) -> TaskRun[R]:
        from perago.lakefs.store import LakeFSWorkspaceStore

        # No content cache: a harness run fetches from lakeFS every time (what it downloads does not depend on
        # earlier runs, and the user's own ~/.cache/perago is never touched by tests).
        settings = repo.settings(workspace_root=self.workspace_root, cache_max_bytes=0)
        before = repo.commit(workspace.ref)["id"]
        # No Conductor here: the harness's attempt is always the current one, so its fence always passes.
        callbacks = {
            **LakeFSWorkspaceStore.from_settings(settings).callbacks(),
            "load_current_attempt": _always_current,
        }
        result = self._attempt(params, workspace, callbacks)
        changes = commit = None
        if result.status == COMPLETED:
            ref = result.output_data["workspace"]["ref"]
            if ref != before:
                commit = repo.commit(ref)
                changes = repo.diff(before, ref)
        return self._finish(result, changes=changes, commit=commit)

    def _attempt(
        self, params: dict[str, Any], workspace: WorkspaceInput, callbacks: dict[str, Any]
    ) -> RuntimeTaskResult:
        return run_workspace_task_attempt(
            self.task,
            {"workspace": workspace.model_dump(mode="json"), "params": params},
            self.attempt,
            self.workspace_root,
            owner_worker_id=self.attempt.worker_id or "harness-worker",
            execution_id=uuid.uuid4().hex,
            failure_reason_max_length=self.settings.failure_reason_max_length,
            secrets=self.settings.secret_values(),
            **callbacks,
        )

    def _finish(self, result: RuntimeTaskResult, **extra: Any) -> TaskRun[R]:
        output = dict(result.output_data or {})
        completed = result.status == COMPLETED
        model = self.task.output_model.model_validate(output["result"]) if completed else None
        workspace = WorkspaceInput.model_validate(output["workspace"]) if completed and "workspace" in output else None
        return TaskRun(
            task=self.task.name,
            status=result.status,
            output=output,
            reason=result.reason_for_incompletion,
            result=model,
            workspace=workspace,
            logs=result.logs,
            exception=result.exception,
            traceback=result.traceback,
            **extra,
        )


def _always_current(attempt: object) -> object:
    return attempt


def _callbacks(store: LocalDirectoryStore) -> dict[str, Any]:
    return {
        "download_workspace": store.download_workspace,
        "load_current_attempt": store.load_current_attempt,
        "stage_workspace": store.stage_workspace,
        "publish_workspace": store.publish_workspace,
        "cleanup_staging": store.cleanup_staging,
        "complete_noop_workspace": store.complete_noop_workspace,
    }


__all__ = ["LakeFSRepository", "TaskEnvironment", "TaskRun"]
