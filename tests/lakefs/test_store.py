"""The lakeFS workspace store against the emulator: round trips, minimal uploads, safety, faults, conflicts."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from perago.errors import LakeFSError, PublishConflictError, UnsafePathError
from perago.execution import TaskExecutionContext
from perago.spec import WorkspaceSpec
from tests.lakefs.conftest import ATTEMPT, REPO, Lake, publish, request_for, stage, tree

BIG = os.urandom(50 * 1024 * 1024)
FILES = {
    "raw/2024/01/a.csv": b"x,y\n1,2\n",
    "raw/empty.txt": b"",
    "names/with space/ünïcødé 名前.json": b'{"ok": true}',
    "big/blob.bin": BIG,
}


SPEC = WorkspaceSpec()


def test_round_trip_uploads_only_changes(lake: Lake, tmp_path: Path) -> None:
    seed = lake.put(FILES)
    root = tmp_path / "ws"
    root.mkdir()
    record = lake.store.download_workspace(lake.workspace(), WorkspaceSpec(), root)
    assert record.commit_id == seed
    assert tree(root) == FILES
    assert record.entries["big/blob.bin"].sha256 == hashlib.sha256(BIG).hexdigest()
    assert record.bytes_downloaded == sum(len(v) for v in FILES.values())
    assert not list(root.rglob("*.perago-part-*"))

    (root / "raw/2024/01/a.csv").write_bytes(b"x,y\n1,3\n")
    (root / "raw/new.txt").write_bytes(b"new")
    (root / "raw/empty.txt").unlink()
    lake.emu.reset_requests()
    staged = stage(lake, request_for(lake, root, dict(record.entries), seed))
    assert lake.emu.request_count("uploadObject") == 2
    assert lake.emu.request_count("deleteObjects") == 1
    assert staged.branch.startswith("perago-stg-") and staged.branch in lake.branches()
    staged_commit = lake.get(f"/repositories/{REPO}/commits/{staged.commit}")
    assert staged_commit["metadata"]["perago.execution_id"] == "exec-1"

    execution = request_for(lake, root, dict(record.entries), seed)
    metadata = execution.metadata
    merge = publish(lake, staged, lake.workspace(), execution)
    head = lake.log()[0]
    assert head["id"] == merge and head["parents"][1] == staged.commit
    assert head["metadata"] == {**metadata, ".lakefs.merge.strategy": "default"}  # graveler.Merge adds the strategy
    lake.store.cleanup_staging(staged)
    lake.store.cleanup_staging(staged)  # already gone counts as done
    assert staged.branch not in lake.branches()

    again = tmp_path / "again"
    again.mkdir()
    lake.store.download_workspace(lake.workspace(merge, "commit"), WorkspaceSpec(), again)
    assert tree(again) == tree(root)
    assert lake.get(f"/repositories/{REPO}/refs/{merge}/objects/stat", path="raw/new.txt")["metadata"]["sha256"] == (
        hashlib.sha256(b"new").hexdigest()
    )


@pytest.mark.parametrize("bad", ["../escape.txt", "/etc/passwd-copy", "a/../../x", "dir\\file", ".perago-attempt.json"])
def test_malicious_listing_writes_nothing(lake: Lake, tmp_path: Path, bad: str) -> None:
    lake.put({"fine/a.txt": b"a", bad: b"evil"})
    root = tmp_path / "box" / "ws"
    root.mkdir(parents=True)
    with pytest.raises(UnsafePathError) as info:
        lake.store.download_workspace(lake.workspace(), WorkspaceSpec(), root)
    assert repr(bad) in str(info.value) and not info.value.retryable
    assert list(root.iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "box").iterdir()) == ["ws"]


def test_symlinks_inside_round_trip_and_outside_are_refused(lake: Lake, tmp_path: Path) -> None:
    seed = lake.put({"data/real.txt": b"real"})
    root = tmp_path / "ws"
    root.mkdir()
    record = lake.store.download_workspace(lake.workspace(), WorkspaceSpec(), root)
    os.symlink("real.txt", root / "data/link")
    staged = stage(lake, request_for(lake, root, dict(record.entries), seed))
    again = tmp_path / "again"
    again.mkdir()
    copy = lake.store.download_workspace(lake.workspace(staged.commit, "commit"), WorkspaceSpec(), again)
    assert os.readlink(again / "data/link") == "real.txt" and copy.entries["data/link"].kind == "symlink"
    os.symlink("/etc/passwd", root / "data/escape")
    with pytest.raises(UnsafePathError, match="points outside the workspace"):
        stage(lake, request_for(lake, root, dict(record.entries), seed, "exec-2"))
    assert not [b for b in lake.branches() if "exec-2" in b]  # the failed staging branch was deleted


def test_transient_failures_on_upload_and_merge_are_retried(lake: Lake, tmp_path: Path) -> None:
    seed = lake.put({"a.txt": b"a"})
    root = tmp_path / "ws"
    root.mkdir()
    record = lake.store.download_workspace(lake.workspace(), WorkspaceSpec(), root)
    (root / "a.txt").write_bytes(b"b")
    lake.emu.inject_fault("uploadObject", status=503, times=2)
    lake.emu.inject_fault("mergeIntoBranch", status=429, times=1)
    lake.emu.drop_connection("mergeIntoBranch", times=1)
    request = request_for(lake, root, dict(record.entries), seed)
    staged = stage(lake, request)
    merge = publish(lake, staged, lake.workspace(), request)
    assert lake.read(merge, "a.txt") == b"b"
    assert len(lake.sleeps) == 4
    assert len([c for c in lake.log() if len(c["parents"]) == 2]) == 1


def test_persistent_5xx_gives_up_retryably(lake: Lake) -> None:
    lake.emu.inject_fault("getCommit", status=500, times=20)
    with pytest.raises(LakeFSError) as info:
        lake.store.download_workspace(lake.workspace(), WorkspaceSpec(), Path("/nonexistent-never-written"))
    assert info.value.retryable and info.value.status == 500
    assert len(lake.sleeps) == lake.settings.http_retries


@pytest.mark.parametrize(("ref_type", "retryable"), [("commit", False), ("branch", True)])
def test_conflict_names_the_paths(lake: Lake, tmp_path: Path, ref_type: str, retryable: bool) -> None:
    seed = lake.put({"shared.csv": b"v1", "other.csv": b"o"})
    root = tmp_path / "ws"
    root.mkdir()
    record = lake.store.download_workspace(lake.workspace(seed, "commit"), WorkspaceSpec(), root)
    (root / "shared.csv").write_bytes(b"ours")
    request = request_for(lake, root, dict(record.entries), seed)
    staged = stage(lake, request)
    lake.put({"shared.csv": b"theirs"}, message="concurrent change")
    workspace = lake.workspace(seed if ref_type == "commit" else "main", ref_type)
    with pytest.raises(PublishConflictError) as info:
        publish(lake, staged, workspace, request)
    assert info.value.paths == ["shared.csv"]
    assert "conflicted on: shared.csv" in str(info.value)
    assert info.value.retryable is retryable


def test_noop_returns_the_pinned_commit_and_checks_the_branch(lake: Lake) -> None:
    seed = lake.put({"a": b"a"})
    pinned = TaskExecutionContext(ATTEMPT, "e", pinned_workspace=lake.workspace(seed, "commit"))
    assert lake.store.complete_noop_workspace(lake.workspace(), SPEC, pinned) == seed
    missing = lake.workspace(seed, "commit").model_copy(update={"branch": "gone"})
    with pytest.raises(LakeFSError, match="target branch gone does not exist"):
        lake.store.complete_noop_workspace(missing, SPEC, TaskExecutionContext(ATTEMPT, "e"))


def test_missing_ref_is_a_clear_error(lake: Lake, tmp_path: Path) -> None:
    with pytest.raises(LakeFSError, match=r"resolve branch 'nope' in songs.*404"):
        lake.store.download_workspace(lake.workspace("nope"), WorkspaceSpec(), tmp_path)
