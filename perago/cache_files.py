"""File operations of the content cache: reflink, copy or hard link, and the SHA-256 of what was served.

A reflink (``FICLONE``) where the filesystem can, a copy otherwise, a hard link only when asked; the digest is always
of whatever the attempt directory ends up holding.

A reflink shares the cached blocks copy-on-write: a task that rewrites the file in place gets new blocks, the cache
keeps its own. A hard link shares the inode itself, so :class:`perago.cache.ContentCache` offers it only to tasks
that declare they do not write, keeps cached files read-only (0444), and hashes every file it serves, so an entry
that a task wrote through a link anyway is detected and fetched again instead of being served.

Files are handled through raw descriptors: serving a small cached file is one read, one hash and one write, because
on many filesystems creating the file is already most of the cost of a warm attempt.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import sys

FICLONE = 0x40049409
"""``_IOW(0x94, 9, int)`` from linux/fs.h: clone a whole file (btrfs, XFS with reflink, bcachefs, overlayfs on them)."""
_CHUNK = 1024 * 1024
_CANNOT_CLONE = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EPERM}
_NEW = os.O_CREAT | os.O_EXCL


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


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def copy_hashing(src: int, dst: int, size: int) -> str:
    """Copy ``src`` (expected to hold ``size`` bytes) to ``dst`` whole; return the SHA-256 of what was copied.

    Each read asks for one byte more than is still expected, so a short read ends the copy without a further
    call and a file that grew is still copied (and then fails the caller's comparison).
    """
    digest = hashlib.sha256()
    offset = 0
    while True:
        wanted = min(_CHUNK, max(size - offset, 0) + 1)
        chunk = os.pread(src, wanted, offset)
        digest.update(chunk)
        _write_all(dst, chunk)
        offset += len(chunk)
        if len(chunk) < wanted:
            return digest.hexdigest()


def materialise(fd: int, path: str, target: str, size: int, *, link: bool, clone: CloneSupport) -> str | None:
    """Give ``target`` (a new path) the bytes of the cached file ``path`` (open as ``fd``), return their SHA-256.

    A hard link when ``link`` and the filesystem allows it; else a reflink; else a copy. The digest is always of
    what ``target`` holds, so the caller can compare it with the name of the entry it asked for.
    """
    if link:
        try:
            os.link(path, target)
        except OSError:
            pass  # another filesystem, a link limit: copy instead
        else:
            linked = os.open(target, os.O_RDONLY)
            try:
                return hash_fd(linked)
            finally:
                os.close(linked)
    out = os.open(target, _NEW | os.O_RDWR, 0o666)
    try:
        if clone.attempt(out, fd):
            return hash_fd(out)
        return copy_hashing(fd, out, size)
    finally:
        os.close(out)


def hash_fd(fd: int) -> str:
    """SHA-256 of a whole open file."""
    digest = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, _CHUNK, offset):
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()


def copy_into_cache(source: str, tmp: str, clone: CloneSupport) -> None:
    """Write a read-only copy (a reflink where possible) of ``source`` at the new path ``tmp``."""
    src = os.open(source, os.O_RDONLY)
    try:
        dst = os.open(tmp, _NEW | os.O_WRONLY, 0o444)
        try:
            if not clone.attempt(dst, src):
                _kernel_copy(src, dst, os.fstat(src).st_size)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _kernel_copy(src: int, dst: int, size: int) -> None:
    """Copy inside the kernel (no bytes through Python); a plain copy where ``copy_file_range`` is missing."""
    offset = 0
    try:
        while offset < size:
            sent = os.copy_file_range(src, dst, size - offset, offset, offset)
            if sent == 0:
                break
            offset += sent
    except (OSError, AttributeError):
        os.lseek(src, offset, os.SEEK_SET)
        os.lseek(dst, offset, os.SEEK_SET)
        with open(src, "rb", closefd=False) as reader, open(dst, "wb", closefd=False) as writer:
            shutil.copyfileobj(reader, writer, _CHUNK)
