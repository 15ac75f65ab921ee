"""The harness's local-directory store: a directory plays the part of a lakeFS branch.

Download copies the directory (only the sparse set of ``WorkspaceSpec.paths`` when given) into the attempt
directory; staging remembers the attempt's changes; publishing applies them back to the directory. Commit ids are
the SHA-256 of the directory's snapshot, so a run's output ref names exactly the content it published.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from perago.execution import TaskExecutionContext, staging_request
from perago.lakefs.paths import refuse_outward_symlink
from perago.models import DownloadRecord, StagedWorkspace, StageRequest, WorkspaceInput
from perago.snapshot import Snapshot, SnapshotDiff, snapshot_directory
from perago.sparse import SparseSelection
from perago.spec import WorkspaceSpec

LOCAL_REPOSITORY = "local-workspace"


def snapshot_digest(snapshot: Snapshot) -> str:
    """A 64-hex id of a snapshot's content (paths, kinds, SHA-256s)."""
    digest = hashlib.sha256()
    for path in sorted(snapshot):
        entry = snapshot[path]
        digest.update(f"{path}\0{entry.kind}\0{entry.sha256}\n".encode())
    return digest.hexdigest()


def _copy_entry(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    if source.is_symlink():
        target.symlink_to(os.readlink(source))
    else:
        shutil.copyfile(source, target)


class LocalDirectoryStore:
    """Runtime callbacks over a local directory (the "branch").

    Attributes:
        directory: The directory that is read and, on publication, updated.
        calls: The callbacks that ran, in order (``download``, ``stage``, ``publish``, ...).
        staged_request: What the last ``stage`` call received (diff, after-snapshot, metadata).
        published_metadata: The metadata of the last publication.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.calls: list[str] = []
        self.staged_request: StageRequest | None = None
        self.published_metadata: dict[str, str] | None = None

    def workspace(self) -> WorkspaceInput:
        """The directory's current content as a pinned workspace input."""
        ref = snapshot_digest(snapshot_directory(self.directory))
        return WorkspaceInput(repository=LOCAL_REPOSITORY, branch="main", ref_type="commit", ref=ref)

    def download_workspace(
        self, workspace_input: WorkspaceInput, workspace_spec: WorkspaceSpec, workspace_dir: Path
    ) -> DownloadRecord | None:
        self.calls.append("download")
        paths = workspace_spec.paths
        selection = SparseSelection(paths) if paths is not None else None
        for source in sorted(self.directory.rglob("*")):
            rel = source.relative_to(self.directory)
            if (source.is_file() or source.is_symlink()) and (selection is None or selection.includes(rel.as_posix())):
                _copy_entry(source, workspace_dir / rel)
        return None

    def load_current_attempt(self, attempt: object) -> object:
        self.calls.append("fence")
        return attempt

    def stage_workspace(
        self,
        workspace_dir: Path,
        workspace_input: WorkspaceInput,
        workspace_spec: WorkspaceSpec,
        execution: TaskExecutionContext,
    ) -> StagedWorkspace:
        self.calls.append("stage")
        request = staging_request(workspace_dir, workspace_input, execution)
        _refuse_what_lakefs_refuses(request)
        self.staged_request = request
        commit = snapshot_digest(request.after)
        return StagedWorkspace(repository=LOCAL_REPOSITORY, branch="perago-stg-harness", commit=commit)

    def publish_workspace(
        self,
        staged: StagedWorkspace,
        workspace_input: WorkspaceInput,
        workspace_spec: WorkspaceSpec,
        execution: TaskExecutionContext,
    ) -> str:
        self.calls.append("publish")
        request = self.staged_request
        assert request is not None, "publish_workspace called before stage_workspace"
        _apply(request.diff, request.directory, self.directory)
        self.published_metadata = dict(execution.metadata)
        return staged.commit

    def cleanup_staging(self, staged: StagedWorkspace) -> None:
        self.calls.append("cleanup")

    def complete_noop_workspace(
        self, workspace_input: WorkspaceInput, workspace_spec: WorkspaceSpec, execution: TaskExecutionContext
    ) -> str:
        self.calls.append("noop")
        return (execution.pinned_workspace or workspace_input).ref


def _refuse_what_lakefs_refuses(request: StageRequest) -> None:
    """The lakeFS store refuses a symlink pointing out of the workspace; so does the local directory."""
    for path in request.diff.upserted:
        refuse_outward_symlink(path, request.after[path])


def _apply(diff: SnapshotDiff, source: Path, target: Path) -> None:
    for path in (*diff.added, *diff.changed):
        _copy_entry(source / path, target / path)
    for path in diff.removed:
        (target / path).unlink(missing_ok=True)
