"""Merges, cherry-picks, reverts and diffs as lakeFS's graveler and committed manager compute them."""

from __future__ import annotations

import json
import threading

import pytest
from lakefs_sdk import CherryPickCreation, CommitCreation, CommitOverrides, Merge, RevertCreation
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.exceptions import ApiException

from perago.testing.lakefs import LakeFSEmulator
from tests.testing.lakefs.conftest import branch_with, error_of, raw, status_of


def test_merge_commit_even_when_only_the_source_moved(repo: LakeFSClient) -> None:
    """committedManager.Merge: destination == base -> the source's content, still a merge commit [dest, source]."""
    head = repo.commits_api.get_commit("songs", "main").id
    source = branch_with(repo, "dev", {"c.txt": b"c"})
    merged = repo.commits_api.get_commit("songs", repo.refs_api.merge_into_branch("songs", "dev", "main").reference)
    assert merged.parents == [head, source] and merged.message == "Merge 'dev' into 'main'"
    assert merged.metadata == {".lakefs.merge.strategy": "default"}  # graveler.MergeStrategyMetadataKey


def test_no_changes_only_when_the_source_did_not_move(repo: LakeFSClient) -> None:
    """Merge: "no changes" iff the source's metarange is the base's; identical content on both sides still merges."""
    repo.branches_api.create_branch("songs", {"name": "same", "source": "main"})
    assert error_of(lambda: repo.refs_api.merge_into_branch("songs", "same", "main")) == (
        400,
        "update branch main: no changes",
    )
    forced = repo.refs_api.merge_into_branch("songs", "same", "main", merge=Merge(allow_empty=True)).reference
    assert len(repo.commits_api.get_commit("songs", forced).parents) == 2
    branch_with(repo, "twin", {"c.txt": b"c"})
    repo.objects_api.upload_object("songs", "main", "c.txt", content=b"c")
    repo.commits_api.commit("songs", "main", CommitCreation(message="same content, written on main too"))
    merged = repo.refs_api.merge_into_branch("songs", "twin", "main").reference
    assert repo.commits_api.get_commit("songs", merged).parents[1] == repo.commits_api.get_commit("songs", "twin").id


def test_dirty_destination_and_empty_commits(repo: LakeFSClient) -> None:
    """graveler.Commit ErrNoChanges; Merge -> prepareForCommitIDUpdate ErrDirtyBranch (an identical write is clean)."""
    assert error_of(lambda: repo.commits_api.commit("songs", "main", CommitCreation(message="x"))) == (
        400,
        "no changes",
    )
    repo.objects_api.upload_object("songs", "main", "a.txt", content=b"a")  # identical re-upload: not a change
    assert error_of(lambda: repo.commits_api.commit("songs", "main", CommitCreation(message="x")))[0] == 400
    assert repo.commits_api.commit("songs", "main", CommitCreation(message="", allow_empty=True)).message == ""
    branch_with(repo, "dev", {"c.txt": b"c"})
    repo.branches_api.create_branch("songs", {"name": "clean", "source": "main"})
    repo.objects_api.upload_object("songs", "main", "a.txt", content=b"a")
    assert status_of(lambda: repo.refs_api.merge_into_branch("songs", "dev", "main")) == 200
    repo.objects_api.upload_object("songs", "main", "dirty.txt", content=b"d")
    assert error_of(lambda: repo.refs_api.merge_into_branch("songs", "clean", "main")) == (
        400,
        "uncommitted changes (dirty branch)",
    )


@pytest.mark.parametrize(("strategy", "expected"), [("dest-wins", b"main"), ("source-wins", b"dev")])
def test_strategies_resolve_conflicts(repo: LakeFSClient, strategy: str, expected: bytes) -> None:
    branch_with(repo, "dev", {"a.txt": b"dev", "d.txt": b"d"})
    repo.objects_api.upload_object("songs", "main", "a.txt", content=b"main")
    repo.commits_api.commit("songs", "main", CommitCreation(message="main change"))
    assert status_of(lambda: repo.refs_api.merge_into_branch("songs", "dev", "main")) == 409
    result = repo.refs_api.merge_into_branch("songs", "dev", "main", merge=Merge(strategy=strategy, squash_merge=True))
    commit = repo.commits_api.get_commit("songs", result.reference)
    assert repo.objects_api.get_object("songs", "main", "a.txt") == expected
    assert repo.objects_api.get_object("songs", "main", "d.txt") == b"d"
    assert commit.metadata[".lakefs.merge.strategy"] == strategy and len(commit.parents) == 1  # squash
    assert (
        error_of(lambda: repo.refs_api.merge_into_branch("songs", "dev", "main", merge=Merge(strategy="x")))[0] == 400
    )


def test_concurrent_merges(repo: LakeFSClient) -> None:
    """Disjoint changes merge in any order; the overlapping one then conflicts (409 {"reference": ""})."""
    for name, path in (("one", "x/1.txt"), ("two", "y/2.txt")):
        branch_with(repo, name, {path: b"1"})
    branch_with(repo, "three", {"x/1.txt": b"other"})
    results: dict[str, int] = {}
    threads = [
        threading.Thread(
            target=lambda n=n: results.__setitem__(
                n, status_of(lambda: repo.refs_api.merge_into_branch("songs", n, "main"))
            )
        )
        for n in ("one", "two")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"one": 200, "two": 200}
    assert [o.path for o in repo.objects_api.list_objects("songs", "main").results] == [
        "a.txt",
        "b.txt",
        "x/1.txt",
        "y/2.txt",
    ]
    with pytest.raises(ApiException) as info:
        repo.refs_api.merge_into_branch("songs", "three", "main")
    assert info.value.status == 409 and json.loads(info.value.body) == {"reference": ""}


def test_hooks_refuse_with_412(repo: LakeFSClient, emu: LakeFSEmulator) -> None:
    """actions.ErrActionFailed -> 412; a refused merge leaves the destination where it was."""
    branch_with(repo, "dev", {"c.txt": b"c"})
    head = repo.commits_api.get_commit("songs", "main").id
    emu.fail_hook("pre-merge", "no merges on Fridays", branch="main")
    status, message = error_of(lambda: repo.refs_api.merge_into_branch("songs", "dev", "main"))
    assert status == 412 and message.startswith("update branch main: pre-merge hook aborted, run id '")
    assert message.rstrip().endswith("action failed: no merges on Fridays")
    assert repo.commits_api.get_commit("songs", "main").id == head
    emu.fail_hook("pre-create-branch", "names must start with team-")
    assert error_of(lambda: repo.branches_api.create_branch("songs", {"name": "x", "source": "main"}))[0] == 412
    emu.clear_hooks()
    repo.refs_api.merge_into_branch("songs", "dev", "main")


def test_cherry_pick(repo: LakeFSClient) -> None:
    """graveler.CherryPick: the commit's message and metadata + cherry-pick-origin/-committer; merges need a parent;
    a commit that changed nothing is "no changes" (its metarange is its parent's)."""
    picked_from = branch_with(repo, "dev", {"c.txt": b"c"})
    picked = repo.branches_api.cherry_pick("songs", "main", CherryPickCreation(ref="dev"))
    assert picked.message == "dev" and picked.metadata == {
        "cherry-pick-origin": picked_from,
        "cherry-pick-committer": "admin",
    }
    assert repo.objects_api.get_object("songs", "main", "c.txt") == b"c"
    again = repo.branches_api.cherry_pick("songs", "main", CherryPickCreation(ref="dev"))  # not checked for effect
    assert again.parents == [picked.id]
    empty = repo.commits_api.commit("songs", "dev", CommitCreation(message="empty", allow_empty=True)).id
    assert error_of(lambda: repo.branches_api.cherry_pick("songs", "main", CherryPickCreation(ref=empty))) == (
        400,
        "no changes",
    )
    branch_with(repo, "other", {"o.txt": b"o"})
    merge = repo.refs_api.merge_into_branch("songs", "other", "dev").reference
    assert error_of(lambda: repo.branches_api.cherry_pick("songs", "main", CherryPickCreation(ref=merge)))[0] == 400
    overrides = CommitOverrides(message="picked the merge", metadata={"why": "test"})
    body = CherryPickCreation(ref=merge, parent_number=1, commit_overrides=overrides)
    commit = repo.branches_api.cherry_pick("songs", "main", body)
    assert repo.objects_api.get_object("songs", "main", "o.txt") == b"o"
    assert commit.message == "picked the merge" and commit.metadata["why"] == "test"  # applyCommitOverrides


def test_revert(repo: LakeFSClient) -> None:
    """graveler.Revert: message "Revert <ref>", merges need parent_number (409), reverting twice is "no changes"."""
    branch_with(repo, "dev", {"c.txt": b"c"})
    merge = repo.refs_api.merge_into_branch("songs", "dev", "main").reference
    assert (
        error_of(lambda: repo.branches_api.revert_branch("songs", "main", RevertCreation(ref="main", parent_number=0)))[
            0
        ]
        == 409
    )
    repo.branches_api.revert_branch("songs", "main", RevertCreation(ref="main", parent_number=1))
    head = repo.commits_api.get_commit("songs", "main")
    assert head.message == "Revert main" and head.parents == [merge]
    assert [o.path for o in repo.objects_api.list_objects("songs", "main").results] == ["a.txt", "b.txt"]


def test_diffs(repo: LakeFSClient, emu: LakeFSEmulator) -> None:
    """DiffRefs: three-dot (compare_iterator.go: the right side's changes since the base, conflicts marked) by
    default, two-dot on request; delimiter groups into "prefix_changed" common prefixes; DiffBranch: staging."""
    branch_with(repo, "dev", {"a.txt": b"dev", "d/1.txt": b"1", "d/2.txt": b"2"})
    repo.objects_api.upload_object("songs", "main", "a.txt", content=b"main")
    repo.objects_api.upload_object("songs", "main", "m.txt", content=b"m")
    repo.commits_api.commit("songs", "main", CommitCreation(message="main moved"))
    three = repo.refs_api.diff_refs("songs", "main", "dev")
    assert [(d.type, d.path) for d in three.results] == [
        ("conflict", "a.txt"),
        ("added", "d/1.txt"),
        ("added", "d/2.txt"),
    ]
    two = repo.refs_api.diff_refs("songs", "main", "dev", type="two_dot")
    assert [(d.type, d.path) for d in two.results] == [
        ("changed", "a.txt"),
        ("added", "d/1.txt"),
        ("added", "d/2.txt"),
        ("removed", "m.txt"),
    ]
    grouped = raw(emu, "GET", "/repositories/songs/refs/main/diff/dev", fields={"delimiter": "/", "amount": "1"}).json()
    assert [(d["type"], d["path"]) for d in grouped["results"]] == [("conflict", "a.txt")]
    after = raw(
        emu, "GET", "/repositories/songs/refs/main/diff/dev", fields={"delimiter": "/", "after": "a.txt"}
    ).json()
    assert after["results"] == [{"type": "prefix_changed", "path": "d/", "path_type": "common_prefix"}]
    repo.objects_api.delete_object("songs", "main", "m.txt")
    assert [(d.type, d.path) for d in repo.branches_api.diff_branch("songs", "main").results] == [("removed", "m.txt")]
