"""File operations of the content cache: reflink, copy or hard link, and the SHA-256 of what was served.

A reflink (``FICLONE``) where the filesystem can, a copy otherwise, a hard link only when asked; the digest is always
of whatever the attempt directory ends up holding.

A reflink shares the cached blocks copy-on-write: a task that rewrites the file in place gets new blocks, the cache
keeps its own. A hard link shares the inode itself, so :class:`perago.cache.ContentCache` offers it only to tasks
that declare they do not write, keeps cached files read-only (0444), and hashes every file it serves, so an entry
that a task wrote through a link anyway is detected and fetched again instead of being served.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import sys
from pathlib import Path

from perago.snapshot import copy_and_hash, hash_file

FICLONE = 0x40049409
"""``_IOW(0x94, 9, int)`` from linux/fs.h: clone a whole file (btrfs, XFS with reflink, bcachefs, overlayfs on them)."""
_CHUNK = 1024 * 1024
_CANNOT_CLONE = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EPERM}


class CloneSupport:
    """Whether reflinks work between the cache and the attempt directories (learned once, on the first try)."""

    def __init__(self) -> None:
        self.enabled = sys.platform.startswith("linux")
        self.cloned = 0

    def attempt(self, dst_fd: int, src_fd: int) -> bool:
        """Clone ``src_fd``'s bytes into the empty ``dst_fd``; False when the filesystem cannot (then never again)."""
        if not self.enabled:
            return False
        try:
            fcntl.ioctl(dst_fd, FICLONE, src_fd)
        except OSError as exc:
            if exc.errno in _CANNOT_CLONE:
                self.enabled = False
            return False
        self.cloned += 1
        return True


def materialise(fd: int, path: Path, target: Path, *, link: bool, clone: CloneSupport) -> str | None:
    """Give ``target`` (a new path) the bytes of the cached file ``path`` (open as ``fd``), return their SHA-256.

    A hard link when ``link`` and the filesystem allows it; else a reflink; else a copy. The digest is always of
    what ``target`` holds, so the caller can compare it with the name of the entry it asked for.
    """
    if link:
        try:
            os.link(path, target)
            return hash_file(target)[0]
        except OSError:
            target.unlink(missing_ok=True)  # another filesystem, a link limit: copy instead
    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        if clone.attempt(out, fd):
            os.close(out)
            out = -1
            return hash_file(target)[0]
        size = os.fstat(fd).st_size
        with open(fd, "rb", buffering=0, closefd=False) as src, open(out, "wb", buffering=0, closefd=False) as dst:
            return copy_and_hash(src, dst, chunk_size=max(1, min(size, _CHUNK)))[0]
    finally:
        if out >= 0:
            os.close(out)


def copy_into_cache(source: Path, tmp: Path, clone: CloneSupport) -> None:
    """Write a read-only copy (a reflink where possible) of ``source`` at the new path ``tmp``."""
    with open(source, "rb") as src, open(tmp, "xb") as dst:
        cloned = clone.attempt(dst.fileno(), src.fileno())
    if not cloned:
        shutil.copyfile(source, tmp)  # the kernel copies (sendfile / copy_file_range), no bytes through Python
    os.chmod(tmp, 0o444)
