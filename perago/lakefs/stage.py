"""Stage an attempt's changes on a hidden staging branch created from the pinned commit.

Only added and changed files are uploaded (in parallel, see ``upload.py``); removed files are bulk-deleted; then one
commit with the perago metadata. If anything fails after the branch may exist, the branch is deleted before the
error propagates -- even when its creation seemed to fail, since a creation whose answer was lost did happen.

Every call may be retried after its first try was applied and its answer lost, and real lakeFS then refuses the
retry: a branch that exists is 409 (graveler.CreateBranch ErrBranchExists), a commit with nothing left staged is 400
(graveler.Commit ErrNoChanges). So a 409 on creation is accepted when the branch is ours (at the pinned commit,
nothing staged), and a retried commit first looks for our commit at the branch head (its ``perago.execution_id``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial

from lakefs_sdk import BranchCreation, CommitCreation
from lakefs_sdk.exceptions import ApiException
from loguru import logger

from perago.errors import LakeFSError
from perago.lakefs.client import LakeFSConnection, server_message
from perago.lakefs.naming import staging_branch_name
from perago.lakefs.upload import Uploader
from perago.models import StagedWorkspace, StageRequest


def create_branch(conn: LakeFSConnection, repository: str, branch: str, source: str) -> None:
    """Create a hidden branch at commit ``source``; an existing one that is ours (a lost answer) is accepted."""

    def once() -> None:
        try:
            conn.sdk.branches_api.create_branch(repository, BranchCreation(name=branch, source=source, hidden=True))
        except ApiException as exc:
            if exc.status != 409 or not _is_fresh(conn, repository, branch, source):
                raise

    conn.call(f"create staging branch {branch} in {repository}", once)


def _is_fresh(conn: LakeFSConnection, repository: str, branch: str, source: str) -> bool:
    """The branch exists at ``source`` with nothing staged: our own creation whose answer was lost.

    Its reads retry transient failures themselves (a 502 here must not turn our own branch into a terminal 409).
    """
    head = conn.call(f"read branch {branch}", lambda: conn.sdk.branches_api.get_branch(repository, branch)).commit_id
    staged = conn.call(
        f"read the changes staged on {branch}", lambda: conn.sdk.branches_api.diff_branch(repository, branch, amount=1)
    ).results
    return bool(head == source or head.startswith(source)) and not staged


def commit_branch(conn: LakeFSConnection, request: StageRequest, branch: str, base: str) -> str:
    """Commit the staging branch; a retry whose first try landed returns that commit instead."""
    repo, execution_id = request.workspace.repository, request.execution_id
    body = CommitCreation(message=f"perago: {request.task_name} ({execution_id})", metadata=dict(request.metadata))

    def ours() -> str | None:
        head = conn.call(f"read the head of {branch}", lambda: conn.sdk.commits_api.get_commit(repo, branch))
        mine = (head.metadata or {}).get("perago.execution_id") == execution_id and head.id != base
        return str(head.id) if mine else None

    def ours_if_known() -> str | None:
        try:
            return ours()
        except LakeFSError:
            return None  # not known yet: the commit is tried again

    def once() -> str:
        try:
            return str(conn.sdk.commits_api.commit(repo, branch, body).id)
        except ApiException as exc:
            if exc.status == 400 and "no changes" in server_message(exc) and (found := ours()) is not None:
                return found
            raise

    return conn.retry.run(f"commit staging branch {branch}", once, on_retry=lambda _: ours_if_known())


def stage_workspace(conn: LakeFSConnection, request: StageRequest, workers: int) -> StagedWorkspace:
    """Create the staging branch, upload, delete, commit; returns the staged commit."""
    repo = request.workspace.repository
    branch = staging_branch_name(request.attempt.workflow_id, request.task_name, request.execution_id)
    base = request.workspace.ref
    try:
        create_branch(conn, repo, branch, base)
        uploader = Uploader(conn, repo, branch, request.directory)
        upserts = list(request.diff.upserted)
        if upserts:
            with ThreadPoolExecutor(max_workers=min(workers, len(upserts)), thread_name_prefix="perago-put") as pool:
                list(pool.map(lambda rel: uploader.upload(rel, request.after[rel]), upserts))
        uploader.delete(list(request.diff.removed))
        commit = commit_branch(conn, request, branch, base)
    except BaseException:
        remove_branch(conn, repo, branch)
        raise
    return StagedWorkspace(repository=repo, branch=branch, commit=commit)


def delete_branch_quietly(conn: LakeFSConnection, repository: str, branch: str) -> None:
    """Delete a branch; a missing branch counts as deleted."""
    try:
        conn.call(f"delete branch {branch}", partial(conn.sdk.branches_api.delete_branch, repository, branch))
    except LakeFSError as exc:
        if exc.status != 404:
            raise


def remove_branch(conn: LakeFSConnection, repository: str, branch: str) -> None:
    """Best-effort removal after a failure: never hides the original error (the janitor collects what remains)."""
    try:
        delete_branch_quietly(conn, repository, branch)
    except LakeFSError as exc:
        logger.warning("could not delete staging branch {} of {}: {}", branch, repository, exc)
