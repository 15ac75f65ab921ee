"""Contract: every operation the emulator serves, driven through lakefs_sdk, answers exactly what lakefs_sdk's model
for that status describes (required fields, types, no unknown keys); error answers are lakeFS's ``Error``."""

from __future__ import annotations

import lakefs_sdk
import pytest
import urllib3
from lakefs_sdk import (
    AbortPresignMultipartUpload,
    BranchCreation,
    CherryPickCreation,
    CommitCreation,
    CompletePresignMultipartUpload,
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
    UploadPart,
    UploadPartFrom,
)
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.exceptions import ApiException

from perago.testing.lakefs import OPERATION_IDS, LakeFSEmulator
from tests.testing.lakefs.conftest import check, strict

CHECKED: set[str] = set()


def ok(emu: LakeFSEmulator, op: str, status: int = 200) -> object:
    CHECKED.add(op)
    return check(emu, op, status)


def fails(emu: LakeFSEmulator, op: str, status: int, call: object) -> object:
    with pytest.raises(ApiException) as info:
        call()  # type: ignore[operator]
    assert info.value.status == status, info.value.body
    return ok(emu, op, status)


def seeded(sdk: LakeFSClient) -> None:
    sdk.repositories_api.create_repository(RepositoryCreation(name="songs", storage_namespace="mem://songs"))
    sdk.objects_api.upload_object("songs", "main", "raw/a.csv", content=b"a,b\n")
    sdk.commits_api.commit("songs", "main", CommitCreation(message="seed", metadata={"k": "v"}))


def test_config_user_and_repositories(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
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
    assert sdk.auth_api.get_current_user().user.id == "admin"
    ok(emu, "getCurrentUser")
    repo = sdk.repositories_api.create_repository(RepositoryCreation(name="songs", storage_namespace="mem://songs"))
    ok(emu, "createRepository", 201)
    assert repo.default_branch == "main" and repo.storage_id == "" and repo.read_only is False
    assert sdk.repositories_api.get_repository("songs").id == "songs"
    ok(emu, "getRepository")
    assert [r.id for r in sdk.repositories_api.list_repositories().results] == ["songs"]
    ok(emu, "listRepositories")
    again = RepositoryCreation(name="songs", storage_namespace="mem://other")
    fails(emu, "createRepository", 409, lambda: sdk.repositories_api.create_repository(again))
    sdk.internal_api.set_repository_metadata("songs", RepositoryMetadataSet(metadata={"team": "data"}))
    CHECKED.add("setRepositoryMetadata")
    assert sdk.repositories_api.get_repository_metadata("songs") == {"team": "data"}
    ok(emu, "getRepositoryMetadata")
    sdk.internal_api.delete_repository_metadata("songs", RepositoryMetadataKeys(keys=["team"]))
    CHECKED.add("deleteRepositoryMetadata")
    sdk.repositories_api.delete_repository("songs")
    CHECKED.add("deleteRepository")
    fails(emu, "getRepository", 404, lambda: sdk.repositories_api.get_repository("songs"))


def test_branches_commits_refs_tags(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    seeded(sdk)
    ok(emu, "commit", 201)
    created = sdk.branches_api.create_branch("songs", BranchCreation(name="dev", source="main"))
    assert len(created) == 64
    CHECKED.add("createBranch")
    fails(
        emu,
        "createBranch",
        409,
        lambda: sdk.branches_api.create_branch("songs", BranchCreation(name="dev", source="main")),
    )
    assert [b.id for b in sdk.branches_api.list_branches("songs").results] == ["dev", "main"]
    ok(emu, "listBranches")
    assert sdk.branches_api.get_branch("songs", "dev").commit_id == created
    ok(emu, "getBranch")
    commit = sdk.commits_api.get_commit("songs", "main")
    ok(emu, "getCommit")
    assert commit.metadata == {"k": "v"} and commit.generation == 2
    assert [c.message for c in sdk.refs_api.log_commits("songs", "main").results] == ["seed", "Repository created"]
    ok(emu, "logCommits")
    fails(emu, "commit", 400, lambda: sdk.commits_api.commit("songs", "main", CommitCreation(message="nothing")))
    assert sdk.tags_api.create_tag("songs", TagCreation(id="v1", ref="main")).commit_id == commit.id
    ok(emu, "createTag", 201)
    assert sdk.tags_api.get_tag("songs", "v1").commit_id == commit.id
    ok(emu, "getTag")
    assert [t.id for t in sdk.tags_api.list_tags("songs").results] == ["v1"]
    ok(emu, "listTags")
    sdk.tags_api.delete_tag("songs", "v1")
    CHECKED.add("deleteTag")
    fails(emu, "getTag", 404, lambda: sdk.tags_api.get_tag("songs", "v1"))
    sdk.objects_api.upload_object("songs", "dev", "tmp.txt", content=b"t")
    assert [d.path for d in sdk.branches_api.diff_branch("songs", "dev").results] == ["tmp.txt"]
    ok(emu, "diffBranch")
    sdk.branches_api.reset_branch("songs", "dev", ResetCreation(type="reset"))
    CHECKED.add("resetBranch")
    sdk.branches_api.delete_branch("songs", "dev")
    CHECKED.add("deleteBranch")
    fails(emu, "deleteBranch", 404, lambda: sdk.branches_api.delete_branch("songs", "dev"))


def test_objects(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    seeded(sdk)
    stats = sdk.objects_api.upload_object("songs", "main", "dir/x.bin", content=b"0123456789")
    ok(emu, "uploadObject", 201)
    assert stats.checksum == "781e5e245d69b566979b86e28d23f2c7" and stats.size_bytes == 10
    assert sdk.objects_api.get_object("songs", "main", "dir/x.bin", range="bytes=2-4") == b"234"
    CHECKED.add("getObject")
    fails(emu, "getObject", 404, lambda: sdk.objects_api.get_object("songs", "main", "nope"))
    sdk.objects_api.head_object("songs", "main", "dir/x.bin")
    CHECKED.add("headObject")
    assert sdk.objects_api.stat_object("songs", "main", "dir/x.bin").size_bytes == 10
    ok(emu, "statObject")
    listing = sdk.objects_api.list_objects("songs", "main", delimiter="/", presign=True)
    ok(emu, "listObjects")
    assert [(o.path, o.path_type) for o in listing.results] == [("dir/", "common_prefix"), ("raw/", "common_prefix")]
    sdk.objects_api.list_objects("songs", "main", presign=True)
    ok(emu, "listObjects")
    sdk.objects_api.copy_object("songs", "main", "dir/y.bin", ObjectCopyCreation(src_path="dir/x.bin"))
    ok(emu, "copyObject", 201)
    sdk.objects_api.update_object_user_metadata("songs", "main", "dir/y.bin", UpdateObjectUserMetadata(set={"a": "b"}))
    CHECKED.add("updateObjectUserMetadata")
    assert sdk.objects_api.stat_object("songs", "main", "dir/y.bin", user_metadata=True).metadata == {"a": "b"}
    assert sdk.objects_api.delete_objects("songs", "main", PathList(paths=["dir/x.bin", "missing"])).errors == []
    ok(emu, "deleteObjects")
    sdk.objects_api.delete_object("songs", "main", "dir/y.bin")
    CHECKED.add("deleteObject")
    fails(emu, "statObject", 404, lambda: sdk.objects_api.stat_object("songs", "main", "dir/y.bin"))


def test_staging_and_presigned_multipart(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    seeded(sdk)
    location = sdk.staging_api.get_physical_address("songs", "main", "linked.txt", presign=True)
    ok(emu, "getPhysicalAddress")
    put = urllib3.request("PUT", location.presigned_url, body=b"linked")
    meta = StagingMetadata(staging=location, checksum=put.headers["ETag"], size_bytes=6, user_metadata={"k": "v"})
    assert sdk.staging_api.link_physical_address("songs", "main", "linked.txt", meta).metadata == {"k": "v"}
    ok(emu, "linkPhysicalAddress")
    assert sdk.objects_api.get_object("songs", "main", "linked.txt") == b"linked"
    api = sdk.experimental_api
    upload = api.create_presign_multipart_upload("songs", "main", "big.bin", parts=1)
    ok(emu, "createPresignMultipartUpload", 201)
    fresh = api.upload_part(
        "songs", "main", upload.upload_id, "big.bin", 1, UploadPartFrom(physical_address=upload.physical_address)
    )
    ok(emu, "uploadPart")
    etag = urllib3.request("PUT", fresh.presigned_url, body=b"parts").headers["ETag"]
    body = CompletePresignMultipartUpload(
        physical_address=upload.physical_address, parts=[UploadPart(part_number=1, etag=etag)], user_metadata={}
    )
    done = api.complete_presign_multipart_upload("songs", "main", upload.upload_id, "big.bin", body)
    ok(emu, "completePresignMultipartUpload")
    assert done.size_bytes == 5 and done.checksum.endswith("-1")
    other = api.create_presign_multipart_upload("songs", "main", "gone.bin")
    abort = AbortPresignMultipartUpload(physical_address=other.physical_address)
    api.abort_presign_multipart_upload("songs", "main", other.upload_id, "gone.bin", abort)
    CHECKED.add("abortPresignMultipartUpload")


def test_merge_diff_revert_cherry_pick(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    seeded(sdk)
    sdk.branches_api.create_branch("songs", BranchCreation(name="dev", source="main"))
    sdk.objects_api.upload_object("songs", "dev", "new.txt", content=b"n")
    dev = sdk.commits_api.commit("songs", "dev", CommitCreation(message="dev change"))
    diff = sdk.refs_api.diff_refs("songs", "main", "dev", include_right_stats=True)
    ok(emu, "diffRefs")
    assert [(d.type, d.path) for d in diff.results] == [("added", "new.txt")]
    base = sdk.refs_api.find_merge_base("songs", "dev", "main")
    ok(emu, "findMergeBase")
    assert base.destination_commit_id != dev.id
    result = sdk.refs_api.merge_into_branch("songs", "dev", "main", merge=Merge(message="m", metadata={"x": "y"}))
    ok(emu, "mergeIntoBranch")
    merged = sdk.commits_api.get_commit("songs", result.reference)
    assert merged.parents[1] == dev.id and merged.metadata == {"x": "y", ".lakefs.merge.strategy": "default"}
    fails(emu, "mergeIntoBranch", 400, lambda: sdk.refs_api.merge_into_branch("songs", "dev", "main"))
    sdk.branches_api.revert_branch("songs", "main", RevertCreation(ref=dev.id, parent_number=0))
    CHECKED.add("revertBranch")
    assert [o.path for o in sdk.objects_api.list_objects("songs", "main").results] == ["raw/a.csv"]
    picked = sdk.branches_api.cherry_pick("songs", "main", CherryPickCreation(ref=dev.id))
    ok(emu, "cherryPick", 201)
    assert picked.message == "dev change" and picked.metadata["cherry-pick-origin"] == dev.id
    sdk.objects_api.upload_object("songs", "dev", "new.txt", content=b"other")
    sdk.commits_api.commit("songs", "dev", CommitCreation(message="conflicting"))
    sdk.objects_api.upload_object("songs", "main", "new.txt", content=b"mine")
    sdk.commits_api.commit("songs", "main", CommitCreation(message="mine"))
    fails(emu, "mergeIntoBranch", 409, lambda: sdk.refs_api.merge_into_branch("songs", "dev", "main"))


@pytest.mark.parametrize(
    "body",
    [
        {"id": "v1"},  # a required field missing
        {"id": "v1", "commit_id": "c", "extra": 1},  # a field lakeFS never sends
        {"id": 1, "commit_id": "c"},  # a number where lakeFS sends a string
        {"pagination": {"has_more": False, "next_offset": None, "results": 0, "max_per_page": 1000}, "results": []},
    ],
)
def test_the_validator_is_strict(body: dict[str, object]) -> None:
    model = lakefs_sdk.models.RefList if "pagination" in body else lakefs_sdk.models.Ref
    with pytest.raises((AssertionError, ValueError)):
        strict(model, body, "answer")


def test_every_served_operation_is_covered() -> None:
    assert set(OPERATION_IDS) <= CHECKED, sorted(set(OPERATION_IDS) - CHECKED)
