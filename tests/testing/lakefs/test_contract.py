"""Contract: every route the emulator serves, driven through lakefs_sdk (and the ``lakefs`` package where it has
the operation), answers JSON that validates against lakeFS's own swagger."""

from __future__ import annotations

import lakefs
import pytest
from lakefs_sdk import (
    BranchCreation,
    CherryPickCreation,
    CommitCreation,
    Merge,
    ObjectCopyCreation,
    PathList,
    RepositoryCreation,
    RepositoryMetadataKeys,
    RepositoryMetadataSet,
    ResetCreation,
    RevertCreation,
    StagingMetadata,
    TagCreation,
    UpdateObjectUserMetadata,
)
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.exceptions import ApiException

from perago.testing.lakefs import OPERATION_IDS, LakeFSEmulator
from tests.testing.lakefs.conftest import check

CHECKED: set[str] = set()


def ok(emu: LakeFSEmulator, op: str, status: int = 200) -> object:
    CHECKED.add(op)
    return check(emu, op, status)


def seeded(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    sdk.repositories_api.create_repository(RepositoryCreation(name="songs", storage_namespace="mem://songs"))
    sdk.objects_api.upload_object("songs", "main", "raw/a.csv", content=b"a,b\n")
    sdk.commits_api.commit("songs", "main", CommitCreation(message="seed", metadata={"k": "v"}))


def test_config_and_repositories(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    sdk.health_check_api.health_check()
    CHECKED.add("healthCheck")
    assert sdk.config_api.get_config().storage_config.pre_sign_support is True
    ok(emu, "getConfig")
    with pytest.warns(DeprecationWarning, match="deprecated"):
        sdk.internal_api.get_storage_config()
    ok(emu, "getStorageConfig")
    with pytest.warns(DeprecationWarning, match="deprecated"):
        assert sdk.internal_api.get_lake_fs_version().version
    ok(emu, "getLakeFSVersion")
    repo = sdk.repositories_api.create_repository(RepositoryCreation(name="songs", storage_namespace="mem://songs"))
    ok(emu, "createRepository", 201)
    assert repo.default_branch == "main"
    assert sdk.repositories_api.get_repository("songs").id == "songs"
    ok(emu, "getRepository")
    assert [r.id for r in sdk.repositories_api.list_repositories().results] == ["songs"]
    ok(emu, "listRepositories")
    with pytest.raises(ApiException) as info:
        sdk.repositories_api.create_repository(RepositoryCreation(name="songs", storage_namespace="mem://songs"))
    assert info.value.status == 409
    ok(emu, "createRepository", 409)
    sdk.internal_api.set_repository_metadata("songs", RepositoryMetadataSet(metadata={"team": "data"}))
    CHECKED.add("setRepositoryMetadata")
    assert sdk.repositories_api.get_repository_metadata("songs") == {"team": "data"}
    ok(emu, "getRepositoryMetadata")
    sdk.internal_api.delete_repository_metadata("songs", RepositoryMetadataKeys(keys=["team"]))
    CHECKED.add("deleteRepositoryMetadata")
    assert sdk.repositories_api.get_repository_metadata("songs") == {}
    log = sdk.refs_api.log_commits("songs", "main")
    assert [c.message for c in log.results] == ["Repository created"]
    ok(emu, "logCommits")
    sdk.repositories_api.delete_repository("songs")
    CHECKED.add("deleteRepository")
    with pytest.raises(ApiException) as missing:
        sdk.repositories_api.get_repository("songs")
    assert missing.value.status == 404
    ok(emu, "getRepository", 404)


def test_branches_commits_refs_tags(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    seeded(sdk, emu)
    ok(emu, "commit", 201)
    created = sdk.branches_api.create_branch("songs", BranchCreation(name="dev", source="main"))
    assert len(created) == 64
    CHECKED.add("createBranch")
    sdk.branches_api.create_branch("songs", BranchCreation(name="secret", source="main", hidden=True))
    assert [b.id for b in sdk.branches_api.list_branches("songs").results] == ["dev", "main"]
    ok(emu, "listBranches")
    assert len(sdk.branches_api.list_branches("songs", show_hidden=True).results) == 3
    assert sdk.branches_api.get_branch("songs", "dev").commit_id == created
    ok(emu, "getBranch")
    commit = sdk.commits_api.get_commit("songs", "main")
    ok(emu, "getCommit")
    assert commit.metadata == {"k": "v"} and len(commit.id) == 64
    assert sdk.commits_api.get_commit("songs", commit.id[:10]).id == commit.id
    assert sdk.commits_api.get_commit("songs", "main~1").message == "Repository created"
    tag = sdk.tags_api.create_tag("songs", TagCreation(id="v1", ref="main"))
    ok(emu, "createTag", 201)
    assert tag.commit_id == commit.id
    assert sdk.tags_api.get_tag("songs", "v1").commit_id == commit.id
    ok(emu, "getTag")
    assert [t.id for t in sdk.tags_api.list_tags("songs").results] == ["v1"]
    ok(emu, "listTags")
    sdk.tags_api.delete_tag("songs", "v1")
    CHECKED.add("deleteTag")
    sdk.objects_api.upload_object("songs", "dev", "tmp.txt", content=b"t")
    sdk.branches_api.reset_branch("songs", "dev", ResetCreation(type="reset"))
    CHECKED.add("resetBranch")
    assert sdk.branches_api.diff_branch("songs", "dev").results == []
    ok(emu, "diffBranch")
    sdk.branches_api.delete_branch("songs", "dev")
    CHECKED.add("deleteBranch")
    with pytest.raises(ApiException) as info:
        sdk.branches_api.delete_branch("songs", "dev")
    assert info.value.status == 404
    ok(emu, "deleteBranch", 404)


def test_objects(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    seeded(sdk, emu)
    stats = sdk.objects_api.upload_object("songs", "main", "dir/x.bin", content=b"0123456789")
    ok(emu, "uploadObject", 201)
    assert stats.checksum == "781e5e245d69b566979b86e28d23f2c7" and stats.size_bytes == 10
    assert sdk.objects_api.get_object("songs", "main", "dir/x.bin", range="bytes=2-4") == b"234"
    CHECKED.add("getObject")
    sdk.objects_api.head_object("songs", "main", "dir/x.bin")
    CHECKED.add("headObject")
    assert sdk.objects_api.stat_object("songs", "main", "dir/x.bin").size_bytes == 10
    ok(emu, "statObject")
    listing = sdk.objects_api.list_objects("songs", "main", delimiter="/", user_metadata=True)
    ok(emu, "listObjects")
    assert [(o.path, o.path_type) for o in listing.results] == [("dir/", "common_prefix"), ("raw/", "common_prefix")]
    sdk.objects_api.copy_object("songs", "main", "dir/y.bin", ObjectCopyCreation(src_path="dir/x.bin"))
    ok(emu, "copyObject", 201)
    sdk.objects_api.update_object_user_metadata("songs", "main", "dir/y.bin", UpdateObjectUserMetadata(set={"a": "b"}))
    CHECKED.add("updateObjectUserMetadata")
    assert sdk.objects_api.stat_object("songs", "main", "dir/y.bin", user_metadata=True).metadata == {"a": "b"}
    errors = sdk.objects_api.delete_objects("songs", "main", PathList(paths=["dir/x.bin", "missing"]))
    ok(emu, "deleteObjects")
    assert errors.errors == []
    sdk.objects_api.delete_object("songs", "main", "dir/y.bin")
    CHECKED.add("deleteObject")
    with pytest.raises(ApiException) as info:
        sdk.objects_api.stat_object("songs", "main", "dir/y.bin")
    assert info.value.status == 404
    ok(emu, "statObject", 404)
    location = sdk.staging_api.get_physical_address("songs", "main", "linked.txt", presign=True)
    ok(emu, "getPhysicalAddress")
    import urllib3

    assert urllib3.request("PUT", location.presigned_url, body=b"linked").status == 200
    meta = StagingMetadata(staging=location, checksum="x", size_bytes=6, user_metadata={"sha256": "abc"})
    linked = sdk.staging_api.link_physical_address("songs", "main", "linked.txt", meta)
    ok(emu, "linkPhysicalAddress")
    assert linked.metadata == {"sha256": "abc"}
    assert sdk.objects_api.get_object("songs", "main", "linked.txt") == b"linked"


def test_merge_diff_revert_cherry_pick(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    seeded(sdk, emu)
    sdk.branches_api.create_branch("songs", BranchCreation(name="dev", source="main"))
    sdk.objects_api.upload_object("songs", "dev", "new.txt", content=b"n")
    dev = sdk.commits_api.commit("songs", "dev", CommitCreation(message="dev change"))
    diff = sdk.refs_api.diff_refs("songs", "main", "dev")
    ok(emu, "diffRefs")
    assert [(d.type, d.path) for d in diff.results] == [("added", "new.txt")]
    base = sdk.refs_api.find_merge_base("songs", "dev", "main")
    ok(emu, "findMergeBase")
    assert base.destination_commit_id != dev.id
    result = sdk.refs_api.merge_into_branch("songs", "dev", "main", merge=Merge(message="m", metadata={"x": "y"}))
    ok(emu, "mergeIntoBranch")
    merged = sdk.commits_api.get_commit("songs", result.reference)
    assert merged.parents[1] == dev.id and merged.metadata == {"x": "y"}
    with pytest.raises(ApiException) as info:
        sdk.refs_api.merge_into_branch("songs", "dev", "main")
    assert info.value.status == 400
    ok(emu, "mergeIntoBranch", 400)
    sdk.branches_api.revert_branch("songs", "main", RevertCreation(ref=dev.id, parent_number=0))
    CHECKED.add("revertBranch")
    assert [o.path for o in sdk.objects_api.list_objects("songs", "main").results] == ["raw/a.csv"]
    picked = sdk.branches_api.cherry_pick("songs", "main", CherryPickCreation(ref=dev.id))
    ok(emu, "cherryPick", 201)
    assert picked.message == "dev change"
    assert sdk.objects_api.get_object("songs", "main", "new.txt") == b"n"


def test_the_high_level_lakefs_package(emu: LakeFSEmulator) -> None:
    client = lakefs.Client(host=emu.endpoint, username=emu.access_key_id, password=emu.secret_access_key)
    repo = lakefs.Repository("songs", client=client).create(storage_namespace="mem://songs")
    main = repo.branch("main")
    main.object("a/b.txt").upload(data=b"hello")
    main.commit("first", metadata={"by": "lakefs"})
    dev = repo.branch("dev").create(source_reference="main")
    dev.object("c.txt").upload(data=b"c")
    dev.commit("dev")
    dev.merge_into(main)
    repo.tag("v1").create("main")
    assert [o.path for o in repo.ref("main").objects()] == ["a/b.txt", "c.txt"]
    assert repo.ref("v1").object("a/b.txt").reader().read() == b"hello"
    with main.transact(commit_message="tx") as tx:
        tx.object("t.txt").upload(data=b"t")
    assert [c.message for c in main.log(max_amount=2)][1] == "tx"
    assert [b.id for b in repo.branches()] == ["dev", "main"]


def test_every_served_operation_is_covered() -> None:
    assert set(OPERATION_IDS) <= CHECKED | {"statObject"}, sorted(set(OPERATION_IDS) - CHECKED)
