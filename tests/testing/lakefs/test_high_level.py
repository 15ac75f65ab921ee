"""lakeFS's own high-level ``lakefs`` package against the emulator (issue 10, acceptance 2): repositories,
branches, tags, commits and logs, objects (read, write, ranged and presigned), diffs, merges, cherry-pick, revert and
transactions, each as lakeFS's Go server behaves (the function named in each test)."""

from __future__ import annotations

from collections.abc import Iterator

import lakefs
import pytest
from lakefs.exceptions import ConflictException, NotFoundException, TransactionException

from perago.testing.lakefs import LakeFSEmulator


@pytest.fixture
def client(lakefs_emulator: LakeFSEmulator) -> Iterator[lakefs.Client]:
    emu = lakefs_emulator
    yield lakefs.Client(host=emu.endpoint, username=emu.access_key_id, password=emu.secret_access_key)


@pytest.fixture
def repo(client: lakefs.Client) -> lakefs.Repository:
    repo = lakefs.Repository("songs", client=client).create(storage_namespace="mem://songs")
    main = repo.branch("main")
    main.object("raw/a.csv").upload(data=b"a,b\n1,2\n")
    main.object("raw/b.csv").upload(data=b"b")
    main.commit("seed", metadata={"by": "test"})
    return repo


def test_repositories_branches_tags(client: lakefs.Client, repo: lakefs.Repository) -> None:
    """CreateRepository / ListRepositories; CreateBranch (exist_ok on 409), ListBranches, DeleteBranch; tags."""
    assert [r.id for r in lakefs.repositories(client=client)] == ["songs"]
    assert repo.properties.default_branch == "main" and repo.properties.storage_namespace == "mem://songs"
    dev = repo.branch("dev").create(source_reference="main")
    assert repo.branch("dev").create(source_reference="main", exist_ok=True).get_commit().id == dev.get_commit().id
    with pytest.raises(ConflictException):
        repo.branch("dev").create(source_reference="main")
    tag = repo.tag("v1").create("main")
    assert tag.get_commit().id == repo.branch("main").get_commit().id and [t.id for t in repo.tags()] == ["v1"]
    tag.delete()
    dev.delete()
    assert [b.id for b in repo.branches()] == ["main"]
    with pytest.raises(NotFoundException):
        repo.branch("dev").get_commit()


def test_commits_and_logs(repo: lakefs.Repository) -> None:
    """graveler.Commit (metadata kept, empty commits refused); LogCommits newest first, with amount."""
    main = repo.branch("main")
    main.object("c.txt").upload(data=b"c")
    head = main.commit("second")
    assert [c.message for c in main.log(max_amount=3)] == ["second", "seed", "Repository created"]
    assert main.get_commit().id == head.get_commit().id and main.log(max_amount=2).__next__().parents
    assert [c.metadata for c in main.log(max_amount=2)][1] == {"by": "test"}
    with pytest.raises(lakefs.exceptions.BadRequestException):
        main.commit("nothing staged")


@pytest.mark.parametrize("pre_sign", [False, True])
def test_objects_read_write_ranges_presigned(repo: lakefs.Repository, pre_sign: bool) -> None:
    """UploadObject or GetPhysicalAddress + a presigned PUT + LinkPhysicalAddress; GetObject with Range, or its 302
    to a presigned URL the object store serves with the same Range (lakefs.ObjectReader reads this way)."""
    main = repo.branch("main")
    main.object("data/x.bin").upload(data=b"0123456789", pre_sign=pre_sign, metadata={"k": "v"})
    stat = main.object("data/x.bin").stat()
    assert stat.size_bytes == 10 and stat.metadata == {"k": "v"}
    with main.object("data/x.bin").reader(pre_sign=pre_sign) as reader:
        reader.seek(3)
        assert reader.read(4) == b"3456" and reader.read() == b"789" and reader.read() == b""
    assert main.object("data/x.bin").exists() and not main.object("data/nope").exists()
    main.object("data/x.bin").copy("main", "data/y.bin")
    listed = list(main.objects(delimiter="/"))
    assert [o.path for o in listed] == ["data/", "raw/"]
    main.object("data/x.bin").delete()
    assert [o.path for o in main.objects(prefix="data/")] == ["data/y.bin"]


def test_diffs_merges_cherry_pick_revert(repo: lakefs.Repository) -> None:
    """Three-dot DiffRefs, DiffBranch; Merge (a merge commit with the strategy metadata; 409 on a conflict);
    CherryPick (cherry-pick-origin); Revert of a merge with parent_number."""
    main, dev = repo.branch("main"), repo.branch("dev").create(source_reference="main")
    dev.object("new.txt").upload(data=b"n")
    assert [(c.type, c.path) for c in dev.uncommitted()] == [("added", "new.txt")]
    picked_from = dev.commit("dev change").get_commit().id
    assert [(c.type, c.path) for c in main.diff(dev)] == [("added", "new.txt")]
    merged = dev.merge_into(main, message="merge dev")
    merge = repo.commit(merged).get_commit()
    assert merge.parents[1] == picked_from and merge.metadata == {".lakefs.merge.strategy": "default"}
    main.revert(merged, parent_number=1)
    assert not main.object("new.txt").exists()
    picked = repo.branch("main").cherry_pick(picked_from)
    assert picked.metadata["cherry-pick-origin"] == picked_from and main.object("new.txt").exists()
    dev.object("raw/a.csv").upload(data=b"dev")
    dev.commit("dev edits a")
    main.object("raw/a.csv").upload(data=b"main")
    main.commit("main edits a")
    with pytest.raises(ConflictException):
        dev.merge_into(main)


def test_transactions(repo: lakefs.Repository) -> None:
    """Branch.transact: an ephemeral branch, commit, merge back, delete; an empty one fails the commit ("no changes",
    graveler.Commit) as lakeFS does; a failing body leaves the branch untouched and cleans up."""
    main = repo.branch("main")
    with main.transact(commit_message="tx", commit_metadata={"m": "1"}, tag="after-tx") as tx:
        tx.object("t.txt").upload(data=b"t")
    assert [c.message for c in main.log(max_amount=2)][1] == "tx" and repo.tag("after-tx").get_commit().id
    with pytest.raises(TransactionException, match="no changes"), main.transact(commit_message="empty"):
        pass
    head = main.get_commit().id
    with pytest.raises(RuntimeError, match="abandon"), main.transact(commit_message="abandoned") as tx:
        tx.object("u.txt").upload(data=b"u")
        raise RuntimeError("abandon")
    assert main.get_commit().id == head and [b.id for b in repo.branches()] == ["main"]
