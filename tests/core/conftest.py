"""Plain-function callbacks with the seed's parameter lists, recording which side effect ran, in which order.

``attempt_kind`` parametrizes a test over the three kinds of attempt the seed's API accepts: perago's own
:class:`AttemptSnapshot`, a conductor-python ``Task`` as polled, and a plain ``SimpleNamespace``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conductor.client.http.models.task import Task

from perago import TaskExecutionContext
from perago.models import AttemptSnapshot, DownloadRecord, StagedWorkspace, WorkspaceInput
from perago.snapshot import record_downloaded_file
from perago.spec import WorkspaceSpec

COMMIT = "a" * 64
MERGE = "b" * 64
ATTEMPT = AttemptSnapshot(task_id="t-1", workflow_id="wf-1", poll_count=1, retry_count=0, worker_id="w-1")
WORKSPACE = {"repository": "songs", "branch": "main", "ref_type": "branch", "ref": "main"}
ATTEMPT_KINDS = ("snapshot", "conductor_task", "namespace")


def make_attempt(kind: str = "snapshot", **changes: Any) -> Any:
    """The attempt ``t-1`` of workflow ``wf-1`` (poll 1, worker ``w-1``, IN_PROGRESS), as ``kind``, with changes."""
    values: dict[str, Any] = {
        "task_id": "t-1",
        "workflow_id": "wf-1",
        "poll_count": 1,
        "retry_count": 0,
        "worker_id": "w-1",
        "status": "IN_PROGRESS",
        "reference_task_name": "write_step",
    } | changes
    if kind == "snapshot":
        return AttemptSnapshot(**values)
    workflow_id = values.pop("workflow_id")
    if kind == "conductor_task":
        return Task(workflow_instance_id=workflow_id, task_def_name="writer", task_type="writer", **values)
    return SimpleNamespace(workflow_instance_id=workflow_id, **values)


@dataclass
class Recorder:
    """Records calls; ``fail`` maps a callback name to an exception it raises."""

    files: dict[str, bytes] = field(default_factory=lambda: {"raw/a.csv": b"x,y\n1,2\n", "raw/b.json": b"{}"})
    fail: dict[str, BaseException] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    current: list[Any] = field(default_factory=list)
    executions: list[TaskExecutionContext] = field(default_factory=list)
    seen_dirs: list[Path] = field(default_factory=list)
    record_digests: bool = True

    def _enter(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise self.fail[name]

    def download_workspace(
        self, workspace_input: WorkspaceInput, workspace_spec: WorkspaceSpec, workspace_dir: Path
    ) -> DownloadRecord | None:
        self._enter("download")
        self.seen_dirs.append(workspace_dir)
        entries = {}
        for rel, data in self.files.items():
            path = workspace_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            entries[rel] = record_downloaded_file(path, hashlib.sha256(data).hexdigest())
        return DownloadRecord(commit_id=COMMIT, entries=entries if self.record_digests else {})

    def load_current_attempt(self, attempt: object) -> object:
        self._enter("fence")
        return self.current.pop(0) if self.current else attempt

    def stage_workspace(
        self, workspace_dir: Path, workspace_input: WorkspaceInput, workspace_spec: WorkspaceSpec, execution: Any
    ) -> StagedWorkspace:
        self._enter("stage")
        self.executions.append(execution)
        return StagedWorkspace(workspace_input.repository, "perago-stg-x", "c" * 64)

    def publish_workspace(
        self, staged: StagedWorkspace, workspace_input: WorkspaceInput, workspace_spec: WorkspaceSpec, execution: Any
    ) -> str:
        self._enter("publish")
        self.executions.append(execution)
        return MERGE

    def cleanup_staging(self, staged: StagedWorkspace) -> None:
        self._enter("cleanup")

    def complete_noop_workspace(
        self, workspace_input: WorkspaceInput, workspace_spec: WorkspaceSpec, execution: Any
    ) -> str:
        self._enter("noop")
        self.executions.append(execution)
        return str(execution.pinned_workspace.ref)

    def callbacks(self, *, noop: bool = True) -> dict[str, Callable[..., Any]]:
        out: dict[str, Callable[..., Any]] = {
            "download_workspace": self.download_workspace,
            "load_current_attempt": self.load_current_attempt,
            "stage_workspace": self.stage_workspace,
            "publish_workspace": self.publish_workspace,
            "cleanup_staging": self.cleanup_staging,
        }
        if noop:
            out["complete_noop_workspace"] = self.complete_noop_workspace
        return out


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(params=ATTEMPT_KINDS)
def attempt_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)
