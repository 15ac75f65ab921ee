"""Publication: merge the staging branch into the target branch, with the attempt's metadata.

What real lakeFS answers (graveler.Merge, committedManager.Merge) and what perago makes of it:

- 429/5xx or a dropped connection: retried with backoff; before each retry the target branch's recent log is
  searched for a commit carrying this attempt's ``perago.execution_id`` -- if the first try landed after all, that
  commit is returned instead of merging twice.
- 400 "no changes": the source's metarange equals the merge base's, i.e. the staged commit is already in the target
  (an earlier try, or the same staging merged before). That is a success: the merge commit that brought it in is
  returned (the target's head when the log no longer shows it). Identical content published by someone else is not
  "no changes" for lakeFS: it makes a merge commit, which is equally a success.
- 400 "uncommitted changes (dirty branch)": someone wrote to the target branch without committing. Not the task's
  fault: retried with backoff, then a retryable error saying what to do.
- 409: a conflict, :class:`~perago.errors.PublishConflictError` naming the paths both sides changed since their
  merge base; terminal when the input was pinned to a commit (the same merge would conflict again), retryable when
  it was a branch or tag (a retry downloads the new head and redoes the work).
- 412: a pre-merge hook refused (terminal, naming the hook's message; see ``client.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

from lakefs_sdk import Merge
from lakefs_sdk.exceptions import ApiException

from perago.errors import LakeFSError, PublishConflictError
from perago.lakefs.client import LakeFSConnection, server_message, translate
from perago.models import StagedWorkspace, WorkspaceInput

RECENT_COMMITS = 50


def find_published(
    conn: LakeFSConnection, repository: str, branch: str, execution_id: str = "", parent: str = ""
) -> str | None:
    """A recent commit on ``branch`` published by this execution (or merging ``parent``), if any."""
    log = conn.call(
        f"read the log of {branch}", lambda: conn.sdk.refs_api.log_commits(repository, branch, amount=RECENT_COMMITS)
    )
    for commit in log.results:
        if execution_id and (commit.metadata or {}).get("perago.execution_id") == execution_id:
            return str(commit.id)
        if parent and parent in (commit.parents or [])[1:]:
            return str(commit.id)
    return None


def _changed(conn: LakeFSConnection, repository: str, left: str, right: str) -> set[str]:
    diff = conn.paged(
        "diff for conflict report", conn.sdk.refs_api.diff_refs, repository, left, right, type="three_dot"
    )
    return {d.path for d in diff}


def conflict_paths(conn: LakeFSConnection, staged: StagedWorkspace, target: str) -> list[str]:
    """Paths changed both on the staging branch and on the target since their merge base."""
    try:
        ours = _changed(conn, staged.repository, target, staged.branch)
        theirs = _changed(conn, staged.repository, staged.branch, target)
    except LakeFSError:
        return []
    return sorted(ours & theirs)


def _already_merged(conn: LakeFSConnection, staged: StagedWorkspace, branch: str, execution_id: str) -> str:
    """The commit that brought ``staged`` into ``branch`` (lakeFS said "no changes": it is there)."""
    found = find_published(conn, staged.repository, branch, execution_id, staged.commit)
    if found is not None:
        return found
    head = conn.call(f"read branch {branch}", lambda: conn.sdk.branches_api.get_branch(staged.repository, branch))
    return str(head.commit_id)


def _dirty(workspace: WorkspaceInput) -> LakeFSError:
    return LakeFSError(
        f"target branch {workspace.branch} of {workspace.repository} has uncommitted changes (someone wrote to it "
        "without committing) and lakeFS refuses to merge into a dirty branch; commit or reset them "
        f"(lakectl branch reset lakefs://{workspace.repository}/{workspace.branch}); the task will be retried",
        retryable=True,
        status=400,
    )


def publish_workspace(
    conn: LakeFSConnection, staged: StagedWorkspace, workspace: WorkspaceInput, metadata: Mapping[str, str], task: str
) -> str:
    """Merge ``staged`` into ``workspace.branch``; returns the merge commit id."""
    body = Merge(message=f"perago: publish {task} ({metadata.get('perago.execution_id', '')})", metadata=dict(metadata))
    execution_id = metadata.get("perago.execution_id", "")
    what = f"merge {staged.branch} into {workspace.repository}/{workspace.branch}"

    def merge() -> str:
        try:
            result = conn.sdk.refs_api.merge_into_branch(staged.repository, staged.branch, workspace.branch, merge=body)
        except ApiException as exc:
            message = server_message(exc)
            if exc.status == 409:
                raise _conflict(conn, staged, workspace) from exc
            if exc.status == 400 and message.endswith("no changes"):
                return _already_merged(conn, staged, workspace.branch, execution_id)
            if exc.status == 400 and "dirty branch" in message:
                raise _dirty(workspace) from exc
            raise translate(exc, what) from exc
        return str(result.reference)

    def landed(error: LakeFSError) -> str | None:
        return find_published(conn, workspace.repository, workspace.branch, execution_id) if execution_id else None

    return conn.retry.run(what, merge, on_retry=landed)


def _conflict(conn: LakeFSConnection, staged: StagedWorkspace, workspace: WorkspaceInput) -> PublishConflictError:
    paths = conflict_paths(conn, staged, workspace.branch)
    listed = ", ".join(paths[:20]) + (f" (+{len(paths) - 20} more)" if len(paths) > 20 else "") if paths else "unknown"
    retryable = workspace.ref_type != "commit"
    advice = (
        "a retry will re-read the branch head" if retryable else "the input is pinned to a commit: rebase the input"
    )
    return PublishConflictError(
        f"publishing to {workspace.repository}/{workspace.branch} conflicted on: {listed}; {advice}",
        paths=paths,
        retryable=retryable,
    )
