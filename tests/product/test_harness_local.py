"""The harness's local-directory store: a directory stands in for a lakeFS branch."""

from __future__ import annotations

from perago.execution import TaskExecutionContext
from perago.models import AttemptSnapshot
from perago.snapshot import diff_snapshots, snapshot_directory
from perago.spec import WorkspaceSpec
from perago.testing.harness_local import LOCAL_REPOSITORY, LocalDirectoryStore, snapshot_digest

ATTEMPT = AttemptSnapshot(task_id="t", workflow_id="w", poll_count=1, retry_count=0, worker_id="me")


def _tree(root, files):
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def test_workspace_is_pinned_to_the_content_digest(tmp_path):
    _tree(tmp_path, {"a.txt": "1"})
    store = LocalDirectoryStore(tmp_path)

    first = store.workspace()
    (tmp_path / "a.txt").write_text("2")

    assert (first.repository, first.branch, first.ref_type) == (LOCAL_REPOSITORY, "main", "commit")
    assert len(first.ref) == 64 and store.workspace().ref != first.ref


def test_download_copies_files_and_symlinks_without_following(tmp_path):
    source, attempt = tmp_path / "src", tmp_path / "attempt"
    _tree(source, {"raw/a.csv": "x", "b.json": "{}"})
    (source / "link").symlink_to("raw/a.csv")
    attempt.mkdir()
    store = LocalDirectoryStore(source)

    assert store.download_workspace(store.workspace(), WorkspaceSpec(), attempt) is None

    assert (attempt / "raw/a.csv").read_text() == "x"
    assert (attempt / "link").is_symlink() and str((attempt / "link").readlink()) == "raw/a.csv"
    assert store.calls == ["download"]


def test_stage_then_publish_applies_added_changed_and_removed(tmp_path):
    source, attempt = tmp_path / "src", tmp_path / "attempt"
    _tree(source, {"keep.txt": "k", "change.txt": "old", "drop.txt": "d"})
    store = LocalDirectoryStore(source)
    workspace = store.workspace()
    attempt.mkdir()
    store.download_workspace(workspace, WorkspaceSpec(), attempt)
    before = snapshot_directory(attempt)
    _tree(attempt, {"change.txt": "new", "new/file.txt": "n"})
    (attempt / "drop.txt").unlink()
    after = snapshot_directory(attempt)
    execution = TaskExecutionContext(
        ATTEMPT,
        "e",
        task_name="t",
        pinned_workspace=workspace,
        diff=diff_snapshots(before, after),
        after=after,
        metadata={"perago.task": "t"},
    )

    staged = store.stage_workspace(attempt, workspace, WorkspaceSpec(), execution)
    commit = store.publish_workspace(staged, workspace, WorkspaceSpec(), execution)

    assert commit == staged.commit == snapshot_digest(after) == store.workspace().ref
    assert sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()) == [
        "change.txt",
        "keep.txt",
        "new/file.txt",
    ]
    assert (source / "change.txt").read_text() == "new"
    assert store.published_metadata == {"perago.task": "t"}
    assert store.calls == ["download", "stage", "publish"]


def test_fence_and_noop(tmp_path):
    store = LocalDirectoryStore(tmp_path)
    workspace = store.workspace()

    assert store.load_current_attempt(ATTEMPT) is ATTEMPT
    execution = TaskExecutionContext(ATTEMPT, "e", pinned_workspace=workspace)
    assert store.complete_noop_workspace(workspace, WorkspaceSpec(), execution) == workspace.ref
    assert store.calls == ["fence", "noop"]
