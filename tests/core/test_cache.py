"""The local content cache: hit, miss, eviction, concurrent fills, corruption, links and reflinks."""

from __future__ import annotations

import errno
import hashlib
import multiprocessing
import os
from pathlib import Path

import pytest

from perago import cache_files
from perago.cache import CacheKey, ContentCache, default_cache_dir
from perago.errors import ConfigurationError
from perago.settings import PeragoSettings


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def key_of(data: bytes) -> CacheKey:
    key = CacheKey.content(sha(data))
    assert key is not None
    return key


def source(tmp_path: Path, data: bytes, name: str = "src") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def put(cache: ContentCache, tmp_path: Path, data: bytes, key: CacheKey | None = None) -> None:
    cache.insert(key or key_of(data), source(tmp_path, data, f"src-{sha(data)[:8]}"), sha(data), len(data))


@pytest.fixture
def cache(tmp_path: Path) -> ContentCache:
    return ContentCache(tmp_path / "cache", max_bytes=1_000_000)


def test_miss_then_insert_then_hit_serves_a_private_writable_copy(cache: ContentCache, tmp_path: Path) -> None:
    data = b"hello cache" * 100
    target = tmp_path / "out"
    assert cache.materialise(key_of(data), len(data), target, link=False) is None
    assert not target.exists()
    put(cache, tmp_path, data)
    assert cache.materialise(key_of(data), len(data), target, link=False) == sha(data)
    assert target.read_bytes() == data
    cached = cache.content_path(sha(data))
    assert os.stat(target).st_ino != os.stat(cached).st_ino and os.stat(cached).st_mode & 0o777 == 0o444
    assert (cache.stats.hits, cache.stats.misses, cache.stats.inserted) == (1, 1, 1)
    assert os.stat(cache.root).st_mode & 0o777 == 0o700  # cached bytes are as private as an attempt's


def test_a_task_rewriting_a_materialised_file_in_place_leaves_the_cache_intact(
    cache: ContentCache, tmp_path: Path
) -> None:
    data = b"original bytes"
    put(cache, tmp_path, data)
    target = tmp_path / "ws-file"
    assert cache.materialise(key_of(data), len(data), target, link=False) == sha(data)
    with open(target, "r+b") as handle:  # in place: same inode, new bytes
        handle.write(b"REWRITTEN")
    assert cache.content_path(sha(data)).read_bytes() == data
    again = tmp_path / "again"
    assert cache.materialise(key_of(data), len(data), again, link=False) == sha(data)
    assert again.read_bytes() == data and cache.stats.corrupt == 0


def test_identity_keys_alias_content_and_share_it_with_content_keys(cache: ContentCache, tmp_path: Path) -> None:
    data = b"same bytes, two names"
    identity = CacheKey.identity("lakefs-entry", str(len(data)), "etag-1", "[]", "text/plain")
    assert identity.kind == "id" and identity != CacheKey.identity("lakefs-entry", str(len(data)), "etag-2")
    put(cache, tmp_path, data, identity)
    assert cache.materialise(identity, len(data), tmp_path / "a", link=False) == sha(data)  # before settle, too
    cache.settle()
    other_process = ContentCache(cache.directory, cache.max_bytes)
    assert other_process.materialise(identity, len(data), tmp_path / "c", link=False) == sha(data)
    assert cache.materialise(key_of(data), len(data), tmp_path / "b", link=False) == sha(data)
    assert cache.stats.inserted == 1
    assert CacheKey.content("not-a-digest") is None and CacheKey.content(sha(data).upper()) is None


def test_an_insert_whose_bytes_do_not_match_a_content_key_is_ignored(cache: ContentCache, tmp_path: Path) -> None:
    cache.insert(key_of(b"claimed"), source(tmp_path, b"actual"), sha(b"actual"), 6)
    assert cache.stats.inserted == 0 and not cache.content_path(sha(b"actual")).exists()


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_corrupted_entry_is_detected_removed_and_never_served(
    cache: ContentCache, tmp_path: Path, damage: str
) -> None:
    data = os.urandom(64 * 1024)
    put(cache, tmp_path, data)
    cached = cache.content_path(sha(data))
    os.chmod(cached, 0o644)
    with open(cached, "r+b") as handle:
        if damage == "flip":
            handle.seek(1000)
            handle.write(b"\xff\x00")
        else:
            handle.truncate(10)
    target = tmp_path / "out"
    assert cache.materialise(key_of(data), len(data), target, link=False) is None
    assert not target.exists() and not cached.exists()
    assert (cache.stats.corrupt, cache.stats.misses) == (1, 1)
    put(cache, tmp_path, data)  # what the caller does next: fetch it again
    assert cache.materialise(key_of(data), len(data), target, link=False) == sha(data)
    assert target.read_bytes() == data


def test_hard_links_are_verified_on_every_serve(cache: ContentCache, tmp_path: Path) -> None:
    data = b"read-only task input"
    put(cache, tmp_path, data)
    linked = tmp_path / "ro"
    assert cache.materialise(key_of(data), len(data), linked, link=True) == sha(data)
    assert os.stat(linked).st_ino == os.stat(cache.content_path(sha(data))).st_ino
    os.chmod(linked, 0o644)  # a task running as root ignores the 0444 anyway
    with open(linked, "r+b") as handle:
        handle.write(b"X")
    assert cache.materialise(key_of(data), len(data), tmp_path / "next", link=True) is None
    assert cache.stats.corrupt == 1 and not (tmp_path / "next").exists()


def test_least_recently_used_entries_are_evicted_down_to_the_low_water_mark(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path / "cache", max_bytes=10_000)
    blobs = [bytes([i]) * 3000 for i in range(3)]
    for i, blob in enumerate(blobs):
        put(cache, tmp_path, blob)
        os.utime(cache.content_path(sha(blob)), (1000 + i, 1000 + i))
    cache.settle()
    assert cache.stats.evicted == 0 and (cache.root / "usage").read_text() == "9000"
    assert cache.materialise(key_of(blobs[0]), 3000, tmp_path / "hit", link=False)  # 0 is now the most recent
    put(cache, tmp_path, b"\x09" * 3000)  # 12000 bytes > 10000: evict 1, then 2 (oldest first) down to 9000
    cache.settle()
    assert cache.stats.evicted == 1
    assert not cache.content_path(sha(blobs[1])).exists()
    assert all(cache.content_path(sha(b)).exists() for b in (blobs[0], blobs[2], b"\x09" * 3000))
    assert (cache.root / "usage").read_text() == "9000"


def test_eviction_removes_aliases_of_evicted_content_and_stale_temp_files(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path / "cache", max_bytes=5000)
    old, kept = CacheKey.identity("old"), CacheKey.identity("kept")
    put(cache, tmp_path, b"a" * 3000, old)
    cache.settle()
    assert cache.aliases.get(old.value) == sha(b"a" * 3000)  # written once per download, shared by processes
    os.utime(cache.content_path(sha(b"a" * 3000)), (1, 1))
    stale = cache.root / "tmp" / "crashed-writer"
    stale.write_bytes(b"partial")
    os.utime(stale, (1, 1))
    put(cache, tmp_path, b"b" * 3000, kept)
    cache.settle()
    assert cache.materialise(old, 3000, tmp_path / "gone", link=False) is None
    assert cache.aliases.get(old.value) is None and cache.aliases.get(kept.value) == sha(b"b" * 3000)
    assert not stale.exists()


def test_an_unreadable_alias_index_is_a_miss_not_an_error(cache: ContentCache, tmp_path: Path) -> None:
    identity = CacheKey.identity("x")
    put(cache, tmp_path, b"data", identity)
    cache.settle()
    cache.aliases.close()
    (cache.root / "aliases.db").write_bytes(b"this is not a database")
    for suffix in ("-wal", "-shm"):
        (cache.root / f"aliases.db{suffix}").unlink(missing_ok=True)
    assert cache.materialise(identity, 4, tmp_path / "out", link=False) is None  # rebuilt empty: a miss
    assert cache.materialise(key_of(b"data"), 4, tmp_path / "out2", link=False) == sha(b"data")
    put(cache, tmp_path, b"data", identity)
    cache.settle()
    assert ContentCache(cache.directory, cache.max_bytes).aliases.get(identity.value) == sha(b"data")


def test_objects_larger_than_the_cap_are_not_cached(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path / "cache", max_bytes=10)
    put(cache, tmp_path, b"x" * 11)
    assert cache.stats.inserted == 0


def test_a_missing_usage_count_is_rebuilt_by_a_scan(cache: ContentCache, tmp_path: Path) -> None:
    put(cache, tmp_path, b"x" * 123)
    (cache.root / "usage").unlink(missing_ok=True)
    fresh = ContentCache(cache.directory, cache.max_bytes)
    fresh.settle()
    assert (cache.root / "usage").read_text() == "123"


def test_reflink_is_used_where_the_filesystem_clones_and_still_verified(
    cache: ContentCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_ficlone(dst: int, request: int, src: int) -> int:  # what FICLONE does, as a byte copy
        assert request == cache_files.FICLONE
        os.lseek(src, 0, os.SEEK_SET)
        os.write(dst, os.read(src, 1 << 20))
        return 0

    monkeypatch.setattr(cache_files.fcntl, "ioctl", fake_ficlone)
    data = b"cloned"
    put(cache, tmp_path, data)
    assert cache.materialise(key_of(data), len(data), tmp_path / "out", link=False) == sha(data)
    assert cache.clone.cloned == 2  # into the cache, then out of it
    assert (tmp_path / "out").read_bytes() == data


def test_a_filesystem_without_reflinks_is_not_asked_again(
    cache: ContentCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def refuse(dst: int, request: int, src: int) -> int:
        calls.append(request)
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(cache_files.fcntl, "ioctl", refuse)
    cache.clone.enabled = True
    for i in range(3):
        put(cache, tmp_path, bytes([i]) * 10)
        assert cache.materialise(key_of(bytes([i]) * 10), 10, tmp_path / f"o{i}", link=False)
    assert len(calls) == 1 and not cache.clone.enabled


def _fill(directory: str, blobs: list[bytes], barrier: multiprocessing.synchronize.Barrier, queue: object) -> None:
    cache = ContentCache(Path(directory), max_bytes=10**9)
    work = Path(directory).parent / f"src-{os.getpid()}"
    work.mkdir()
    barrier.wait()
    for blob in blobs:
        path = work / "blob"
        path.write_bytes(blob)
        cache.insert(CacheKey("sha256", sha(blob)), path, sha(blob), len(blob))
        target = work / "served"
        assert cache.materialise(CacheKey("sha256", sha(blob)), len(blob), target, link=False) == sha(blob)
        target.unlink()
    queue.put(cache.stats.inserted)  # type: ignore[attr-defined]


def test_two_processes_filling_the_same_entries_both_succeed_and_each_entry_is_written_once(tmp_path: Path) -> None:
    blobs = [os.urandom(200_000) for _ in range(40)]
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_fill, args=(str(tmp_path / "cache"), blobs, barrier, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert queue.get(timeout=5) + queue.get(timeout=5) == len(blobs)  # the first link wins, the other one skips
    cache = ContentCache(tmp_path / "cache", max_bytes=10**9)
    for blob in blobs:
        assert cache.content_path(sha(blob)).read_bytes() == blob
    assert list((cache.root / "tmp").iterdir()) == []


def test_settings_turn_the_cache_off_or_point_it_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert ContentCache.from_settings(PeragoSettings(cache_max_bytes=0)) is None
    chosen = ContentCache.from_settings(PeragoSettings(cache_dir=tmp_path / "c", cache_max_bytes=5))
    assert chosen is not None and chosen.directory == tmp_path / "c" and chosen.max_bytes == 5
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigurationError, match=r"PERAGO_CACHE_DIR=.*cannot be used.*PERAGO_CACHE_MAX_BYTES=0"):
        ContentCache.from_settings(PeragoSettings(cache_dir=blocker / "sub"))
    monkeypatch.delenv("PERAGO_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert default_cache_dir() == blocker / "perago"
    assert ContentCache.from_settings(PeragoSettings()) is None  # the default place is unusable: run without


def test_default_cache_dir_falls_back_to_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "perago"


@pytest.mark.parametrize("size", [0, 1024 * 1024, 2 * 1024 * 1024 + 17])
def test_empty_and_multi_chunk_entries_round_trip(tmp_path: Path, size: int) -> None:
    cache = ContentCache(tmp_path / "cache", max_bytes=10 * 2**20)
    data = os.urandom(size)
    put(cache, tmp_path, data)
    assert cache.materialise(key_of(data), size, tmp_path / "out", link=False) == sha(data)
    assert (tmp_path / "out").read_bytes() == data
