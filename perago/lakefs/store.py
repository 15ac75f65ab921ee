"""``LakeFSWorkspaceStore``: the runtime's lakeFS callbacks (DESIGN §3), built from settings.

```python
store = LakeFSWorkspaceStore.from_settings(PeragoSettings())
run_workspace_task_attempt(..., **store.callbacks(), load_current_attempt=..., ...)
```
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from perago.cache import ContentCache
from perago.errors import LakeFSError
from perago.lakefs import download, publish, stage
from perago.lakefs.client import LakeFSConnection
from perago.models import DownloadRecord, StagedWorkspace, StageRequest, WorkspaceInput
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

    def download_workspace(self, workspace: WorkspaceInput, spec: WorkspaceSpec, directory: Path) -> DownloadRecord:
        """Pin the ref, then fetch its objects (only ``spec.paths`` when set) into ``directory``.

        See :mod:`perago.lakefs.download`; the content cache serves what it holds.
        """
        return download.download_workspace(
            self.conn,
            workspace,
            directory,
            self.transfer_workers,
            paths=spec.paths,
            cache=self.cache,
            read_only=spec.read_only,
        )

    def stage_workspace(self, request: StageRequest) -> StagedWorkspace:
        """Put the attempt's changes on a new hidden staging branch and commit them."""
        return stage.stage_workspace(self.conn, request, self.transfer_workers)

    def publish_workspace(self, staged: StagedWorkspace, workspace: WorkspaceInput, metadata: Mapping[str, str]) -> str:
        """Merge the staging branch into the target branch; returns the merge commit id."""
        return publish.publish_workspace(self.conn, staged, workspace, metadata, metadata.get("perago.task", "task"))

    def cleanup_staging(self, staged: StagedWorkspace) -> None:
        """Delete the staging branch (already gone counts as done)."""
        stage.delete_branch_quietly(self.conn, staged.repository, staged.branch)

    def complete_noop_workspace(self, workspace: WorkspaceInput) -> str:
        """Nothing changed: check the target branch exists and return the pinned commit."""
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

    def callbacks(self) -> dict[str, Any]:
        """The five store keyword arguments of ``run_workspace_task_attempt``."""
        return {
            "download_workspace": self.download_workspace,
            "stage_workspace": self.stage_workspace,
            "publish_workspace": self.publish_workspace,
            "cleanup_staging": self.cleanup_staging,
            "complete_noop_workspace": self.complete_noop_workspace,
        }
