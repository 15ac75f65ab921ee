"""Store risks 2, 3, 7, 8, 11 (issue 10): large files, expiring URLs, storage that cannot presign, metadata
headers, keys that are not files."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest

from perago.errors import LakeFSError, UnsafePathError
from perago.testing.lakefs import LakeFSEmulator
from tests.lakefs.conftest import REPO, Lake, download, lake_for, publish, request_for, stage, staging_branches, tree

LARGE = os.urandom(12 * 1024 * 1024 + 7)  # three 5 MiB parts (S3's minimum) with a short last one


# -- risk 2: files too big for one PUT ------------------------------------------------------------------------------
def test_files_over_the_threshold_upload_as_multipart(lake: Lake, tmp_path: Path) -> None:
    """s3 adapter Put: a known size is one PutObject (<= 5 GiB); so large files go as presigned multipart (pmpu)
    where the server offers it, else streamed without a length (WriteBlob(-1) -> the multipart manager)."""
    seed = lake.put({"small.txt": b"s"})
    root = tmp_path / "ws"
    record = download(lake, root)
    (root / "large.bin").write_bytes(LARGE)
    (root / "small.txt").write_bytes(b"still small")
    lake.store.conn.multipart_threshold = 1024 * 1024
    lake.emu.reset_requests()
    staged = stage(lake, request_for(lake, root, dict(record.entries), seed))
    presigned = lake.emu.api.presign_default
    assert lake.emu.request_count("createPresignMultipartUpload") == (1 if presigned else 0)
    assert lake.emu.request_count("completePresignMultipartUpload") == (1 if presigned else 0)
    assert lake.emu.api.unknown_length_uploads == (0 if presigned else 1)
    assert lake.emu.request_count("uploadObject") == (1 if presigned else 2)  # small.txt, with its length
    again = tmp_path / "again"
    copy = download(lake, again, staged.commit, "commit")
    assert (again / "large.bin").read_bytes() == LARGE
    assert copy.entries["large.bin"].sha256 == hashlib.sha256(LARGE).hexdigest()
    stat = lake.get(f"/repositories/{REPO}/refs/{staged.commit}/objects/stat", path="large.bin")
    assert stat["metadata"]["sha256"] == hashlib.sha256(LARGE).hexdigest() and stat["size_bytes"] == len(LARGE)


def test_without_presigned_multipart_large_files_stream(tmp_path: Path) -> None:
    with LakeFSEmulator(presign_multipart=False) as emu:
        lake = lake_for(emu)
        seed = lake.put({"small.txt": b"s"})
        root = tmp_path / "ws"
        record = download(lake, root)
        (root / "large.bin").write_bytes(LARGE)
        lake.store.conn.multipart_threshold = 1024 * 1024
        staged = stage(lake, request_for(lake, root, dict(record.entries), seed))
        assert emu.api.unknown_length_uploads == 1 and emu.request_count("createPresignMultipartUpload") == 0
        assert lake.read(staged.commit, "large.bin") == LARGE


# -- risk 3: presigned URLs expire during a long download -----------------------------------------------------------
def test_expired_presigned_urls_are_refreshed(presign_lake: Lake, tmp_path: Path) -> None:
    """URLs last 15 minutes (block adapter pre-signed expiry); the object store answers 403 after that."""
    lake = presign_lake
    files = {f"part-{i}.csv": f"row {i}".encode() for i in range(5)}
    lake.put(files)
    now = [lake.emu.presigner.now()]
    lake.emu.presigner._clock = lambda: now[0]
    listing = lake.emu.api.listObjects

    def list_then_wait(call: Any) -> Any:
        reply = listing(call)
        now[0] += 16 * 60  # the listed URLs expire before the files are fetched
        return reply

    lake.emu.api.listObjects = list_then_wait  # type: ignore[method-assign]
    root = tmp_path / "ws"
    download(lake, root)
    assert tree(root) == files
    assert lake.emu.request_count("statObject") == len(files)  # one fresh URL per expired one


# -- risk 7: presign forced on storage that cannot presign ---------------------------------------------------------
def test_forced_presign_falls_back_to_the_api_with_one_warning(tmp_path: Path, warnings_logged: list[str]) -> None:
    """mem/local adapters GetPreSignedURL -> ErrOperationNotSupported: 400 on list/stat/get with presign=true."""
    with LakeFSEmulator(presign=False) as emu:
        lake = lake_for(emu, presign=True)
        seed = lake.put({"a.txt": b"a", "b.txt": b"b"})
        root = tmp_path / "ws"
        record = download(lake, root)
        (root / "a.txt").write_bytes(b"changed")
        staged = stage(lake, request_for(lake, root, dict(record.entries), seed))
        assert tree(root) == {"a.txt": b"changed", "b.txt": b"b"} and lake.read(staged.commit, "a.txt") == b"changed"
        assert emu.request_count("presigned") == 0
    presign_warnings = [w for w in warnings_logged if "presign" in w]
    assert len(presign_warnings) == 1 and "PERAGO_PRESIGN" in presign_warnings[0]


def test_multi_storage_servers_are_asked_per_repository(tmp_path: Path) -> None:
    """GetConfig on a multi-storage server: storage_config omitted, one entry per storage in storage_config_list."""
    with LakeFSEmulator(multi_storage=True) as emu:
        lake = lake_for(emu)
        lake.put({"a.txt": b"a"})
        download(lake, tmp_path / "ws")
        assert emu.request_count("presigned") == 1 and emu.request_count("getObject") == 0


def test_a_repository_whose_storage_cannot_presign_falls_back(tmp_path: Path, warnings_logged: list[str]) -> None:
    with LakeFSEmulator() as emu:
        lake = lake_for(emu)
        emu.set_presign(REPO, False)
        lake.put({"a.txt": b"a"})
        download(lake, tmp_path / "ws")
        assert emu.request_count("getObject") == 1 and len(warnings_logged) == 1


# -- risk 8: user metadata travels in headers -----------------------------------------------------------------------
@pytest.mark.parametrize("target", ["ünïcødé 名前.txt", "  spaced  ", "café", "=?utf-8?b?Zm9v?=", "tab\there"])
def test_symlink_targets_round_trip_exactly(lake: Lake, tmp_path: Path, target: str) -> None:
    """Go trims header values and replaces invalid UTF-8; http.client cannot send non-Latin-1 at all."""
    seed = lake.put({"data/real.txt": b"real"})
    root = tmp_path / "ws"
    record = download(lake, root)
    os.symlink(target, root / "data/link")
    staged = stage(lake, request_for(lake, root, dict(record.entries), seed))
    again = tmp_path / "again"
    copy = download(lake, again, staged.commit, "commit")
    assert os.readlink(again / "data/link") == target and copy.entries["data/link"].target == target


# -- risk 11: keys that are not files -------------------------------------------------------------------------------
def test_keys_that_are_not_files_are_skipped_and_named(lake: Lake, tmp_path: Path, warnings_logged: list[str]) -> None:
    """Directory markers (``dir/``) and empty segments (``a//b``) are valid lakeFS paths but no file can be them."""
    seed = lake.put({"dir/": b"", "a//b": b"double", "fine.txt": b"f", "sub/x.txt": b"x"})
    root = tmp_path / "ws"
    record = download(lake, root)
    assert tree(root) == {"fine.txt": b"f", "sub/x.txt": b"x"} and sorted(record.entries) == ["fine.txt", "sub/x.txt"]
    assert any("'dir/'" in w and "'a//b'" in w for w in warnings_logged)
    (root / "fine.txt").write_bytes(b"changed")
    request = request_for(lake, root, dict(record.entries), seed)
    staged = stage(lake, request)
    merge = publish(lake, staged, lake.workspace(), request)
    listed = [o["path"] for o in lake.get(f"/repositories/{REPO}/refs/{merge}/objects/ls")["results"]]
    assert listed == ["a//b", "dir/", "fine.txt", "sub/x.txt"]  # nothing skipped was deleted


def test_a_file_that_is_also_a_directory_is_refused(lake: Lake, tmp_path: Path) -> None:
    lake.put({"x": b"file", "x/y": b"inside"})
    root = tmp_path / "ws"
    with pytest.raises(UnsafePathError) as info:
        download(lake, root)
    assert "'x'" in str(info.value) and "'x/y'" in str(info.value) and not info.value.retryable
    assert list(root.iterdir()) == []


def large_change(lake: Lake, tmp_path: Path) -> tuple[Path, object]:
    seed = lake.put({"small.txt": b"s"})
    root = tmp_path / "ws"
    record = download(lake, root)
    (root / "large.bin").write_bytes(LARGE)
    lake.store.conn.multipart_threshold = 1024 * 1024
    return root, request_for(lake, root, dict(record.entries), seed)


def test_an_expired_part_url_is_renewed(presign_lake: Lake, tmp_path: Path) -> None:
    """The object store's 403 to a part URL: a fresh one comes from UploadPart (controller.go UploadPart)."""
    _, request = large_change(presign_lake, tmp_path)
    presign_lake.emu.inject_fault("presigned", status=403)
    staged = stage(presign_lake, request)
    assert presign_lake.emu.request_count("uploadPart") == 1
    assert presign_lake.read(staged.commit, "large.bin") == LARGE


def test_a_lost_completion_is_recognised(presign_lake: Lake, tmp_path: Path) -> None:
    """CompletePresignMultipartUpload applied, answer lost: the retry finds the upload gone and the object staged."""
    _, request = large_change(presign_lake, tmp_path)
    presign_lake.emu.lose_answer("completePresignMultipartUpload")
    staged = stage(presign_lake, request)
    assert presign_lake.emu.request_count("completePresignMultipartUpload") == 2
    assert presign_lake.emu.request_count("createPresignMultipartUpload") == 1
    assert presign_lake.read(staged.commit, "large.bin") == LARGE


def test_a_refused_completion_aborts_the_upload(presign_lake: Lake, tmp_path: Path) -> None:
    _, request = large_change(presign_lake, tmp_path)
    presign_lake.emu.inject_fault("completePresignMultipartUpload", status=400)
    with pytest.raises(LakeFSError):
        stage(presign_lake, request)
    assert presign_lake.emu.request_count("abortPresignMultipartUpload") == 1
    assert staging_branches(presign_lake) == []


def test_urls_about_to_expire_are_renewed_before_use(presign_lake: Lake, tmp_path: Path) -> None:
    presign_lake.put({"a.txt": b"a", "b.txt": b"b"})
    presign_lake.store.conn.clock = lambda: time.time() + 3600  # every listed URL is past its expiry
    download(presign_lake, tmp_path / "ws")
    assert presign_lake.emu.request_count("statObject") == 2 and presign_lake.emu.request_count("presigned") == 2
