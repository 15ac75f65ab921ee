"""Stage an attempt's changes on a hidden staging branch created from the pinned commit.

Only added and changed files are uploaded (in parallel, streamed from disk, each with its SHA-256 as ``sha256``
user metadata, re-hashed on the way so a file that changed after the snapshot is caught); removed files are
bulk-deleted (at most 1,000 paths a call); then one commit with the perago metadata. Symlinks are uploaded as their
target string with ``perago-symlink`` metadata, and only when the target stays inside the workspace. If anything
fails after the branch exists, the branch is deleted before the error propagates.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import IO

from lakefs_sdk import BranchCreation, CommitCreation, PathList

from perago.errors import LakeFSError, UnsafePathError, WorkspaceError
from perago.lakefs.client import LakeFSConnection
from perago.lakefs.naming import staging_branch_name
from perago.lakefs.paths import SYMLINK_METADATA_KEY, symlink_target_is_inside
from perago.models import StagedWorkspace, StageRequest
from perago.snapshot import Entry

MAX_DELETE = 1000


class _HashingReader:
    """Wraps a file so that what is sent is hashed as it is read."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size if size and size > 0 else 1024 * 1024)
        self.digest.update(chunk)
        return chunk


def _upload_once(conn: LakeFSConnection, url: str, path: Path, entry: Entry) -> None:
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Length": str(entry.size),
        "x-lakefs-meta-sha256": entry.sha256,
    }
    if entry.kind == "symlink":
        assert entry.target is not None
        headers[f"x-lakefs-meta-{SYMLINK_METADATA_KEY}"] = entry.target
        response = conn.request("POST", url, api=True, body=entry.target.encode(), headers=headers)
        _check(response.status, response.data)
        return
    with open(path, "rb") as handle:
        reader = _HashingReader(handle)
        response = conn.request("POST", url, api=True, body=reader, headers=headers, preload_content=True)
        _check(response.status, response.data)
    if reader.digest.hexdigest() != entry.sha256:
        raise WorkspaceError(f"{path} changed after the task returned; refusing to publish a torn workspace")


def _check(status: int, data: bytes) -> None:
    if status not in (200, 201):
        raise LakeFSError(
            f"upload returned HTTP {status}: {data[:200].decode(errors='replace')}",
            retryable=status >= 500 or status == 429,
            status=status,
        )


class Stager:
    """Uploads one attempt's changes."""

    def __init__(self, conn: LakeFSConnection, request: StageRequest, branch: str) -> None:
        self.conn, self.request, self.branch = conn, request, branch

    def upload(self, rel: str) -> None:
        """Upload one added or changed path (retried on transient failures)."""
        entry = self.request.after[rel]
        if entry.kind == "symlink" and not symlink_target_is_inside(rel, entry.target or ""):
            raise UnsafePathError(
                f"symlink {rel!r} points outside the workspace ({entry.target!r}); refused, not followed"
            )
        repo = self.conn.quote(self.request.workspace.repository)
        url = self.conn.api_url(f"/repositories/{repo}/branches/{self.branch}/objects", path=rel)
        local = self.request.directory.joinpath(*rel.split("/"))
        self.conn.retry.run(f"upload {rel} to {self.branch}", lambda: _upload_once(self.conn, url, local, entry))

    def delete(self, paths: list[str]) -> None:
        """Bulk-delete removed paths, at most 1,000 a call."""
        repo = self.request.workspace.repository
        for start in range(0, len(paths), MAX_DELETE):
            chunk = paths[start : start + MAX_DELETE]
            self.conn.call(
                f"delete {len(chunk)} object(s) on {self.branch}",
                partial(self.conn.sdk.objects_api.delete_objects, repo, self.branch, PathList(paths=chunk)),
            )


def stage_workspace(conn: LakeFSConnection, request: StageRequest, workers: int) -> StagedWorkspace:
    """Create the staging branch, upload, delete, commit; returns the staged commit."""
    repo = request.workspace.repository
    branch = staging_branch_name(request.attempt.workflow_id, request.task_name, request.execution_id)
    creation = BranchCreation(name=branch, source=request.workspace.ref, hidden=True)
    conn.call(f"create staging branch {branch} in {repo}", lambda: conn.sdk.branches_api.create_branch(repo, creation))
    try:
        stager = Stager(conn, request, branch)
        upserts = list(request.diff.upserted)
        if upserts:
            with ThreadPoolExecutor(max_workers=min(workers, len(upserts)), thread_name_prefix="perago-put") as pool:
                list(pool.map(stager.upload, upserts))
        stager.delete(list(request.diff.removed))
        message = f"perago: {request.task_name} ({request.execution_id})"
        body = CommitCreation(message=message, metadata=dict(request.metadata))
        commit = conn.call(f"commit staging branch {branch}", lambda: conn.sdk.commits_api.commit(repo, branch, body))
    except BaseException:
        delete_branch_quietly(conn, repo, branch)
        raise
    return StagedWorkspace(repository=repo, branch=branch, commit=str(commit.id))


def delete_branch_quietly(conn: LakeFSConnection, repository: str, branch: str) -> None:
    """Delete a branch; a missing branch counts as deleted."""
    try:
        conn.call(f"delete branch {branch}", lambda: conn.sdk.branches_api.delete_branch(repository, branch))
    except LakeFSError as exc:
        if exc.status != 404:
            raise
