"""The lakeFS emulator's data model: repositories, commits (full trees), branches with staging, tags.

A commit stores its whole tree (path -> entry); trees are shared dicts, copied only when a commit changes them.
Entries are immutable and compare by lakeFS's identity (size, checksum, user metadata, content type), which is
what three-way merges and diffs compare.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

BRANCH_RE = re.compile(r"^\w[-\w]*$")
REPO_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")
TAG_RE = re.compile(r"^[^\s~^:?*\[\\/]+$")


class ApiError(Exception):
    """An error answer: HTTP status and lakeFS's ``{"message": ...}`` body."""

    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body if body is not None else {"message": message}


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


def same_tree(left: dict[str, Entry], right: dict[str, Entry]) -> bool:
    """True when both trees hold the same paths with the same entry identities."""
    if left is right:
        return True
    return left.keys() == right.keys() and all(left[p].identity == right[p].identity for p in left)


@dataclass
class Commit:
    id: str
    parents: list[str]
    message: str
    metadata: dict[str, str]
    creation_date: int
    tree: dict[str, Entry]
    committer: str = "admin"
    generation: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parents": list(self.parents),
            "committer": self.committer,
            "message": self.message,
            "creation_date": self.creation_date,
            "meta_range_id": hashlib.sha256(self.id.encode()).hexdigest(),
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
    presign: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, Branch] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.name,
            "creation_date": self.creation_date,
            "default_branch": self.default_branch,
            "storage_namespace": self.storage_namespace,
            "read_only": False,
        }

    # -- refs -----------------------------------------------------------------------------------------------------
    def branch(self, name: str) -> Branch:
        found = self.branches.get(name)
        if found is None:
            raise ApiError(404, f"branch not found: {name}")
        return found

    def resolve(self, ref: str) -> Commit:
        """A commit id, unique prefix, branch, tag, with ``~N`` / ``^N`` suffixes."""
        match = re.match(r"^(.*?)((?:[~^]\d*)*)$", ref)
        assert match is not None
        base, suffix = match.group(1), match.group(2)
        commit = self._resolve_base(base)
        for op, count in re.findall(r"([~^])(\d*)", suffix):
            n = int(count) if count else 1
            commit = self._walk(commit, op, n, ref)
        return commit

    def _resolve_base(self, ref: str) -> Commit:
        if ref in self.branches:
            return self.commits[self.branches[ref].head]
        if ref in self.tags:
            return self.commits[self.tags[ref]]
        if ref in self.commits:
            return self.commits[ref]
        if re.fullmatch(r"[0-9a-f]{4,63}", ref):
            found = [cid for cid in self.commits if cid.startswith(ref)]
            if len(found) == 1:
                return self.commits[found[0]]
        raise ApiError(404, f"reference not found: {ref}")

    def _walk(self, commit: Commit, op: str, n: int, ref: str) -> Commit:
        if op == "^":
            if n == 0:
                return commit
            if len(commit.parents) < n:
                raise ApiError(404, f"reference not found: {ref}")
            return self.commits[commit.parents[n - 1]]
        for _ in range(n):
            if not commit.parents:
                raise ApiError(404, f"reference not found: {ref}")
            commit = self.commits[commit.parents[0]]
        return commit

    def view(self, ref: str) -> dict[str, Entry]:
        """What a read at ``ref`` sees: a branch includes its staged changes."""
        if ref in self.branches:
            branch = self.branches[ref]
            tree = self.commits[branch.head].tree
            if not branch.staging:
                return tree
            merged = dict(tree)
            for path, entry in branch.staging.items():
                if entry is None:
                    merged.pop(path, None)
                else:
                    merged[path] = entry
            return merged
        return self.resolve(ref).tree

    # -- commits ----------------------------------------------------------------------------------------------
    def new_commit(self, parents: list[str], message: str, metadata: dict[str, str], tree: dict[str, Entry]) -> Commit:
        cid = hashlib.sha256(os.urandom(32) + message.encode()).hexdigest()
        generation = 1 + max((self.commits[p].generation for p in parents), default=0)
        commit = Commit(cid, parents, message, dict(metadata), int(time.time()), tree, generation=generation)
        self.commits[cid] = commit
        return commit

    def commit_branch(self, name: str, message: str, metadata: dict[str, str], allow_empty: bool) -> Commit:
        branch = self.branch(name)
        head = self.commits[branch.head]
        tree = self.view(name)
        if same_tree(tree, head.tree):
            if not allow_empty:
                raise ApiError(400, "commit: no changes")
            tree = head.tree
        commit = self.new_commit([head.id], message, metadata, tree)
        branch.head, branch.staging = commit.id, {}
        return commit

    def ancestors(self, cid: str) -> dict[str, int]:
        """Every ancestor of a commit (itself included) with its distance."""
        seen: dict[str, int] = {}
        frontier = [(cid, 0)]
        while frontier:
            current, depth = frontier.pop()
            if current in seen and seen[current] <= depth:
                continue
            seen[current] = depth
            frontier.extend((p, depth + 1) for p in self.commits[current].parents)
        return seen

    def merge_base(self, left: str, right: str) -> Commit | None:
        a, b = self.ancestors(left), self.ancestors(right)
        common = [c for c in a if c in b]
        if not common:
            return None
        return self.commits[min(common, key=lambda c: (a[c] + b[c], -self.commits[c].generation))]
