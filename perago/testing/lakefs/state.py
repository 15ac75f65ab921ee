"""The lakeFS emulator's data model: repositories, commits (full trees), branches with staging, tags.

A commit stores its whole tree (path -> entry); trees are shared dicts, copied only when a commit changes them.
Entries are immutable and compare by lakeFS's identity (pkg/catalog/entry.go EntryToValue: size, checksum, user
metadata, content type), which is what merges, diffs and "no changes" compare. A commit's ``meta_range_id`` is a
hash of that content, so two commits with the same content share it, as lakeFS's content-addressed metaranges do.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from perago.testing.lakefs.calls import ApiError

_NS = 1_000_000_000


@dataclass(frozen=True)
class Entry:
    """A stored object: where its bytes are and what identifies it."""

    address: str
    size: int
    checksum: str
    mtime: int
    metadata: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/octet-stream"

    @property
    def identity(self) -> tuple[Any, ...]:
        return (self.size, self.checksum, self.metadata, self.content_type)


def identity_of(entry: Entry | None) -> tuple[Any, ...] | None:
    """An entry's identity; None for no entry (absent or a staged deletion)."""
    return None if entry is None else entry.identity


def same_tree(left: dict[str, Entry], right: dict[str, Entry]) -> bool:
    """True when both trees hold the same paths with the same entry identities."""
    if left is right:
        return True
    return left.keys() == right.keys() and all(left[p].identity == right[p].identity for p in left)


def tree_id(tree: dict[str, Entry]) -> str:
    """A content hash of a tree (the emulator's metarange id)."""
    digest = hashlib.sha256()
    for path in sorted(tree):
        digest.update(repr((path, tree[path].identity)).encode())
    return digest.hexdigest()


@dataclass
class Commit:
    id: str
    parents: list[str]
    message: str
    metadata: dict[str, str]
    creation_ns: int
    tree: dict[str, Entry]
    committer: str = "admin"
    generation: int = 1
    meta_range: str = ""
    sorted_paths: list[str] | None = None

    @property
    def creation_date(self) -> int:
        return self.creation_ns // _NS

    @property
    def meta_range_id(self) -> str:
        if not self.meta_range:
            self.meta_range = tree_id(self.tree)
        return self.meta_range

    def paths(self) -> list[str]:
        """The tree's paths in order (sorted once: a commit's tree never changes)."""
        if self.sorted_paths is None:
            self.sorted_paths = sorted(self.tree)
        return self.sorted_paths

    def to_json(self) -> dict[str, Any]:
        """controller.go commitResponse."""
        return {
            "id": self.id,
            "parents": list(self.parents),
            "committer": self.committer,
            "message": self.message,
            "creation_date": self.creation_date,
            "meta_range_id": self.meta_range_id,
            "metadata": dict(self.metadata),
            "generation": self.generation,
            "version": 1,
        }


@dataclass
class Branch:
    name: str
    head: str
    staging: dict[str, Entry | None] = field(default_factory=dict)  # None: a staged deletion
    hidden: bool = False


@dataclass
class Repository:
    name: str
    storage_namespace: str
    default_branch: str
    creation_date: int
    presign: bool | None = None  # None: the emulator's default
    storage_id: str = ""
    read_only: bool = False
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, Branch] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    protected: dict[str, frozenset[str]] = field(default_factory=dict)  # branch pattern -> blocked actions
    lock: threading.RLock = field(default_factory=threading.RLock)

    def to_json(self) -> dict[str, Any]:
        """controller.go GetRepository."""
        return {
            "id": self.name,
            "creation_date": self.creation_date,
            "default_branch": self.default_branch,
            "storage_id": self.storage_id,
            "storage_namespace": self.storage_namespace,
            "read_only": self.read_only,
        }

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (an emulator's ``storage_dir``) without its lock, which a load replaces."""
        return {k: v for k, v in self.__dict__.items() if k != "lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.lock = threading.RLock()

    def branch(self, name: str) -> Branch:
        found = self.branches.get(name)
        if found is None:
            raise ApiError(404, "branch not found")
        return found

    def head_tree(self, branch: Branch) -> dict[str, Entry]:
        return self.commits[branch.head].tree

    def staged_view(self, branch: Branch) -> dict[str, Entry]:
        """What a read of a branch sees: its head with the staged changes applied."""
        tree = self.head_tree(branch)
        if not branch.staging:
            return tree
        merged = dict(tree)
        for path, entry in branch.staging.items():
            if entry is None:
                merged.pop(path, None)
            else:
                merged[path] = entry
        return merged

    def staged_entry(self, branch: Branch, path: str) -> Entry | None:
        """One path of :meth:`staged_view`, without building the whole tree."""
        if path in branch.staging:
            return branch.staging[path]
        return self.head_tree(branch).get(path)

    def is_dirty(self, branch: Branch) -> bool:
        """graveler isUncommittedEmpty: staged entries identical to the head (or deleting nothing) are no change."""
        head = self.head_tree(branch)
        return any(identity_of(entry) != identity_of(head.get(path)) for path, entry in branch.staging.items())

    def new_commit(
        self,
        parents: list[str],
        message: str,
        metadata: dict[str, str],
        tree: dict[str, Entry],
        *,
        now_ns: int,
        committer: str = "admin",
    ) -> Commit:
        cid = hashlib.sha256(os.urandom(32) + message.encode()).hexdigest()
        generation = 1 + max((self.commits[p].generation for p in parents), default=0)
        commit = Commit(cid, parents, message, dict(metadata), now_ns, tree, committer, generation)
        self.commits[cid] = commit
        return commit

    def commit_branch(
        self, name: str, message: str, metadata: dict[str, str], allow_empty: bool, now_ns: int | None = None
    ) -> Commit:
        """graveler.Commit without HTTP (also how tests and benchmarks seed data): 400 "no changes" unless
        ``allow_empty``; the caller holds the lock."""
        branch = self.branch(name)
        head = self.commits[branch.head]
        tree = self.staged_view(branch)
        if not self.is_dirty(branch):
            if not allow_empty:
                raise ApiError(400, "commit: no changes" if branch.staging else "no changes")
            tree = head.tree
        stamp = time.time_ns() if now_ns is None else now_ns
        commit = self.new_commit([head.id], message, metadata, tree, now_ns=stamp)
        branch.head, branch.staging = commit.id, {}
        return commit
