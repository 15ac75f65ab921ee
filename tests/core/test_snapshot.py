"""Snapshots, diffs, and the stamp fast path of change detection (issue 6: no change is ever missed)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from perago import snapshot as snapshot_module
from perago.snapshot import (
    ATTEMPT_WORKSPACE_MARKER,
    Entry,
    diff_snapshots,
    hash_file,
    record_downloaded_file,
    snapshot_directory,
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_files_nested_empty_unicode_and_marker(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", b"alpha")
    write(tmp_path, "deep/er/still/b.bin", b"\x00\x01")
    write(tmp_path, "empty", b"")
    write(tmp_path, "with space/ünïcødé 名前.csv", b"x")
    write(tmp_path, ATTEMPT_WORKSPACE_MARKER, b"{}")
    (tmp_path / "empty-dir").mkdir()
    snap = snapshot_directory(tmp_path)
    assert list(snap) == sorted(["a.txt", "deep/er/still/b.bin", "empty", "with space/ünïcødé 名前.csv"])
    assert snap["a.txt"].sha256 == sha(b"alpha") and snap["a.txt"].size == 5
    assert snap["empty"].sha256 == sha(b"") and snap["empty"].size == 0
    assert ATTEMPT_WORKSPACE_MARKER not in snap


def test_marker_name_below_the_root_is_an_ordinary_file(tmp_path: Path) -> None:
    write(tmp_path, f"sub/{ATTEMPT_WORKSPACE_MARKER}", b"data")
    assert f"sub/{ATTEMPT_WORKSPACE_MARKER}" in snapshot_directory(tmp_path)


def test_symlinks_are_recorded_by_target_and_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"do not read")
    ws = tmp_path / "ws"
    write(ws, "data/real.txt", b"real")
    os.symlink("real.txt", ws / "data/inside-link")
    os.symlink(str(outside / "secret"), ws / "escape")
    os.symlink(str(outside), ws / "dirlink")
    snap = snapshot_directory(ws)
    assert snap["data/inside-link"] == Entry("symlink", sha(b"real.txt"), 8, target="real.txt")
    assert snap["escape"].kind == "symlink" and snap["escape"].target == str(outside / "secret")
    assert snap["dirlink"].kind == "symlink"
    assert not any(p.startswith("dirlink/") for p in snap)
    assert all(e.sha256 != sha(b"do not read") for e in snap.values())


def test_diff_added_changed_removed(tmp_path: Path) -> None:
    write(tmp_path, "keep", b"same")
    write(tmp_path, "change", b"old")
    write(tmp_path, "remove/me", b"bye")
    os.symlink("keep", tmp_path / "link")
    before = snapshot_directory(tmp_path)
    write(tmp_path, "change", b"new")
    (tmp_path / "remove/me").unlink()
    write(tmp_path, "new/file", b"hi")
    (tmp_path / "link").unlink()
    os.symlink("change", tmp_path / "link")
    diff = diff_snapshots(before, snapshot_directory(tmp_path))
    assert diff.added == ("new/file",)
    assert diff.changed == ("change", "link")
    assert diff.removed == ("remove/me",)
    assert diff.upserted == ("change", "link", "new/file")
    assert not diff.is_empty
    assert diff_snapshots(before, before).is_empty


def test_file_replaced_by_symlink_is_a_change(tmp_path: Path) -> None:
    write(tmp_path, "x", b"target")
    before = snapshot_directory(tmp_path)
    (tmp_path / "x").unlink()
    os.symlink("target", tmp_path / "x")
    assert diff_snapshots(before, snapshot_directory(tmp_path)).changed == ("x",)


def test_hash_file_matches_hashlib_across_chunks(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    write(tmp_path, "big", data)
    assert hash_file(tmp_path / "big") == (sha(data), len(data))


def test_parallel_hashing_of_large_workspaces(tmp_path: Path) -> None:
    files = {f"f{i}": os.urandom(1024 * 1024 + i) for i in range(6)}
    for rel, data in files.items():
        write(tmp_path, rel, data)
    snap = snapshot_directory(tmp_path, workers=3)
    assert {p: e.sha256 for p, e in snap.items()} == {p: sha(d) for p, d in files.items()}


# -- the fast path: downloaded files carry stamps; only stamp-changed files are re-hashed ----------------------


@pytest.fixture
def downloaded(tmp_path: Path) -> tuple[Path, dict[str, Entry]]:
    entries = {}
    for i in range(20):
        rel = f"dir{i % 3}/file{i}.dat"
        data = f"content {i}".encode() * 10
        write(tmp_path, rel, data)
        entries[rel] = record_downloaded_file(tmp_path / rel, sha(data))
    return tmp_path, entries


@pytest.fixture
def hash_calls(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = snapshot_module.hash_file

    def counting(path: Path) -> tuple[str, int]:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(snapshot_module, "hash_file", counting)
    return calls


def detect(root: Path, before: dict[str, Entry]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    diff = diff_snapshots(before, snapshot_directory(root, previous=before))
    return diff.added, diff.changed, diff.removed


def test_untouched_workspace_reads_no_file(downloaded: tuple[Path, dict[str, Entry]], hash_calls: list[Path]) -> None:
    root, before = downloaded
    assert detect(root, before) == ((), (), ())
    assert hash_calls == []


def test_same_size_rewrite_is_detected(downloaded: tuple[Path, dict[str, Entry]], hash_calls: list[Path]) -> None:
    root, before = downloaded
    target = root / "dir1/file1.dat"
    target.write_bytes(target.read_bytes().replace(b"1", b"X"))
    assert detect(root, before) == ((), ("dir1/file1.dat",), ())
    assert [p.name for p in hash_calls] == ["file1.dat"]


def test_rewrite_within_the_same_second_is_detected(downloaded: tuple[Path, dict[str, Entry]]) -> None:
    root, before = downloaded
    target = root / "dir2/file2.dat"
    for n in range(5, 8):  # several writes in one second, same size each time
        target.write_bytes(f"content {n}".encode() * 10)
    assert detect(root, before)[1] == ("dir2/file2.dat",)


def test_truncate_then_rewrite_is_detected(downloaded: tuple[Path, dict[str, Entry]]) -> None:
    root, before = downloaded
    target = root / "dir0/file3.dat"
    original = target.read_bytes()
    with open(target, "r+b") as handle:
        handle.truncate(0)
        handle.write(original[::-1])
    assert detect(root, before)[1] == ("dir0/file3.dat",)


def test_rename_over_is_detected(downloaded: tuple[Path, dict[str, Entry]]) -> None:
    root, before = downloaded
    tmp = root / "dir1/tmp"
    tmp.write_bytes(b"content X" * 10)  # same size, different bytes; mtime forged back to the pinned instant
    os.utime(tmp, ns=(snapshot_module.PINNED_MTIME_NS, snapshot_module.PINNED_MTIME_NS))
    os.replace(tmp, root / "dir1/file4.dat")
    assert detect(root, before)[1] == ("dir1/file4.dat",)


def test_delete_and_recreate_is_detected(downloaded: tuple[Path, dict[str, Entry]]) -> None:
    root, before = downloaded
    target = root / "dir2/file5.dat"
    target.unlink()
    target.write_bytes(b"content 9" * 10)
    os.utime(target, ns=(snapshot_module.PINNED_MTIME_NS, snapshot_module.PINNED_MTIME_NS))
    assert detect(root, before)[1] == ("dir2/file5.dat",)


def test_chmod_only_is_not_a_content_change(downloaded: tuple[Path, dict[str, Entry]], hash_calls: list[Path]) -> None:
    root, before = downloaded
    os.chmod(root / "dir0/file6.dat", 0o600)
    assert detect(root, before) == ((), (), ())
    assert [p.name for p in hash_calls] == ["file6.dat"]  # the ctime moved: re-hashed, found equal


def test_restored_content_is_not_a_change(downloaded: tuple[Path, dict[str, Entry]], hash_calls: list[Path]) -> None:
    root, before = downloaded
    target = root / "dir1/file7.dat"
    original = target.read_bytes()
    target.write_bytes(b"other")
    target.write_bytes(original)
    assert detect(root, before) == ((), (), ())
    assert len(hash_calls) == 1  # the stamp moved, so it was re-hashed, and found equal


def test_full_rehash_ignores_stamps(downloaded: tuple[Path, dict[str, Entry]], hash_calls: list[Path]) -> None:
    root, before = downloaded
    snapshot_directory(root, previous=before, full_rehash=True)
    assert len(hash_calls) == 20


def test_recorded_entries_match_a_fresh_snapshot(downloaded: tuple[Path, dict[str, Entry]]) -> None:
    root, before = downloaded
    fresh = snapshot_directory(root)
    assert {p: e.sha256 for p, e in fresh.items()} == {p: e.sha256 for p, e in before.items()}
    assert all(e.stamp is not None and e.stamp.mtime_ns == snapshot_module.PINNED_MTIME_NS for e in before.values())


def test_forged_mtime_after_an_in_place_rewrite_is_detected(
    downloaded: tuple[Path, dict[str, Entry]], hash_calls: list[Path]
) -> None:
    root, before = downloaded
    target = root / "dir2/file8.dat"
    target.write_bytes(b"content X" * 10)  # same size, same inode
    os.utime(target, ns=(snapshot_module.PINNED_MTIME_NS, snapshot_module.PINNED_MTIME_NS))  # like tar -p would
    assert detect(root, before) == ((), ("dir2/file8.dat",), ())
    assert [p.name for p in hash_calls] == ["file8.dat"]  # the ctime gave it away


def test_only_stamp_changed_files_are_rehashed(
    downloaded: tuple[Path, dict[str, Entry]], hash_calls: list[Path]
) -> None:
    root, before = downloaded
    (root / "dir0/file0.dat").write_bytes(b"new")  # changed
    (root / "dir1/file10.dat").unlink()  # removed: nothing to hash
    write(root, "dir0/new.dat", b"added")  # added: hashed once
    os.replace(root / "dir2/file11.dat", root / "dir2/file14.dat")  # renamed over: one file gone, one changed
    assert detect(root, before) == (
        ("dir0/new.dat",),
        ("dir0/file0.dat", "dir2/file14.dat"),
        ("dir1/file10.dat", "dir2/file11.dat"),
    )
    assert sorted(p.name for p in hash_calls) == ["file0.dat", "file14.dat", "new.dat"]


def test_a_second_snapshot_reuses_the_stamps_of_the_first(
    downloaded: tuple[Path, dict[str, Entry]], hash_calls: list[Path]
) -> None:
    root, before = downloaded
    (root / "dir0/file0.dat").write_bytes(b"new")
    first = snapshot_directory(root, previous=before)
    assert len(hash_calls) == 1
    assert snapshot_directory(root, previous=first) == first
    assert len(hash_calls) == 1


def test_a_file_changing_while_hashed_keeps_no_stamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "busy.log", b"first")
    real = snapshot_module.hash_file

    def hash_then_append(path: Path) -> tuple[str, int]:
        result = real(path)
        with open(path, "ab") as handle:
            handle.write(b" and more")
        return result

    monkeypatch.setattr(snapshot_module, "hash_file", hash_then_append)
    entry = snapshot_directory(tmp_path)["busy.log"]
    assert entry.sha256 == sha(b"first") and entry.stamp is None  # the next snapshot must hash it again


def test_streaming_hasher_and_copy_and_hash(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    hasher = snapshot_module.StreamingHasher()
    for start in range(0, len(data), 1000_000):
        assert hasher.feed(data[start : start + 1000_000]) == data[start : start + 1000_000]
    assert hasher.result() == (sha(data), len(data))
    assert snapshot_module.StreamingHasher().result() == (sha(b""), 0)
    source = tmp_path / "src.bin"
    source.write_bytes(data)
    with open(source, "rb") as src, open(tmp_path / "dst.bin", "wb") as dst:
        assert snapshot_module.copy_and_hash(src, dst, chunk_size=64 * 1024) == (sha(data), len(data))
    assert (tmp_path / "dst.bin").read_bytes() == data


def test_special_files_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", b"a")
    os.mkfifo(tmp_path / "pipe")
    assert list(snapshot_directory(tmp_path)) == ["a.txt"]
