"""Object reads and writes on every path a client takes (API and presigned, with and without ranges), as
lakeFS's controller.go UploadObject / GetObject / HeadObject / StatObject / ListObjects / DeleteObjects do them."""

from __future__ import annotations

import hashlib
import urllib.parse

import pytest
import urllib3
from lakefs_sdk import CommitCreation, Configuration, PathList, RepositoryCreation, StagingMetadata
from lakefs_sdk.client import LakeFSClient

from perago.testing.lakefs import LakeFSEmulator
from tests.testing.lakefs.conftest import error_of, raw, status_of

DATA = b"0123456789"


def test_uploads_and_user_metadata_headers(repo: LakeFSClient, emu: LakeFSEmulator) -> None:
    """Raw and multipart bodies; x-lakefs-meta-* values as Go reads headers (trimmed, invalid UTF-8 replaced)."""
    headers = {"Content-Type": "text/csv", "X-Lakefs-Meta-Owner": "  ada  ", "x-lakefs-meta-city": "Z\xfcrich"}
    answer = raw(emu, "POST", "/repositories/songs/branches/main/objects?path=raw.csv", body=b"x", headers=headers)
    assert answer.status == 201 and answer.json()["content_type"] == "text/csv"
    assert answer.json()["metadata"] == {"owner": "ada", "city": "Z\ufffdrich"}
    multipart = repo.objects_api.upload_object("songs", "main", "multi.bin", content=DATA)
    assert multipart.content_type == "application/octet-stream" and multipart.checksum == hashlib.md5(DATA).hexdigest()
    only_new = {"If-None-Match": "*"}
    assert (
        raw(emu, "POST", "/repositories/songs/branches/main/objects?path=a.txt", body=b"x", headers=only_new).status
        == 412
    )
    assert (
        raw(
            emu, "POST", "/repositories/songs/branches/main/objects?path=z", body=b"x", headers={"If-Match": "x"}
        ).status
        == 501
    )
    assert raw(emu, "POST", "/repositories/songs/branches/nope/objects?path=z", body=b"x").json() == {
        "message": "branch 'nope' not found"
    }


def test_reads_with_ranges_etags_and_heads(repo: LakeFSClient, emu: LakeFSEmulator) -> None:
    """httputil.ParseRange: suffix and open ranges, 416 with ``Content-Range: bytes */size``; If-None-Match -> 304."""
    repo.objects_api.upload_object("songs", "main", "d.bin", content=DATA)
    get = lambda r: repo.objects_api.get_object("songs", "main", "d.bin", range=r)  # noqa: E731
    assert (get("bytes=2-4"), get("bytes=-3"), get("bytes=7-"), get("bytes=8-100")) == (b"234", b"789", b"789", b"89")
    route = "/repositories/songs/refs/main/objects?path=d.bin"
    beyond = raw(emu, "GET", route, headers={"Range": "bytes=10-"})
    assert beyond.status == 416 and beyond.headers["Content-Range"] == "bytes */10"
    assert raw(emu, "GET", route, headers={"Range": "bytes=5-2"}).status == 416
    etag = raw(emu, "GET", route).headers["ETag"]
    assert (
        etag == f'"{hashlib.md5(DATA).hexdigest()}"'
        and raw(emu, "GET", route, headers={"If-None-Match": etag}).status == 304
    )
    head = raw(emu, "HEAD", route, headers={"Range": "bytes=0-3"})
    assert head.status == 206 and head.headers["Content-Length"] == "4" and head.data == b""
    missing = raw(emu, "HEAD", "/repositories/songs/refs/main/objects?path=nope")
    assert missing.status == 404 and missing.data == b""


def test_presigned_reads_redirect_and_honour_ranges(repo: LakeFSClient, emu: LakeFSEmulator) -> None:
    """GetObject presign=true -> 302 to the store's URL; the store serves ranges (lakefs package reads this way)."""
    repo.objects_api.upload_object("songs", "main", "d.bin", content=DATA)
    redirect = raw(emu, "GET", "/repositories/songs/refs/main/objects?path=d.bin&presign=true")
    assert redirect.status == 302 and redirect.headers["Location"].startswith(f"{emu.endpoint}/_presigned?")
    assert urllib3.request("GET", redirect.headers["Location"], headers={"Range": "bytes=1-2"}).data == b"12"
    assert repo.objects_api.get_object("songs", "main", "d.bin", presign=True, range="bytes=-2") == b"89"


def test_presigned_urls_expire_and_cannot_be_tampered_with(emu: LakeFSEmulator, sdk: LakeFSClient) -> None:
    now = [1_000_000.0]
    emu.presigner._clock = lambda: now[0]
    sdk.repositories_api.create_repository(RepositoryCreation(name="songs", storage_namespace="mem://songs"))
    sdk.objects_api.upload_object("songs", "main", "a.txt", content=b"secret")
    stat = sdk.objects_api.stat_object("songs", "main", "a.txt", presign=True)
    assert (
        stat.physical_address_expiry == 1_000_000 + 15 * 60
        and urllib3.request("GET", stat.physical_address).data == b"secret"
    )
    parts = urllib.parse.urlsplit(stat.physical_address)
    query = dict(urllib.parse.parse_qsl(parts.query))
    for changed in ({"address": query["address"] + "x"}, {"expires": str(int(query["expires"]) + 3600)}):
        assert (
            urllib3.request("GET", parts._replace(query=urllib.parse.urlencode({**query, **changed})).geturl()).status
            == 403
        )
    now[0] += 16 * 60
    assert urllib3.request("GET", stat.physical_address).status == 403


def test_storage_that_cannot_presign_refuses(emu: LakeFSEmulator, sdk: LakeFSClient) -> None:
    """mem/local adapters: GetPreSignedURL -> ErrOperationNotSupported (400; GetPhysicalAddress writes 500)."""
    emu.create_repository("songs", presign=False)
    sdk.objects_api.upload_object("songs", "main", "a.txt", content=b"x")
    assert sdk.objects_api.stat_object("songs", "main", "a.txt").physical_address.startswith("mem://")
    refused = (400, "get pre signed url: operation not supported")
    assert error_of(lambda: sdk.objects_api.stat_object("songs", "main", "a.txt", presign=True)) == refused
    assert error_of(lambda: sdk.objects_api.list_objects("songs", "main", presign=True)) == refused
    assert error_of(lambda: sdk.staging_api.get_physical_address("songs", "main", "b", presign=True))[0] == 500
    assert error_of(lambda: sdk.experimental_api.create_presign_multipart_upload("songs", "main", "b"))[0] == 501


def test_stat_and_list_metadata(repo: LakeFSClient) -> None:
    """StatObject always answers a metadata map; ListObjects only for entries that have some."""
    repo.objects_api.upload_object("songs", "main", "m.txt", content=b"m")
    assert repo.objects_api.stat_object("songs", "main", "a.txt").metadata == {}
    listed = repo.objects_api.list_objects("songs", "main", user_metadata=True).results
    assert [o.metadata for o in listed] == [None, None, None]


def test_listing_pagination_and_delimiters(emu: LakeFSEmulator, sdk: LakeFSClient) -> None:
    repo = emu.create_repository("songs")
    entry = emu.api.store(repo, b"x", {}, "application/octet-stream")
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
    assert len(sdk.objects_api.list_objects("songs", "main", amount=-1).results) == 100  # paginationAmount
    assert raw(emu, "GET", "/repositories/songs/refs/main/objects/ls?amount=1001").status == 400
    assert [o.path for o in sdk.objects_api.list_objects("songs", "main", delimiter="/").results] == ["obj/"]


def test_bulk_delete_reports_per_path_errors(repo: LakeFSClient, emu: LakeFSEmulator) -> None:
    """DeleteObjects: 200 always; missing paths are no error; protected branches and failures are per path."""
    assert repo.objects_api.delete_objects("songs", "main", PathList(paths=["a.txt", "missing"])).errors == []
    emu.fail_deletes(times=1)
    errors = repo.objects_api.delete_objects("songs", "main", PathList(paths=["b.txt"])).errors
    assert [(e.path, e.status_code) for e in errors] == [("b.txt", 500)]
    emu.protect_branch("songs", "ma*", blocked=["staging_write"])
    errors = repo.objects_api.delete_objects("songs", "main", PathList(paths=["b.txt"])).errors
    assert [(e.path, e.status_code, e.message) for e in errors] == [("b.txt", 403, "cannot write to protected branch")]
    assert error_of(lambda: repo.objects_api.upload_object("songs", "main", "c", content=b"c")) == (
        403,
        "cannot write to protected branch",
    )
    assert status_of(lambda: repo.objects_api.delete_objects("songs", "main", PathList(paths=["x"] * 1001))) == 400


def test_linking_trusts_the_client(repo: LakeFSClient) -> None:
    """LinkPhysicalAddress: checksum required, size taken as given; an address without data reads 410."""
    location = repo.staging_api.get_physical_address("songs", "main", "l.txt")
    no_checksum = StagingMetadata(staging=location, checksum="", size_bytes=3)
    assert error_of(lambda: repo.staging_api.link_physical_address("songs", "main", "l.txt", no_checksum)) == (
        400,
        "checksum is required",
    )
    linked = StagingMetadata(staging=location, checksum='"abc"', size_bytes=3)
    assert repo.staging_api.link_physical_address("songs", "main", "l.txt", linked).checksum == "abc"
    assert error_of(lambda: repo.objects_api.get_object("songs", "main", "l.txt")) == (410, "No data")


@pytest.mark.parametrize("where", ["memory", "s3"])
def test_presigned_multipart_upload(where: str, request: pytest.FixtureRequest) -> None:
    """pmpu: parts PUT to the store's URLs, completion stages the object with the store's multipart ETag."""
    emu: LakeFSEmulator = request.getfixturevalue("s3_lakefs_emulator" if where == "s3" else "lakefs_emulator")
    emu.create_repository("songs")
    conf = Configuration(host=f"{emu.endpoint}/api/v1", username=emu.access_key_id, password=emu.secret_access_key)
    sdk = LakeFSClient(conf)
    parts = [b"a" * (5 * 1024 * 1024), b"tail"]
    upload = sdk.experimental_api.create_presign_multipart_upload("songs", "main", "big.bin", parts=2)
    etags = [
        urllib3.request("PUT", url, body=part).headers["ETag"]
        for url, part in zip(upload.presigned_urls, parts, strict=True)
    ]
    body = {
        "physical_address": upload.physical_address,
        "parts": [{"part_number": n, "etag": e} for n, e in enumerate(etags, start=1)],
        "user_metadata": {"sha256": "x"},
    }
    done = sdk.experimental_api.complete_presign_multipart_upload("songs", "main", upload.upload_id, "big.bin", body)
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert done.checksum == f"{hashlib.md5(md5s).hexdigest()}-2" and done.size_bytes == sum(map(len, parts))
    assert sdk.objects_api.get_object("songs", "main", "big.bin") == b"".join(parts)
