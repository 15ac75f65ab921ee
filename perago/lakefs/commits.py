"""One lakeFS commit as plain JSON, for ``python -m perago explain``."""

from __future__ import annotations

from typing import Any

from perago.lakefs.client import LakeFSConnection


def read_commit(conn: LakeFSConnection, repository: str, ref: str) -> dict[str, Any]:
    """The commit ``ref`` resolves to (a commit id, branch, tag or expression such as ``main~1``).

    lakeFS's ``GET /repositories/{repo}/commits/{ref}`` dereferences any ref (``Catalog.GetCommit``).

    Raises:
        LakeFSError: No such repository or ref (status 404), or lakeFS could not be read.
    """
    commit = conn.call(
        f"read commit {ref} of repository {repository}", lambda: conn.sdk.commits_api.get_commit(repository, ref)
    )
    return {
        "id": commit.id,
        "parents": list(commit.parents or []),
        "committer": commit.committer,
        "message": commit.message,
        "creation_date": commit.creation_date,
        "metadata": dict(commit.metadata or {}),
    }
