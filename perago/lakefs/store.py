"""``LakeFSWorkspaceStore``: the runtime's lakeFS callbacks (DESIGN §3), built from settings.

```python
store = LakeFSWorkspaceStore.from_settings(PeragoSettings())
run_workspace_task_attempt(..., **store.callbacks(), load_current_attempt=..., ...)
```

Each method has the seed's callback shape (:mod:`perago.execution`). What the store needs beyond the seed's
arguments — the pinned commit, the diff, the after-snapshot, the ``perago.*`` metadata — it reads from the
``execution`` context the runtime passes, so nothing is listed or hashed twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perago.cache import ContentCache
from perago.errors import LakeFSError
from perago.execution import EarlierResult, StepChain, TaskExecutionContext, staging_request
from perago.lakefs import download, earlier, publish, stage
from perago.lakefs.client import LakeFSConnection
from perago.models import DownloadRecord, StagedWorkspace, WorkspaceInput
from perago.settings import PeragoSettings
from perago.spec import WorkspaceSpec


class LakeFSWorkspaceStore:
    """Download, stage, publish, no-op completion and cleanup against one lakeFS."""

    def __init__(self, conn: LakeFSConnection, transfer_workers: int = 16, cache: ContentCache | None = None) -> None:
        self.conn = conn
        self.transfer_workers = transfer_workers
        self.cache = cache

    @classmethod
    def from_settings(
        cls, settings: PeragoSettings, *, sleep: Callable[[float], None] = time.sleep
    ) -> LakeFSWorkspaceStore:
        """A store for ``LAKECTL_*`` endpoint and credentials, ``PERAGO_TRANSFER_WORKERS``, retry and cache settings."""
        return cls(
            LakeFSConnection(settings, sleep=sleep), settings.transfer_workers, ContentCache.from_settings(settings)
        )

    def download_workspace(
        self, workspace_input: WorkspaceInput, workspace_spec: WorkspaceSpec, workspace_dir: Path
    ) -> DownloadRecord:
        """Pin the ref, then fetch its objects (only ``workspace_spec.paths`` when set) into ``workspace_dir``.

        See :mod:`perago.lakefs.download`; the content cache serves what it holds.
        """
        return download.download_workspace(
            self.conn,
            workspace_input,
            workspace_dir,
            self.transfer_workers,
            paths=workspace_spec.paths,
            cache=self.cache,
            read_only=workspace_spec.read_only,
        )

    def stage_workspace(
        self,
        workspace_dir: Path,
        workspace_input: WorkspaceInput,
        workspace_spec: WorkspaceSpec,
        execution: TaskExecutionContext,
    ) -> StagedWorkspace:
        """Put the attempt's changes on a new hidden staging branch from the pinned commit, and commit them."""
        request = staging_request(workspace_dir, workspace_input, execution)
        return stage.stage_workspace(self.conn, request, self.transfer_workers)

    def publish_workspace(
        self,
        staged: StagedWorkspace,
        workspace_input: WorkspaceInput,
        workspace_spec: WorkspaceSpec,
        execution: TaskExecutionContext,
    ) -> str:
        """Merge the staging branch into the target branch with the attempt's metadata; returns the merge commit."""
        metadata = execution.metadata
        return publish.publish_workspace(self.conn, staged, workspace_input, metadata, execution.task_name or "task")

    def cleanup_staging(self, staged: StagedWorkspace) -> None:
        """Delete the staging branch (already gone counts as done)."""
        stage.delete_branch_quietly(self.conn, staged.repository, staged.branch)

    def complete_noop_workspace(
        self, workspace_input: WorkspaceInput, workspace_spec: WorkspaceSpec, execution: TaskExecutionContext
    ) -> str:
        """Nothing changed: check the target branch exists and return the pinned input commit."""
        workspace = execution.pinned_workspace or workspace_input
        try:
            self.conn.call(
                f"read branch {workspace.branch} of {workspace.repository}",
                lambda: self.conn.sdk.branches_api.get_branch(workspace.repository, workspace.branch),
            )
        except LakeFSError as exc:
            if exc.status == 404:
                raise LakeFSError(
                    f"target branch {workspace.branch} does not exist in {workspace.repository}",
                    retryable=False,
                    status=404,
                ) from exc
            raise
        return workspace.ref

    def find_step_publication(self, workspace_input: WorkspaceInput, chain: StepChain) -> EarlierResult | None:
        """A merge on the target branch by an earlier attempt of ``chain`` (see :mod:`perago.lakefs.earlier`)."""
        return earlier.find_step_publication(self.conn, workspace_input, chain)

    def callbacks(self) -> dict[str, Any]:
        """The five store keyword arguments of ``run_workspace_task_attempt``."""
        return {
            "download_workspace": self.download_workspace,
            "stage_workspace": self.stage_workspace,
            "publish_workspace": self.publish_workspace,
            "cleanup_staging": self.cleanup_staging,
            "complete_noop_workspace": self.complete_noop_workspace,
        }
