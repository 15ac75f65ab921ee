"""The content cache's alias index: store identity -> SHA-256 of the bytes, in one SQLite file (``aliases.db``).

Objects that carry no ``sha256`` metadata are keyed by what the store guarantees identifies their bytes (see
:class:`perago.cache.CacheKey`); the index says which content file holds them. One row per object in one file,
rather than one symlink per object: on ext4 a symlink costs an inode, as much as creating the file itself, and a
cold download would pay it for every object. SQLite in WAL mode lets every process of the machine read while one
writes; new aliases are written once per download (:meth:`AliasIndex.add_many`), in one transaction.

The index is only a hint: every served file is still hashed and compared with the SHA-256 found here, so a wrong,
stale or lost row costs a download, never a wrong file. Any SQLite error is logged and treated as a miss.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path

from loguru import logger

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS aliases (id TEXT PRIMARY KEY, sha256 TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS aliases_by_content ON aliases (sha256)",
)


class AliasIndex:
    """Identity -> SHA-256, shared by the processes of a machine (one connection per instance, behind a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as exc:  # not a database (any more): it is only a hint, start afresh
                logger.warning("content cache index {} is unreadable ({}); starting a new one", self.path, exc)
                for suffix in ("", "-wal", "-shm"):
                    self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
                self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a lost row after a power cut only costs a download
            for statement in _SCHEMA:
                db.execute(statement)
        except BaseException:
            db.close()
            raise
        weakref.finalize(self, db.close)  # closed with the index, never left to the garbage collector
        return db

    def get(self, identity: str) -> str | None:
        """The SHA-256 recorded for an identity, or None."""
        try:
            with self._lock:
                row = self._connection().execute("SELECT sha256 FROM aliases WHERE id = ?", (identity,)).fetchone()
        except sqlite3.Error as exc:
            logger.warning("content cache index {}: {}; treated as a miss", self.path, exc)
            return None
        return str(row[0]) if row else None

    def add_many(self, rows: Iterable[tuple[str, str]]) -> None:
        """Record (identity, SHA-256) pairs; an identity already present keeps its first content."""
        self._write("INSERT OR IGNORE INTO aliases (id, sha256) VALUES (?, ?)", list(rows))

    def forget(self, digests: Iterable[str]) -> None:
        """Drop the aliases of content that is no longer cached (after an eviction)."""
        self._write("DELETE FROM aliases WHERE sha256 = ?", [(digest,) for digest in digests])

    def _write(self, statement: str, rows: list[tuple[str, ...]]) -> None:
        if not rows:
            return
        try:
            with self._lock:
                db = self._connection()
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.executemany(statement, rows)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
        except sqlite3.Error as exc:
            logger.warning("content cache index {}: could not write {} row(s): {}", self.path, len(rows), exc)

    def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
