"""Plain-function callbacks that record which side effect ran, in which order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from perago.models import AttemptSnapshot, DownloadRecord, StagedWorkspace, StageRequest, WorkspaceInput
from perago.snapshot import record_downloaded_file
from perago.spec import WorkspaceSpec

COMMIT = "a" * 64
MERGE = "b" * 64
ATTEMPT = AttemptSnapshot(task_id="t-1", workflow_id="wf-1", poll_count=1, retry_count=0, worker_id="w-1")
WORKSPACE = {"repository": "songs", "branch": "main", "ref_type": "branch", "ref": "main"}


@dataclass
class Recorder:
    """Records calls; ``fail`` maps a callback name to an exception it raises."""

    files: dict[str, bytes] = field(default_factory=lambda: {"raw/a.csv": b"x,y\n1,2\n", "raw/b.json": b"{}"})
    fail: dict[str, BaseException] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    current: list[AttemptSnapshot | None] = field(default_factory=list)
    staged: list[StageRequest] = field(default_factory=list)
    metadata: list[dict[str, str]] = field(default_factory=list)
    seen_dirs: list[Path] = field(default_factory=list)
    record_digests: bool = True

    def _enter(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise self.fail[name]

    def download_workspace(
        self, workspace: WorkspaceInput, spec: WorkspaceSpec, directory: Path
    ) -> DownloadRecord | None:
        self._enter("download")
        self.seen_dirs.append(directory)
        entries = {}
        for rel, data in self.files.items():
            path = directory / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            import hashlib

            entries[rel] = record_downloaded_file(path, hashlib.sha256(data).hexdigest())
        return DownloadRecord(commit_id=COMMIT, entries=entries if self.record_digests else {})

    def load_current_attempt(self, attempt: AttemptSnapshot) -> AttemptSnapshot | None:
        self._enter("fence")
        return self.current.pop(0) if self.current else attempt

    def stage_workspace(self, request: StageRequest) -> StagedWorkspace:
        self._enter("stage")
        self.staged.append(request)
        return StagedWorkspace(request.workspace.repository, "perago-stg-x", "c" * 64)

    def publish_workspace(self, staged: StagedWorkspace, workspace: WorkspaceInput, metadata: Any) -> str:
        self._enter("publish")
        self.metadata.append(dict(metadata))
        return MERGE

    def cleanup_staging(self, staged: StagedWorkspace) -> None:
        self._enter("cleanup")

    def complete_noop_workspace(self, workspace: WorkspaceInput) -> str:
        self._enter("noop")
        return workspace.ref

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
