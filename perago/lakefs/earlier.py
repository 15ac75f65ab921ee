"""Work already published by an earlier attempt of the same workflow step (DESIGN §2 "Exactly-once effect").

A worker killed after its last fence can still have its merge applied; Conductor then retries the step as a new
task. Before running (and again right before merging), such a retry looks on its target branch for a merge whose
metadata names the same workflow, the same step (``perago.task_ref``) and a task id of the same retry chain, and
completes with it instead of publishing again.

The scan is bounded: the branch's own history only (``first_parent``: perago's merges are commits of the target
branch), no older than the chain's first scheduled time less :data:`CLOCK_SKEW_S` (lakeFS dates commits with its
own clock, Conductor schedules with its), and, for a commit input, no further back than the input commit
(``stop_at``). lakeFS prunes the walk at ``since`` (graveler/ref/commit_iterator.go) and stops at ``stop_at``
(catalog.ListCommits): on the common path this is one request.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from perago.errors import LakeFSError
from perago.execution import EarlierResult, StepChain
from perago.lakefs.client import LakeFSConnection
from perago.models import WorkspaceInput

CLOCK_SKEW_S = 300
"""How much earlier than Conductor's scheduled time a merge is still looked for (servers' clocks differ)."""


def _since(chain: StepChain) -> datetime | None:
    if chain.since_ms <= 0:
        return None
    return datetime.fromtimestamp(chain.since_ms / 1000 - CLOCK_SKEW_S, tz=UTC)


def find_step_publication(conn: LakeFSConnection, workspace: WorkspaceInput, chain: StepChain) -> EarlierResult | None:
    """The newest merge on ``workspace.branch`` published by ``chain``, with the result it reported, if any.

    Raises:
        LakeFSError: The log could not be read (a missing target branch reads as "nothing published").
    """
    stop_at = workspace.ref if workspace.ref_type == "commit" else None
    log = conn.paged(
        f"read the log of {workspace.branch} for earlier work of step {chain.task_ref}",
        conn.sdk.refs_api.log_commits,
        workspace.repository,
        workspace.branch,
        first_parent=True,
        since=_since(chain),
        stop_at=stop_at,
    )
    try:
        for commit in log:
            metadata = dict(commit.metadata or {})
            if chain.published(metadata):
                return _earlier(commit.id, metadata)
            if stop_at is not None and commit.id == stop_at:
                return None
    except LakeFSError as exc:
        if exc.status == 404:
            return None
        raise
    return None


def _earlier(commit_id: str, metadata: dict[str, str]) -> EarlierResult:
    try:
        result = json.loads(metadata["perago.result"])
    except (KeyError, ValueError) as exc:
        raise LakeFSError(
            f"merge {commit_id} was published by an earlier attempt of this step (task "
            f"{metadata.get('perago.task_id')}) but carries no readable perago.result; refusing to publish the step "
            "twice: complete the task by hand with that commit, or rerun the workflow from this step",
            retryable=False,
        ) from exc
    source = f"retry chain: task {metadata.get('perago.task_id')} already published it"
    return EarlierResult(ref=str(commit_id), result=result, source=source)
