"""Scenario 5: staging a small edit (1 changed + 1 deleted of 2,000 files) vs re-uploading the workspace."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from bench.common import Report, Row, Target, median_time, scratch


def run(smoke: bool) -> Report:
    from perago.execution import TaskExecutionContext
    from perago.lakefs.store import LakeFSWorkspaceStore
    from perago.models import AttemptSnapshot, StagedWorkspace, WorkspaceInput
    from perago.settings import PeragoSettings
    from perago.snapshot import SnapshotDiff, diff_snapshots, snapshot_directory
    from perago.spec import WorkspaceSpec
    from perago.testing.lakefs import LakeFSEmulator

    count = 100 if smoke else 2000
    report = Report("5. Staging a small edit")
    attempt = AttemptSnapshot(task_id="t", workflow_id="wf", poll_count=1, retry_count=0, worker_id="w")
    with LakeFSEmulator() as emu, scratch() as tmp:
        repo = emu.create_repository("stage")
        for i in range(count):
            repo.branches["main"].staging[f"d{i % 10}/f{i:05}.bin"] = emu.api.store(
                repo, os.urandom(4096), {}, "application/octet-stream"
            )
        commit = repo.commit_branch("main", "seed", {}, False).id
        settings = PeragoSettings(
            lakefs_endpoint=emu.endpoint,
            lakefs_access_key_id=emu.access_key_id,
            lakefs_secret_access_key=emu.secret_access_key,
            transfer_workers=16,
        )
        store = LakeFSWorkspaceStore.from_settings(settings)
        workspace = WorkspaceInput(repository="stage", branch="main", ref_type="commit", ref=commit)
        root: Path = tmp / "ws"
        root.mkdir()
        record = store.download_workspace(workspace, WorkspaceSpec(), root)
        paths = sorted(record.entries)
        (root / paths[0]).write_bytes(os.urandom(4096))
        (root / paths[1]).unlink()
        after = snapshot_directory(root, previous=record.entries)

        spec = WorkspaceSpec()

        def stage(diff: SnapshotDiff) -> StagedWorkspace:
            # The seed's callback shape: what perago adds (diff, after-snapshot, pinned input) rides on `execution`.
            execution = TaskExecutionContext(
                attempt, uuid.uuid4().hex[:12], task_name="bench", pinned_workspace=workspace, diff=diff, after=after
            )
            return store.stage_workspace(root, workspace, spec, execution)

        small = diff_snapshots(record.entries, after)
        everything = SnapshotDiff(changed=tuple(sorted(after)), removed=small.removed)
        emu.reset_requests()
        stage(small)
        ours_requests = emu.request_count()
        emu.reset_requests()
        stage(everything)
        their_requests = emu.request_count()
        repeat = 1 if smoke else 3
        ours = median_time(lambda: stage(small), repeat)
        theirs = median_time(lambda: stage(everything), repeat)
    report.rows += [
        Row(
            f"requests to a committed staging branch ({count} files)",
            ours_requests,
            their_requests,
            "requests",
            "re-upload",
        ),
        Row("time to a committed staging branch", ours, theirs, "s", "re-upload all files"),
    ]
    report.targets += [
        Target("requests for 1 changed + 1 deleted file (O(changed))", ours_requests, 5, higher_is_better=False),
        Target("speed-up over re-uploading the workspace", theirs / ours, 20.0),
    ]
    report.notes.append(
        "requests: create branch, 1 upload, 1 bulk delete, 1 commit; the re-upload baseline uses perago's own parallel uploader"
    )
    return report
