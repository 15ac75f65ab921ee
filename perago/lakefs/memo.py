"""Memo records in lakeFS: one hidden branch per memoized call, ``perago-memo-<key>`` (DESIGN §5).

The branch's head is an empty commit (the *memo commit*) whose first parent is the call's output commit and whose
metadata is the record (:meth:`perago.memo.MemoRecord.metadata`). Why a branch, not a tag: lakeFS's garbage
collector starts from branch heads — hidden ones included — and from dangling commits, never from tags
(retention.GetGarbageCollectionCommits over ref.Manager.GCBranchIterator with ShowHidden and GCCommitIterator), and
a branch head is always kept. The memo commit has the output commit's tree, so every object of the output
workspace stays referenced for as long as the memo branch exists.

- Lookup: one ``GET /repositories/{repo}/commits/perago-memo-<key>`` (catalog.GetCommit dereferences any ref);
  404 is a miss. A branch or tag input costs one more request first, to resolve its head commit.
- Record: an empty commit with the record on a temporary hidden branch from the output commit, then the memo
  branch created from that commit (creation is atomic: an existing branch answers 409, and the record already
  there stands), then the temporary branch deleted. Its name has the staging prefix, so ``python -m perago
  janitor`` removes one a killed worker left behind.
- Expiry: ``python -m perago janitor --memos-older-than 30d`` deletes memo branches older than that (optionally
  for one task); deleting a memo branch by hand (``lakectl branch delete``) forgets that one call.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import partial

from lakefs_sdk import BranchCreation, CommitCreation

from perago.errors import LakeFSError
from perago.lakefs.client import LakeFSConnection
from perago.lakefs.download import resolve_commit
from perago.lakefs.naming import staging_branch_name
from perago.lakefs.stage import create_branch, delete_branch_quietly
from perago.memo import MemoRecord
from perago.models import WorkspaceInput

MEMO_PREFIX = "perago-memo-"
_FULL_COMMIT = re.compile(r"^[0-9a-f]{64}$")


def memo_branch(key: str) -> str:
    """The hidden branch that holds the memo of ``key``."""
    return f"{MEMO_PREFIX}{key}"


class LakeFSMemo:
    """Memo lookups and records against one lakeFS."""

    def __init__(self, conn: LakeFSConnection) -> None:
        self.conn = conn

    def resolve(self, workspace: WorkspaceInput) -> str:
        """The commit id the input reads: a full commit id as given (no request), else its head (one request).

        Raises:
            LakeFSError: The ref does not exist (404) or lakeFS failed.
        """
        if workspace.ref_type == "commit" and _FULL_COMMIT.match(workspace.ref):
            return workspace.ref
        return resolve_commit(self.conn, workspace)

    def lookup(self, repository: str, key: str) -> MemoRecord | None:
        """The memo of ``key``, or None (no memo branch, or one that holds no record of this key)."""
        try:
            commit = self.conn.call(
                f"read memo {key[:12]} in {repository}",
                lambda: self.conn.sdk.commits_api.get_commit(repository, memo_branch(key)),
            )
        except LakeFSError as exc:
            if exc.status == 404:
                return None
            raise
        return MemoRecord.from_metadata(key, dict(commit.metadata or {}))

    def record(
        self, repository: str, record: MemoRecord, metadata: dict[str, str], workflow_id: str, execution_id: str
    ) -> bool:
        """Store ``record`` (``metadata`` is its commit metadata); False when a record of that key was there first."""
        temporary = staging_branch_name(workflow_id, "memo", execution_id)
        # stage.create_branch accepts its own creation whose answer was lost, so a retried creation is no 409
        create_branch(self.conn, repository, temporary, record.output_ref)
        try:
            body = CommitCreation(message=f"perago memo {record.key}", metadata=metadata, allow_empty=True)
            commit = self.conn.call(
                f"commit memo {record.key[:12]}",
                lambda: self.conn.sdk.commits_api.commit(repository, temporary, body),
            )
            memo = BranchCreation(name=memo_branch(record.key), source=str(commit.id), hidden=True)
            try:
                self.conn.call(
                    f"create branch {memo.name}", lambda: self.conn.sdk.branches_api.create_branch(repository, memo)
                )
            except LakeFSError as exc:
                if exc.status != 409:
                    raise
                return False
            return True
        finally:
            delete_branch_quietly(self.conn, repository, temporary)

    def memo_branches(self, repository: str) -> list[tuple[str, str]]:
        """Every memo branch of ``repository`` with its head commit, hidden ones included."""
        listing = self.conn.sdk.branches_api.list_branches
        what = f"list memo branches of {repository}"
        refs = self.conn.paged(what, listing, repository, prefix=MEMO_PREFIX, show_hidden=True)
        return [(ref.id, ref.commit_id) for ref in refs]

    def expire(
        self,
        repository: str,
        older_than: timedelta,
        *,
        task: str | None = None,
        now: datetime | None = None,
        dry_run: bool = False,
    ) -> list[str]:
        """Delete (or, with ``dry_run``, list) memo branches whose record is older than ``older_than``."""
        cutoff = (now or datetime.now(UTC)) - older_than
        expired: list[str] = []
        for name, commit_id in self.memo_branches(repository):
            commit = self.conn.call(
                f"read memo {name}", partial(self.conn.sdk.commits_api.get_commit, repository, commit_id)
            )
            born = datetime.fromtimestamp(commit.creation_date, tz=UTC)
            if born < cutoff and (task is None or (commit.metadata or {}).get("perago.task") == task):
                expired.append(name)
        if not dry_run:
            for name in expired:
                delete_branch_quietly(self.conn, repository, name)
        return expired


__all__ = ["MEMO_PREFIX", "LakeFSMemo", "memo_branch"]
