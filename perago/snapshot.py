"""SHA-256 snapshots of a workspace directory and the diff between two of them.

A snapshot maps each relative POSIX path to an :class:`Entry`: regular files by the SHA-256 of their bytes,
symlinks by their target string (never followed, wherever they point). Directories are implied. The attempt
marker file at the root of an attempt directory is never part of a snapshot.

Fast path: a file written by the download gets a fixed mtime in the past (:func:`record_downloaded_file`), and
its entry carries the ``(size, mtime_ns, inode, ctime_ns)`` stamp seen right after. Any later write moves the mtime
to "now", a rename-over or delete-and-recreate changes the inode, a truncation changes the size, and the ctime moves
on every write, rename or metadata change and cannot be set back by the task (unlike the mtime, which ``utime`` or
``tar`` can restore); so
:func:`snapshot_directory` can reuse the recorded digest of every file whose stamp is unchanged and hash only the
rest. ``full_rehash=True`` ignores the stamps.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

ATTEMPT_WORKSPACE_MARKER = ".perago-attempt.json"
"""Name of the owner marker file at the root of every attempt directory."""

PINNED_MTIME_NS = 946_684_800 * 1_000_000_000
"""2000-01-01T00:00:00Z: the mtime given to downloaded files, so that any later write is visible."""

_CHUNK = 1024 * 1024
_LOCAL = threading.local()
_PARALLEL_MIN_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileStamp:
    """What ``os.lstat`` said about a file when its SHA-256 was recorded; a changed stamp means "re-hash"."""

    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int = 0

    @classmethod
    def of(cls, st: os.stat_result) -> FileStamp:
        """The stamp of a stat result."""
        return cls(size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino, ctime_ns=st.st_ctime_ns)


@dataclass(frozen=True, slots=True)
class Entry:
    """One path of a snapshot.

    Attributes:
        kind: ``"file"`` or ``"symlink"``.
        sha256: Hex SHA-256 of the file's bytes (for a symlink: of its target string, UTF-8).
        size: Size in bytes (for a symlink: length of the target string in bytes).
        target: The symlink's target as stored in the link (never resolved), else None.
        stamp: The file's stamp when it was hashed, if known (enables the no-re-hash fast path).
    """

    kind: Literal["file", "symlink"]
    sha256: str
    size: int
    target: str | None = None
    stamp: FileStamp | None = None

    def same_content(self, other: Entry) -> bool:
        """True when both entries describe the same bytes (or the same link target)."""
        return (self.kind, self.sha256, self.size, self.target) == (
            other.kind,
            other.sha256,
            other.size,
            other.target,
        )


Snapshot = Mapping[str, Entry]
"""Relative POSIX path (``a/b.csv``) -> entry. Directories are implied, never listed."""


@dataclass(frozen=True, slots=True)
class SnapshotDiff:
    """Paths added, changed and removed between two snapshots (each sorted)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when nothing changed."""
        return not (self.added or self.changed or self.removed)

    @property
    def upserted(self) -> tuple[str, ...]:
        """Added and changed paths: what publication must upload."""
        return tuple(sorted(self.added + self.changed))


class StreamingHasher:
    """SHA-256 and byte count of data seen in chunks: hash a download while it is written, never re-read it.

    Example:
        >>> hasher = StreamingHasher()
        >>> for chunk in response.stream(CHUNK):
        ...     handle.write(hasher.feed(chunk))
        >>> digest, size = hasher.result()
    """

    __slots__ = ("_digest", "size")

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self.size = 0

    def feed(self, chunk: bytes | bytearray | memoryview) -> bytes | bytearray | memoryview:
        """Add ``chunk`` to the digest and return it unchanged (so it can be written in the same expression)."""
        self._digest.update(chunk)
        self.size += len(chunk)
        return chunk

    def result(self) -> tuple[str, int]:
        """Hex SHA-256 and size of everything fed so far."""
        return self._digest.hexdigest(), self.size


class _Readable(Protocol):
    def readinto(self, buffer: bytearray, /) -> int | None: ...


class _Writable(Protocol):
    def write(self, data: memoryview, /) -> object: ...


def copy_and_hash(source: _Readable, sink: _Writable, chunk_size: int = _CHUNK) -> tuple[str, int]:
    """Copy ``source`` to ``sink`` through one reused buffer, hashing on the way; returns (hex SHA-256, size)."""
    hasher = StreamingHasher()
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    while n := source.readinto(buffer):
        hasher.feed(view[:n])
        sink.write(view[:n])
    return hasher.result()


def _thread_buffer() -> tuple[bytearray, memoryview]:
    """This thread's 1 MiB read buffer (allocated once: zeroing 1 MiB per small file would cost more than it)."""
    pair: tuple[bytearray, memoryview] | None = getattr(_LOCAL, "buffer", None)
    if pair is None:
        buffer = bytearray(_CHUNK)
        pair = (buffer, memoryview(buffer))
        _LOCAL.buffer = pair
    return pair


def hash_file(path: Path) -> tuple[str, int]:
    """SHA-256 hex digest and size of a file, read in 1 MiB chunks into a reused per-thread buffer."""
    digest = hashlib.sha256()
    buffer, view = _thread_buffer()
    size = 0
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(buffer):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


def symlink_entry(target: str) -> Entry:
    """The entry of a symlink whose stored target is ``target``."""
    raw = os.fsencode(target)
    return Entry(kind="symlink", sha256=hashlib.sha256(raw).hexdigest(), size=len(raw), target=target)


def record_downloaded_file(path: Path, sha256: str) -> Entry:
    """Pin a freshly written file's mtime and return its entry with a stamp (download -> before-snapshot).

    Args:
        path: The file, fully written and closed.
        sha256: Its SHA-256, computed while it was written.

    Returns:
        The entry, stamped so that a later :func:`snapshot_directory` need not read the file again.
    """
    os.utime(path, ns=(PINNED_MTIME_NS, PINNED_MTIME_NS), follow_symlinks=False)
    st = os.lstat(path)
    return Entry(kind="file", sha256=sha256, size=st.st_size, stamp=FileStamp.of(st))


def _walk(root: Path) -> Iterator[tuple[str, os.stat_result, str]]:
    """Yield (relative posix path, lstat, absolute path) for every non-directory below ``root``."""
    stack = [("", os.fspath(root))]
    while stack:
        prefix, directory = stack.pop()
        with os.scandir(directory) as entries:
            for item in entries:
                rel = prefix + item.name
                if not prefix and item.name == ATTEMPT_WORKSPACE_MARKER:
                    continue
                st = item.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append((rel + "/", item.path))
                else:
                    yield rel, st, item.path


def _reusable(previous: Snapshot | None, rel: str, st: os.stat_result) -> Entry | None:
    if previous is None:
        return None
    old = previous.get(rel)
    if old is None or old.kind != "file" or old.stamp is None:
        return None
    return old if old.stamp == FileStamp.of(st) else None


def _hashed(abs_path: str, st: os.stat_result) -> Entry:
    digest, size = hash_file(Path(abs_path))
    after = os.lstat(abs_path)
    # A file that changed while it was read keeps no stamp, so the next snapshot hashes it again.
    stamp = FileStamp.of(after) if FileStamp.of(after) == FileStamp.of(st) else None
    return Entry(kind="file", sha256=digest, size=size, stamp=stamp)


def snapshot_directory(
    root: Path, *, previous: Snapshot | None = None, full_rehash: bool = False, workers: int | None = None
) -> dict[str, Entry]:
    """Snapshot every file and symlink below ``root`` (the attempt marker excluded).

    Args:
        root: The directory.
        previous: An earlier snapshot with stamps (the download record): files whose stamp is unchanged keep
            their recorded digest and are not read.
        full_rehash: Ignore ``previous`` and hash every file.
        workers: Hashing threads (hashlib releases the GIL on large buffers); default: CPU count.

    Returns:
        Relative POSIX path -> entry. Special files (sockets, FIFOs, devices) are skipped.
    """
    result: dict[str, Entry] = {}
    to_hash: list[tuple[str, str, os.stat_result]] = []
    for rel, st, abs_path in _walk(root):
        if stat.S_ISLNK(st.st_mode):
            result[rel] = symlink_entry(os.readlink(abs_path))
        elif stat.S_ISREG(st.st_mode):
            reused = None if full_rehash else _reusable(previous, rel, st)
            if reused is not None:
                result[rel] = reused
            else:
                to_hash.append((rel, abs_path, st))
    result.update(_hash_all(to_hash, workers or os.cpu_count() or 1))
    return dict(sorted(result.items()))


def _hash_all(jobs: list[tuple[str, str, os.stat_result]], threads: int) -> list[tuple[str, Entry]]:
    """Hash the files, on ``threads`` threads when there is enough to share.

    Largest files first, each thread taking the next file when it is done: no per-file futures, and no thread
    idles while another is left with the big ones.
    """
    total = sum(st.st_size for _, _, st in jobs)
    if threads < 2 or len(jobs) < 2 or total < _PARALLEL_MIN_BYTES:
        return [(rel, _hashed(abs_path, st)) for rel, abs_path, st in jobs]
    queue = iter(sorted(jobs, key=lambda job: job[2].st_size, reverse=True))
    lock = threading.Lock()

    def drain() -> list[tuple[str, Entry]]:
        done: list[tuple[str, Entry]] = []
        while True:
            with lock:
                job = next(queue, None)
            if job is None:
                return done
            done.append((job[0], _hashed(job[1], job[2])))

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="perago-hash") as pool:
        parts = [pool.submit(drain) for _ in range(min(threads, len(jobs)))]
        return [item for part in parts for item in part.result()]


def diff_snapshots(before: Snapshot, after: Snapshot) -> SnapshotDiff:
    """Compare two snapshots by content: added, changed (bytes, link target or kind) and removed paths."""
    added = sorted(p for p in after if p not in before)
    removed = sorted(p for p in before if p not in after)
    changed = sorted(p for p in after if p in before and not after[p].same_content(before[p]))
    return SnapshotDiff(added=tuple(added), changed=tuple(changed), removed=tuple(removed))


def changes_since(root: Path, recorded: Snapshot) -> list[str]:
    """Paths below ``root`` that differ from ``recorded`` by stamp or link target, without reading any file.

    Cheap (one ``lstat`` per path): it tells whether a read-only task wrote to its workspace. A recorded file
    without a stamp counts as changed only if its size differs.
    """
    seen: set[str] = set()
    changed: list[str] = []
    for rel, st, abs_path in _walk(root):
        seen.add(rel)
        old = recorded.get(rel)
        if old is None or _differs(old, st, abs_path):
            changed.append(rel)
    changed.extend(rel for rel in recorded if rel not in seen)
    return sorted(changed)


def _differs(old: Entry, st: os.stat_result, abs_path: str) -> bool:
    if stat.S_ISLNK(st.st_mode):
        return old.kind != "symlink" or old.target != os.readlink(abs_path)
    if old.kind != "file":
        return True
    return old.stamp != FileStamp.of(st) if old.stamp is not None else old.size != st.st_size


def stamp_snapshot(root: Path) -> dict[str, Entry]:
    """Entries carrying only stamps and link targets (no digests): the input of :func:`changes_since`."""
    result: dict[str, Entry] = {}
    for rel, st, abs_path in _walk(root):
        if stat.S_ISLNK(st.st_mode):
            result[rel] = symlink_entry(os.readlink(abs_path))
        else:
            result[rel] = Entry(kind="file", sha256="", size=st.st_size, stamp=FileStamp.of(st))
    return result
