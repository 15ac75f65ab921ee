"""SHA-256 snapshots of a workspace directory and the diff between two of them.

(Types are fixed here; the core implementation fills in the functions.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True, slots=True)
class FileStamp:
    """What ``os.lstat`` said about a file when its SHA-256 was recorded; a changed stamp means "re-hash"."""

    size: int
    mtime_ns: int
    inode: int


@dataclass(frozen=True, slots=True)
class Entry:
    """One path of a snapshot.

    Attributes:
        kind: ``"file"`` or ``"symlink"``.
        sha256: Hex SHA-256 of the file's bytes (for a symlink: of its target string, UTF-8).
        size: Size in bytes (for a symlink: length of the target string).
        target: The symlink's target as stored in the link (never resolved), else None.
        stamp: The file's stamp when it was hashed, if known (enables the no-re-hash fast path).
    """

    kind: Literal["file", "symlink"]
    sha256: str
    size: int
    target: str | None = None
    stamp: FileStamp | None = None


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


def snapshot_directory(
    root: Path, *, previous: Snapshot | None = None, full_rehash: bool = False
) -> dict[str, Entry]:
    """Snapshot ``root`` (see module docstring)."""
    raise NotImplementedError


def diff_snapshots(before: Snapshot, after: Snapshot) -> SnapshotDiff:
    """Compare two snapshots."""
    raise NotImplementedError


def record_downloaded_file(path: Path, sha256: str) -> Entry:
    """Pin a freshly written file's mtime and return its entry with a stamp (download -> before-snapshot)."""
    raise NotImplementedError
