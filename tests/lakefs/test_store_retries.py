"""Store risks 1, 4, 5, 6, 10 (issue 10): what real lakeFS answers to retried, dirty, partial and hooked calls.

Each test names the Go function whose behaviour it relies on; the emulator's ``lose_answer`` applies a call and
then drops the connection, as a proxy timeout after the server committed does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from perago.errors import LakeFSError
from perago.lakefs.memo import LakeFSMemo, memo_branch
from perago.memo import MemoRecord
from perago.models import StagedWorkspace
from tests.lakefs.conftest import REPO, Lake, download, publish, request_for, stage, staging_branches


def changed_workspace(lake: Lake, tmp_path: Path, execution_id: str = "exec-1") -> tuple[str, object]:
    """Seed main, download it, change a.txt, add new.txt, remove old.txt; (seed commit, stage request)."""
    seed = lake.put({"a.txt": b"a", "old.txt": b"old"})
    root = tmp_path / f"ws-{execution_id}"
    record = download(lake, root, seed, "commit")
    (root / "a.txt").write_bytes(b"changed")
    (root / "new.txt").write_bytes(b"new")
    (root / "old.txt").unlink()
    return seed, request_for(lake, root, dict(record.entries), seed, execution_id)


def merges(lake: Lake) -> list[dict[str, object]]:
    return [c for c in lake.log() if len(c["parents"]) == 2]  # type: ignore[arg-type]


# -- risk 1: a retried call whose first try was applied -------------------------------------------------------------
def test_lost_answer_to_branch_creation_is_recognised(lake: Lake, tmp_path: Path) -> None:
    """graveler.CreateBranch: a branch that exists is 409 ErrBranchExists, so the retry must see its own branch."""
    seed, request = changed_workspace(lake, tmp_path)
    lake.emu.lose_answer("createBranch")
    staged = stage(lake, request)
    assert lake.emu.request_count("createBranch") == 2
    assert staging_branches(lake) == [staged.branch]
    assert lake.get(f"/repositories/{REPO}/commits/{staged.commit}")["parents"] == [seed]


def test_a_memo_record_survives_a_lost_answer_to_its_branch_creation(lake: Lake) -> None:
    """graveler.CreateBranch 409 on the retry: the memo's temporary branch is recognised as ours (stage.create_branch),
    the record lands on its memo branch and no temporary branch is left."""
    seed = lake.put({"a.txt": b"a"})
    lake.emu.lose_answer("createBranch")
    record = MemoRecord(key="k" * 64, output_ref=seed, result={"n": 1}, input_commit=seed, computed_by="wf-1/t")
    assert LakeFSMemo(lake.store.conn).record(REPO, record, {"perago.memo_key": "k" * 64}, "wf-1", "exec-1")
    assert staging_branches(lake) == []
    assert lake.get(f"/repositories/{REPO}/commits/{memo_branch('k' * 64)}")["metadata"]["perago.memo_key"] == "k" * 64


def test_a_transient_error_while_recognising_our_own_branch_is_not_terminal(lake: Lake, tmp_path: Path) -> None:
    """The soak's find: after a lost creation answer, a 502 on the read that recognises the branch as ours made the
    409 terminal (the workflow failed). The reads retry like every other call."""
    seed, request = changed_workspace(lake, tmp_path)
    lake.emu.lose_answer("createBranch")
    lake.emu.inject_fault("getBranch", status=502)
    lake.emu.inject_fault("diffBranch", status=503)
    staged = stage(lake, request)
    assert lake.emu.request_count("getBranch") == 2 and lake.emu.request_count("diffBranch") == 2
    assert lake.get(f"/repositories/{REPO}/commits/{staged.commit}")["parents"] == [seed]


def test_a_transient_error_while_recognising_our_own_commit_is_not_terminal(lake: Lake, tmp_path: Path) -> None:
    seed, request = changed_workspace(lake, tmp_path)
    lake.emu.lose_answer("commit")
    lake.emu.inject_fault("getCommit", status=502, times=2)
    staged = stage(lake, request)
    assert lake.get(f"/repositories/{REPO}/commits/{staged.commit}")["parents"] == [seed]


def test_lost_answer_to_the_staging_commit_is_recognised(lake: Lake, tmp_path: Path) -> None:
    """graveler.Commit: nothing left staged after the applied first try -> 400 ErrNoChanges on a blind retry."""
    seed, request = changed_workspace(lake, tmp_path)
    lake.emu.lose_answer("commit")
    staged = stage(lake, request)
    commit = lake.get(f"/repositories/{REPO}/commits/{staged.commit}")
    assert commit["parents"] == [seed] and commit["metadata"]["perago.execution_id"] == "exec-1"
    assert len(lake.log(staged.branch)) == 3  # seed's two commits and exactly one staging commit


def test_lost_answers_to_uploads_deletes_merge_and_branch_deletion(lake: Lake, tmp_path: Path) -> None:
    """UploadObject and DeleteObjects are idempotent; graveler.Merge of an already merged source is ErrNoChanges;
    DeleteBranch of a deleted branch is 404 ErrBranchNotFound."""
    _, request = changed_workspace(lake, tmp_path)
    for operation in ("uploadObject", "deleteObjects", "mergeIntoBranch", "deleteBranch"):
        lake.emu.lose_answer(operation)
    staged = stage(lake, request)
    merge = publish(lake, staged, lake.workspace(), request)
    lake.store.cleanup_staging(staged)
    assert [c["id"] for c in merges(lake)] == [merge]
    assert lake.read(merge, "new.txt") == b"new" and staging_branches(lake) == []
    assert lake.emu.request_count("mergeIntoBranch") == 1  # the retry found the merge in the log instead


def test_no_staging_branch_is_left_behind_when_creation_keeps_failing(lake: Lake, tmp_path: Path) -> None:
    """The branch was created (answer lost), then every retry failed: the store still removes it."""
    _, request = changed_workspace(lake, tmp_path)
    lake.emu.lose_answer("createBranch")
    lake.emu.inject_fault("createBranch", status=503, times=20)
    with pytest.raises(LakeFSError) as info:
        stage(lake, request)
    assert info.value.retryable
    assert staging_branches(lake) == []


# -- risk 4: a dirty target branch ----------------------------------------------------------------------------------
def test_dirty_target_branch_is_a_clear_retryable_error(lake: Lake, tmp_path: Path) -> None:
    """graveler.Merge -> prepareForCommitIDUpdate: uncommitted changes on the destination -> 400 ErrDirtyBranch."""
    _, request = changed_workspace(lake, tmp_path)
    staged = stage(lake, request)
    lake._request("POST", f"/repositories/{REPO}/branches/main/objects", b"stray", "text/plain", path="stray.txt")
    with pytest.raises(LakeFSError) as info:
        publish(lake, staged, lake.workspace(), request)
    message = str(info.value)
    assert info.value.retryable
    assert "main" in message and "uncommitted changes" in message and "commit or reset" in message
    assert len(lake.sleeps) == lake.settings.http_retries  # retried with backoff first
    assert merges(lake) == []


# -- risk 5: DeleteObjects answers 200 with per-path errors ---------------------------------------------------------
def test_failed_deletions_inside_a_200_fail_the_staging(lake: Lake, tmp_path: Path) -> None:
    """controller.go DeleteObjects: 200 with ObjectErrorList; a path listed there was not deleted."""
    _, request = changed_workspace(lake, tmp_path)
    lake.emu.fail_deletes(times=50)
    with pytest.raises(LakeFSError) as info:
        stage(lake, request)
    assert "old.txt" in str(info.value) and info.value.retryable
    assert staging_branches(lake) == []


def test_a_transient_deletion_failure_is_retried(lake: Lake, tmp_path: Path) -> None:
    _, request = changed_workspace(lake, tmp_path)
    lake.emu.fail_deletes(times=1)
    staged = stage(lake, request)
    paths = [o["path"] for o in lake.get(f"/repositories/{REPO}/refs/{staged.commit}/objects/ls")["results"]]
    assert paths == ["a.txt", "new.txt"] and lake.emu.request_count("deleteObjects") == 2


def test_deletions_refused_by_branch_protection_are_terminal(lake: Lake, tmp_path: Path) -> None:
    """graveler.DeleteBatch on a protected branch -> per-path 403 ErrWriteToProtectedBranch."""
    seed = lake.put({"a.txt": b"a", "old.txt": b"old"})
    root = tmp_path / "ws"
    record = download(lake, root, seed, "commit")
    (root / "old.txt").unlink()
    lake.emu.protect_branch(REPO, "perago-stg-*", blocked=["staging_write"])
    with pytest.raises(LakeFSError) as info:
        stage(lake, request_for(lake, root, dict(record.entries), seed))
    assert not info.value.retryable and "old.txt" in str(info.value) and "403" in str(info.value)


# -- risk 6: content that is already there ---------------------------------------------------------------------------
def test_identical_content_already_on_the_target_still_publishes(lake: Lake, tmp_path: Path) -> None:
    """committedManager.Merge: the source moved from the base, so not "no changes": a merge commit is made even
    though a duplicate attempt already published the same entries (same size, checksum, metadata, content type)."""
    seed = lake.put({"a.txt": b"a"})
    requests = []
    for execution_id in ("exec-1", "exec-2"):
        root = tmp_path / execution_id
        record = download(lake, root, seed, "commit")
        (root / "a.txt").write_bytes(b"same result")
        requests.append(request_for(lake, root, dict(record.entries), seed, execution_id))
    staged = [stage(lake, r) for r in requests]
    second = publish(lake, staged[1], lake.workspace(), requests[1])
    first = publish(lake, staged[0], lake.workspace(), requests[0])
    assert [c["id"] for c in merges(lake)] == [first, second]
    assert lake.read(first, "a.txt") == b"same result"


def test_publishing_what_is_already_merged_is_a_success(lake: Lake, tmp_path: Path) -> None:
    """committedManager.Merge: the source's metarange equals the base's -> 400 "no changes": already published."""
    _, request = changed_workspace(lake, tmp_path)
    staged = stage(lake, request)
    first = publish(lake, staged, lake.workspace(), request)
    other = dict(request.metadata, **{"perago.execution_id": "exec-other"})  # type: ignore[attr-defined]
    again = publish(lake, staged, lake.workspace(), other)
    assert again == first and len(merges(lake)) == 1


# -- risk 10: hooks ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("event", "where"), [("pre-commit", "stage"), ("pre-merge", "publish")])
def test_a_refusing_hook_is_a_clear_terminal_error(lake: Lake, tmp_path: Path, event: str, where: str) -> None:
    """actions.ErrActionFailed -> 412 with graveler.HookAbortError's message."""
    _, request = changed_workspace(lake, tmp_path)
    lake.emu.fail_hook(event, "schema check failed: column 'x' missing", branch="main" if where == "publish" else "*")
    with pytest.raises(LakeFSError) as info:
        staged = stage(lake, request)
        publish(lake, staged, lake.workspace(), request)
    message = str(info.value)
    assert not info.value.retryable and info.value.status == 412
    assert f"a {event} hook refused" in message and "schema check failed: column 'x' missing" in message
    assert '{"message"' not in message and lake.sleeps == []
    assert where == "publish" or staging_branches(lake) == []


def test_cleanup_of_a_missing_branch_is_done(lake: Lake) -> None:
    lake.store.cleanup_staging(StagedWorkspace(REPO, "perago-stg-gone", "0" * 64))
