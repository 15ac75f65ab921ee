"""A local content cache shared by every attempt and worker process of a machine (``PERAGO_CACHE_DIR``).

Layout under ``<cache dir>/v1/``:

- ``sha256/<2 hex>/<sha256>``: the bytes, named by their SHA-256, read-only (0444);
- ``aliases.db``: for objects keyed by what the store guarantees identifies their bytes rather than by a SHA-256
  the store recorded (:class:`CacheKey`), which ``sha256/`` file holds them (:mod:`perago.cache_index`);
- ``tmp/``: files being written; ``usage`` and ``lock``: the shared byte count and the eviction lock.

Concurrency: entries are written to ``tmp/`` and linked into place, so a reader never sees a partial file; two
processes filling the same entry both succeed and the first link wins (the bytes are the same by construction).
Eviction holds an exclusive ``flock`` on ``lock``; a reader works from an open descriptor, so an entry evicted
under it is still read whole, and one evicted before it is opened is a miss. LRU: a hit sets the entry's mtime (at
most once a minute). A read-only attempt's downloads join the cache as hard links instead of copies.

What the cache serves is always verified: materialising an entry (:mod:`perago.cache_files`) hashes the bytes the
attempt directory receives and compares them with the entry's name, and an entry that does not match is removed
and reported as a miss, so the caller fetches the object again. Nothing is ever served unverified.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from loguru import logger

from perago.cache_files import CloneSupport, copy_into_cache, materialise
from perago.cache_index import AliasIndex
from perago.errors import ConfigurationError
from perago.settings import PeragoSettings

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
STALE_TMP_S = 3600.0
LRU_RESOLUTION_S = 60.0
"""A hit on an entry used less than this long ago does not touch its mtime again (one inode write saved per file)."""
LOW_WATER = 0.9
"""Eviction frees space down to this fraction of the cap, so that the next attempts need not evict again."""


@dataclass(frozen=True, slots=True)
class CacheKey:
    """What names an object's bytes: their SHA-256 (``kind="sha256"``) or a store identity (``kind="id"``)."""

    kind: Literal["sha256", "id"]
    value: str

    @classmethod
    def content(cls, sha256: str) -> CacheKey | None:
        """The key of bytes with this SHA-256 (None unless it is 64 lowercase hex digits)."""
        return cls("sha256", sha256) if _HEX64.match(sha256) else None

    @classmethod
    def identity(cls, *parts: str) -> CacheKey:
        """A key for a store identity made of ``parts`` (hashed, so any text is fine)."""
        return cls("id", hashlib.sha256("\0".join(parts).encode()).hexdigest())


@dataclass
class CacheStats:
    """What one :class:`ContentCache` did (this process only)."""

    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    inserted: int = 0
    inserted_bytes: int = 0
    evicted: int = 0


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/perago``, else ``~/.cache/perago`` (``~/Library/Caches/perago`` on macOS)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "perago"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "perago"


class ContentCache:
    """Object bytes by content, capped at ``max_bytes`` with least-recently-used eviction (see the module docstring).

    Example:
        >>> cache = ContentCache(Path("/var/cache/perago"), max_bytes=10 * 2**30)
        >>> sha256 = cache.materialise(key, size, tmp_path, link=False)  # None: a miss, fetch it
        >>> cache.insert(key, downloaded_file, sha256, size)
        >>> cache.settle()  # once per download: account for what was added, evict if over the cap
    """

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.root = directory / "v1"
        self._base = os.fspath(self.root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)  # cached bytes are as private as the attempt's
        for sub in ("sha256", "tmp"):
            (self.root / sub).mkdir(exist_ok=True, mode=0o700)
        self.stats = CacheStats()
        self.clone = CloneSupport()
        self._lock = threading.Lock()
        self._unsettled = 0
        self.aliases = AliasIndex(self.root / "aliases.db")
        self._new_aliases: dict[str, str] = {}  # written to the index once per download, in settle()

    @classmethod
    def from_settings(cls, settings: PeragoSettings) -> ContentCache | None:
        """The cache the settings ask for; None when it is off or its default directory is unusable.

        ``cache_max_bytes=0`` turns it off; an unusable default directory logs a warning and runs without a cache.

        Raises:
            ConfigurationError: An explicitly set ``PERAGO_CACHE_DIR`` cannot be used.
        """
        if settings.cache_max_bytes == 0:
            return None
        try:
            return cls(settings.cache_dir or default_cache_dir(), settings.cache_max_bytes)
        except (OSError, RuntimeError) as exc:
            if settings.cache_dir is not None:
                raise ConfigurationError(
                    f"PERAGO_CACHE_DIR={settings.cache_dir} cannot be used ({exc}); point it at a writable directory "
                    "or set PERAGO_CACHE_MAX_BYTES=0 to turn the cache off"
                ) from exc
            logger.warning(
                "content cache off: the default cache directory is not usable ({}); set PERAGO_CACHE_DIR", exc
            )
            return None

    # -- paths ------------------------------------------------------------------------------------------------------
    def content_path(self, sha256: str) -> Path:
        """Where the bytes with this SHA-256 live."""
        return Path(self._content(sha256))

    def _content(self, sha256: str) -> str:
        return f"{self._base}/sha256/{sha256[:2]}/{sha256}"  # strings: this runs once per file of every attempt

    def _sha_of(self, key: CacheKey) -> str | None:
        if key.kind == "sha256":
            return key.value
        with self._lock:
            pending = self._new_aliases.get(key.value)
        found = pending or self.aliases.get(key.value)
        return found if found and _HEX64.match(found) else None

    # -- reads ------------------------------------------------------------------------------------------------------
    def materialise(self, key: CacheKey, size: int, target: str, *, link: bool) -> str | None:
        """Put the cached bytes of ``key`` at ``target`` (a new path) and return their SHA-256; None on a miss.

        Args:
            key: The object's key.
            size: Its size as the store lists it (an entry of another size is not served).
            target: A path that does not exist yet, in the attempt directory.
            link: The task cannot write (read-only): a hard link is allowed. Otherwise a reflink, else a copy.

        Returns:
            The SHA-256 of what ``target`` now holds, verified against the entry; None: the caller fetches the object
            (nothing is left at ``target``).
        """
        sha = self._sha_of(key)
        served = None if sha is None else self._serve(sha, size, target, link)
        with self._lock:
            if served is None:
                self.stats.misses += 1
            else:
                self.stats.hits += 1
        return served

    def _serve(self, sha: str, size: int, target: str, link: bool) -> str | None:
        path = self._content(sha)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            digest = None
            if st.st_size == size:
                digest = materialise(fd, path, target, size, link=link, clone=self.clone)
        finally:
            os.close(fd)
        if digest != sha:
            with suppress(OSError):
                os.unlink(target)
            self._discard(path, st.st_ino, f"{st.st_size} bytes with SHA-256 {digest}, expected {size} bytes")
            return None
        if time.time() - st.st_mtime > LRU_RESOLUTION_S:
            with suppress(OSError):
                os.utime(path)  # least recently used = oldest mtime
        return sha

    def _discard(self, path: str, inode: int, why: str) -> None:
        """Remove a corrupt entry (only if it is still the file that was read: a fresh copy may have replaced it)."""
        logger.warning("content cache entry {} is corrupt ({}); removed, the object is fetched again", path, why)
        with self._lock:
            self.stats.corrupt += 1
        with suppress(OSError):
            if os.lstat(path).st_ino == inode:
                os.unlink(path)

    # -- writes -----------------------------------------------------------------------------------------------------
    def insert(self, key: CacheKey, source: str, sha256: str, size: int, *, link: bool = False) -> None:
        """Add the bytes of ``source`` (verified by the caller: SHA-256 ``sha256``, ``size`` bytes) under ``key``.

        ``link``: ``source`` belongs to a task that cannot write (read-only), so the cache may keep ``source``'s own
        inode (a hard link, made read-only) instead of a copy: filling the cache then costs no second file. Never
        raises for a full or unwritable cache: the download goes on without it (a warning says why).
        """
        if size > self.max_bytes or (key.kind == "sha256" and key.value != sha256):
            return
        try:
            added = self._adopt(source, sha256) if link else self._add_content(source, sha256)
        except OSError as exc:
            logger.warning("could not add {} to the content cache at {}: {}", source, self.directory, exc)
            return
        with self._lock:
            if key.kind == "id":
                self._new_aliases[key.value] = sha256
            if added:
                self.stats.inserted += 1
                self.stats.inserted_bytes += size
                self._unsettled += size

    def _add_content(self, source: str, sha256: str) -> bool:
        final = self._content(sha256)
        if os.path.exists(final):
            return False
        tmp = f"{self._base}/tmp/{sha256[:16]}-{uuid.uuid4().hex}"
        try:
            copy_into_cache(source, tmp, self.clone)
            return _link_new(tmp, final)
        finally:
            with suppress(OSError):
                os.unlink(tmp)

    def _adopt(self, source: str, sha256: str) -> bool:
        final = self._content(sha256)
        if os.path.exists(final):
            return False
        os.chmod(source, 0o444)
        try:
            return _link_new(source, final)
        except OSError:  # another filesystem: a copy, as for a task that writes
            return self._add_content(source, sha256)

    # -- accounting and eviction -------------------------------------------------------------------------------------
    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        with open(self.root / "lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def settle(self) -> None:
        """Add what this process inserted to the shared byte count; over the cap, evict the least recently used.

        Called once per download, so the lock is taken once per attempt, not once per object.
        """
        with self._lock:
            added, self._unsettled = self._unsettled, 0
            aliases, self._new_aliases = self._new_aliases, {}
        self.aliases.add_many(aliases.items())
        try:
            with self._exclusive():
                usage = self._read_usage()
                usage = self._scan()[1] if usage is None else usage + added
                if usage > self.max_bytes:
                    usage = self._evict()
                (self.root / "usage").write_text(str(usage))
        except OSError as exc:
            logger.warning("content cache at {}: could not account or evict: {}", self.directory, exc)

    def _read_usage(self) -> int | None:
        try:
            return int((self.root / "usage").read_text())
        except (OSError, ValueError):
            return None

    def _scan(self) -> tuple[list[tuple[float, int, str]], int]:
        """Every content file as (mtime, size, path), and their total size."""
        found = []
        for sub in os.scandir(self.root / "sha256"):
            if sub.is_dir(follow_symlinks=False):
                for item in os.scandir(sub.path):
                    with suppress(OSError):
                        st = item.stat(follow_symlinks=False)
                        found.append((st.st_mtime, st.st_size, item.path))
        return found, sum(size for _, size, _ in found)

    def _evict(self) -> int:
        """Remove least recently used entries down to the low-water mark, their aliases and stale temp files."""
        found, total = self._scan()
        goal = int(self.max_bytes * LOW_WATER)
        evicted = []
        for _, size, path in sorted(found):
            if total <= goal:
                break
            try:
                os.unlink(path)
            except FileNotFoundError:
                total -= size  # another process removed it (a corrupt entry): freed all the same
            except OSError as exc:
                logger.debug("content cache: cannot evict {}: {}", path, exc)  # e.g. another user's entry
            else:
                total -= size
                evicted.append(os.path.basename(path))
                with self._lock:
                    self.stats.evicted += 1
        self.aliases.forget(evicted)
        self._sweep()
        return total

    def _sweep(self) -> None:
        now = time.time()
        for item in os.scandir(self.root / "tmp"):
            with suppress(OSError):
                if now - item.stat(follow_symlinks=False).st_mtime > STALE_TMP_S:
                    os.unlink(item.path)


def _link_new(source: str, name: str) -> bool:
    """Link ``name`` to ``source`` unless ``name`` exists (False: another process linked it first, same content)."""
    try:
        os.link(source, name)
    except FileExistsError:
        return False
    except FileNotFoundError:
        os.makedirs(os.path.dirname(name), exist_ok=True)  # the first entry of its 2-hex-digit folder
        try:
            os.link(source, name)
        except FileExistsError:
            return False
    return True
