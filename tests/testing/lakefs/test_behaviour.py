"""lakeFS semantics the emulator must get right: merges, empty commits, presign, pagination, refs, faults."""

from __future__ import annotations

import threading
import urllib.parse

import pytest
import urllib3
from lakefs_sdk import BranchCreation, CommitCreation, Merge, RepositoryCreation
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.exceptions import ApiException

from perago.testing.lakefs import LakeFSEmulator


@pytest.fixture
def repo(sdk: LakeFSClient) -> LakeFSClient:
    sdk.repositories_api.create_repository(RepositoryCreation(name="songs", storage_namespace="mem://songs"))
    sdk.objects_api.upload_object("songs", "main", "a.txt", content=b"a")
    sdk.objects_api.upload_object("songs", "main", "b.txt", content=b"b")
    sdk.commits_api.commit("songs", "main", CommitCreation(message="seed"))
    return sdk


def branch_with(sdk: LakeFSClient, name: str, files: dict[str, bytes], source: str = "main") -> str:
    sdk.branches_api.create_branch("songs", BranchCreation(name=name, source=source))
    for path, data in files.items():
        sdk.objects_api.upload_object("songs", name, path, content=data)
    return str(sdk.commits_api.commit("songs", name, CommitCreation(message=name)).id)


def status_of(call: object) -> int:
    try:
        call()  # type: ignore[operator]
    except ApiException as exc:
        return int(exc.status)
    return 200


def test_fast_forward_like_merge_still_makes_a_merge_commit(repo: LakeFSClient) -> None:
    head = repo.commits_api.get_commit("songs", "main").id
    source = branch_with(repo, "dev", {"c.txt": b"c"})
    merged = repo.commits_api.get_commit("songs", repo.refs_api.merge_into_branch("songs", "dev", "main").reference)
    assert merged.parents == [head, source]


def test_disjoint_concurrent_merges_both_succeed_overlapping_conflicts(repo: LakeFSClient) -> None:
    branch_with(repo, "one", {"x/1.txt": b"1"})
    branch_with(repo, "two", {"y/2.txt": b"2"})
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
    listing = [o.path for o in repo.objects_api.list_objects("songs", "main").results]
    assert listing == ["a.txt", "b.txt", "x/1.txt", "y/2.txt"]
    with pytest.raises(ApiException) as info:
        repo.refs_api.merge_into_branch("songs", "three", "main")
    assert info.value.status == 409 and info.value.body == '{"reference": ""}'


@pytest.mark.parametrize(("strategy", "expected"), [("dest-wins", b"main"), ("source-wins", b"dev")])
def test_strategies_resolve_conflicts(repo: LakeFSClient, strategy: str, expected: bytes) -> None:
    branch_with(repo, "dev", {"a.txt": b"dev", "d.txt": b"d"})
    repo.objects_api.upload_object("songs", "main", "a.txt", content=b"main")
    repo.commits_api.commit("songs", "main", CommitCreation(message="main change"))
    repo.refs_api.merge_into_branch("songs", "dev", "main", merge=Merge(strategy=strategy))
    assert repo.objects_api.get_object("songs", "main", "a.txt") == expected
    assert repo.objects_api.get_object("songs", "main", "d.txt") == b"d"


def test_merge_of_changes_the_destination_already_has_is_a_merge_commit_not_no_changes(repo: LakeFSClient) -> None:
    """committedManager.Merge: 400 "no changes" only when the source's metarange is the base's; the same change
    published on both sides still makes a (content-free) merge commit."""
    branch_with(repo, "first", {"c.txt": b"same"})
    branch_with(repo, "again", {"c.txt": b"same"})
    repo.refs_api.merge_into_branch("songs", "first", "main")
    before = repo.commits_api.get_commit("songs", "main").id
    merged = repo.commits_api.get_commit("songs", repo.refs_api.merge_into_branch("songs", "again", "main").reference)
    assert merged.parents[0] == before
    assert repo.refs_api.diff_refs("songs", before, merged.id).results == []
    repo.branches_api.create_branch("songs", BranchCreation(name="untouched", source="main"))
    assert status_of(lambda: repo.refs_api.merge_into_branch("songs", "untouched", "main")) == 400


def test_empty_commit_and_dirty_destination_are_400(repo: LakeFSClient) -> None:
    assert status_of(lambda: repo.commits_api.commit("songs", "main", CommitCreation(message="nothing"))) == 400
    repo.objects_api.upload_object("songs", "main", "a.txt", content=b"a")  # identical re-upload: not a change
    assert status_of(lambda: repo.commits_api.commit("songs", "main", CommitCreation(message="same"))) == 400
    assert (
        repo.commits_api.commit("songs", "main", CommitCreation(message="forced", allow_empty=True)).message == "forced"
    )
    branch_with(repo, "dev", {"c.txt": b"c"})
    repo.objects_api.upload_object("songs", "main", "dirty.txt", content=b"d")
    assert status_of(lambda: repo.refs_api.merge_into_branch("songs", "dev", "main")) == 400


def test_presigned_urls_expire_and_cannot_be_tampered_with(emu: LakeFSEmulator, sdk: LakeFSClient) -> None:
    now = [1_000_000.0]
    emu.presigner._clock = lambda: now[0]
    sdk.repositories_api.create_repository(RepositoryCreation(name="songs", storage_namespace="mem://songs"))
    sdk.objects_api.upload_object("songs", "main", "a.txt", content=b"secret")
    url = sdk.objects_api.stat_object("songs", "main", "a.txt", presign=True).physical_address
    assert urllib3.request("GET", url).data == b"secret"
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    tampered = {**query, "address": query["address"].replace("data/", "data/x")}
    assert urllib3.request("GET", parts._replace(query=urllib.parse.urlencode(tampered)).geturl()).status == 403
    longer = {**query, "expires": str(int(query["expires"]) + 3600)}
    assert urllib3.request("GET", parts._replace(query=urllib.parse.urlencode(longer)).geturl()).status == 403
    now[0] += 16 * 60
    assert urllib3.request("GET", url).status == 403
    redirect = urllib3.request(
        "GET",
        f"{emu.endpoint}/api/v1/repositories/songs/refs/main/objects?path=a.txt&presign=true",
        headers=urllib3.make_headers(basic_auth=f"{emu.access_key_id}:{emu.secret_access_key}"),
        redirect=False,
    )
    assert redirect.status == 302 and redirect.headers["Location"].startswith(f"{emu.endpoint}/_presigned?")


def test_presign_off_per_repository(emu: LakeFSEmulator, sdk: LakeFSClient) -> None:
    emu.create_repository("songs", presign=False)
    sdk.objects_api.upload_object("songs", "main", "a.txt", content=b"x")
    assert sdk.objects_api.stat_object("songs", "main", "a.txt", presign=True).physical_address.startswith("mem://")


def test_pagination_over_2500_objects(emu: LakeFSEmulator, sdk: LakeFSClient) -> None:
    repo = emu.create_repository("songs")
    data = b"x"
    entry = emu.api.store(repo, data, {}, "application/octet-stream")
    for i in range(2500):
        repo.branches["main"].staging[f"obj/{i:05}"] = entry
    sdk.commits_api.commit("songs", "main", CommitCreation(message="many"))
    seen, after, pages = [], "", 0
    while True:
        page = sdk.objects_api.list_objects("songs", "main", after=after, amount=1000)
        seen += [o.path for o in page.results]
        pages += 1
        if not page.pagination.has_more:
            assert page.pagination.next_offset == ""
            break
        after = page.pagination.next_offset
    assert pages == 3 and seen == [f"obj/{i:05}" for i in range(2500)]


def test_ref_expressions(repo: LakeFSClient) -> None:
    first = repo.commits_api.get_commit("songs", "main")
    dev = branch_with(repo, "dev", {"c.txt": b"c"})
    merge = repo.refs_api.merge_into_branch("songs", "dev", "main").reference
    get = lambda ref: repo.commits_api.get_commit("songs", ref).id  # noqa: E731
    assert get("main") == merge and get(merge[:12]) == merge
    assert get("main~1") == first.id and get("main^1") == first.id and get("main^2") == dev
    assert get("main~2") == first.parents[0]
    repo.tags_api.create_tag("songs", {"id": "v1", "ref": "main~1"})
    assert get("v1") == first.id and get("v1~1") == first.parents[0]
    assert status_of(lambda: get("main~9")) == 404 and status_of(lambda: get("nope")) == 404


def test_names_are_validated(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    auth = urllib3.make_headers(basic_auth=f"{emu.access_key_id}:{emu.secret_access_key}")
    bad = urllib3.request(
        "POST",
        f"{emu.endpoint}/api/v1/repositories",
        json={"name": "Bad_Name", "storage_namespace": "mem://x"},
        headers=auth,
    )
    assert bad.status == 400 and "invalid" in bad.json()["message"]
    emu.create_repository("songs")
    assert (
        status_of(lambda: sdk.branches_api.create_branch("songs", BranchCreation(name="feature/x", source="main")))
        == 400
    )
    assert status_of(lambda: sdk.branches_api.create_branch("songs", BranchCreation(name="main", source="main"))) == 409
    assert status_of(lambda: sdk.branches_api.delete_branch("songs", "main")) == 403


def test_go_booleans_and_bad_values(emu: LakeFSEmulator) -> None:
    emu.create_repository("songs")
    auth = urllib3.make_headers(basic_auth=f"{emu.access_key_id}:{emu.secret_access_key}")
    base = f"{emu.endpoint}/api/v1/repositories/songs/branches"
    for value in ("True", "true", "1", "t", "FALSE", "0"):
        assert urllib3.request("GET", f"{base}?show_hidden={value}", headers=auth).status == 200
    bad = urllib3.request("GET", f"{base}?show_hidden=yes", headers=auth)
    assert bad.status == 400 and "invalid boolean" in bad.json()["message"]
    assert urllib3.request("GET", base).status == 401


def test_fault_injection(emu: LakeFSEmulator, sdk: LakeFSClient) -> None:
    emu.create_repository("songs")
    emu.inject_fault("getBranch", status=503, times=2)
    assert status_of(lambda: sdk.branches_api.get_branch("songs", "main")) == 503
    assert status_of(lambda: sdk.branches_api.get_branch("songs", "main")) == 503
    assert status_of(lambda: sdk.branches_api.get_branch("songs", "main")) == 200
    assert emu.request_count("getBranch") == 3
    with pytest.raises(ValueError, match="unknown lakeFS operationId"):
        emu.inject_fault("noSuchOperation")


def test_s3_mode_presigns_against_the_s3_endpoint(s3_lakefs_emulator: LakeFSEmulator, moto_s3_endpoint: str) -> None:
    from lakefs_sdk import Configuration, StagingMetadata

    emu = s3_lakefs_emulator
    conf = Configuration(host=f"{emu.endpoint}/api/v1", username=emu.access_key_id, password=emu.secret_access_key)
    sdk = LakeFSClient(conf)
    assert sdk.config_api.get_config().storage_config.blockstore_type == "s3"
    emu.create_repository("songs")
    stats = sdk.objects_api.upload_object("songs", "main", "a.txt", content=b"in s3")
    assert stats.physical_address.startswith("s3://")
    url = sdk.objects_api.stat_object("songs", "main", "a.txt", presign=True).physical_address
    assert url.startswith(moto_s3_endpoint) and urllib3.request("GET", url).data == b"in s3"
    location = sdk.staging_api.get_physical_address("songs", "main", "b.txt", presign=True)
    assert location.presigned_url.startswith(moto_s3_endpoint)
    assert urllib3.request("PUT", location.presigned_url, body=b"direct").status == 200
    sdk.staging_api.link_physical_address(
        "songs", "main", "b.txt", StagingMetadata(staging=location, checksum="c", size_bytes=6)
    )
    assert sdk.objects_api.get_object("songs", "main", "b.txt") == b"direct"
