"""References as lakeFS's graveler resolves and walks them.

- Parsing and resolution: pkg/graveler/ref/parse_ref.go ParseRef and resolve_ref.go ResolveRawRef: a full commit
  id first, then a branch, a tag, then any unique commit id prefix (1-64 hex characters); then ``~N`` (first
  parents), ``^N`` (N-th parent, ``^0`` itself), and ``@`` / ``$`` (a branch's committed / staged content, alone).
- Merge base: ref/merge_base_finder.go FindMergeBase (walk both sides by highest generation first; the first
  commit reached from both).
- Log: ref/commit_iterator.go (a queue by creation time, newest first, ties by commit id descending; parents are
  queued when popped; ``first_parent`` queues only the first; commits older than ``since`` are not queued).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass

from perago.testing.lakefs.calls import ApiError
from perago.testing.lakefs.state import Commit, Entry, Repository

_MODIFIERS = re.compile(r"(^|[~^@$])[^^~@$]*")
_HASH = re.compile(r"^[a-fA-F0-9]{1,64}$")


@dataclass(frozen=True)
class Resolved:
    """A resolved reference: the commit, the branch when the ref named one, and its ``@``/``$`` modifier."""

    commit: Commit
    branch: str | None = None
    modifier: str = ""


def invalid_ref() -> ApiError:
    return ApiError(400, "ref: invalid value: validation error")


def _parse(ref: str) -> tuple[str, list[tuple[str, int]]]:
    full = [m.group(0) for m in _MODIFIERS.finditer(ref)]
    if not full or not full[0]:
        raise invalid_ref()
    modifiers = []
    for part in full[1:]:
        kind, rest = part[0], part[1:]
        if kind in "@$" and rest:
            raise invalid_ref()
        if rest and not rest.isdigit():
            raise invalid_ref()
        modifiers.append((kind, int(rest) if rest else 1))
    return full[0], modifiers


def _base(repo: Repository, rev: str) -> Resolved:
    if len(rev) == 64 and _HASH.match(rev) and rev in repo.commits:
        return Resolved(repo.commits[rev])
    if rev in repo.branches:
        return Resolved(repo.commits[repo.branches[rev].head], rev)
    if rev in repo.tags:
        return Resolved(repo.commits[repo.tags[rev]])
    if _HASH.match(rev):
        found = [cid for cid in repo.commits if cid.startswith(rev.lower())]
        if len(found) == 1:  # ref manager GetCommitByPrefix: an ambiguous prefix is "not found"
            return Resolved(repo.commits[found[0]])
    raise ApiError(404, "not found")


def resolve(repo: Repository, ref: str) -> Resolved:
    """ResolveRawRef; a plain branch ref reads its staged content, a modified one a commit."""
    base_ref, modifiers = _parse(ref)
    resolved = _base(repo, base_ref)
    if not modifiers:
        return resolved
    if modifiers[0][0] in "@$":
        if resolved.branch is None or len(modifiers) != 1:
            raise invalid_ref()
        return Resolved(resolved.commit, resolved.branch, modifiers[0][0])
    commit = resolved.commit
    for kind, count in modifiers:
        commit = _step(repo, commit, kind, count)
    return Resolved(commit)


def _step(repo: Repository, commit: Commit, kind: str, count: int) -> Commit:
    if kind == "~":
        for _ in range(count):
            if not commit.parents:
                raise ApiError(404, "not found")
            commit = repo.commits[commit.parents[0]]
        return commit
    if kind == "^":
        if count == 0:
            return commit
        if count > len(commit.parents):
            raise invalid_ref()
        return repo.commits[commit.parents[count - 1]]
    raise invalid_ref()


def resolve_commit(repo: Repository, ref: str) -> Commit:
    """The commit a ref points at (``$`` is refused: it is not a commit, ErrDereferenceCommitWithStaging)."""
    if ref.endswith("$"):
        raise ApiError(400, "reference to staging area with $ is not a commit")
    return resolve(repo, ref).commit


def view(repo: Repository, ref: str) -> tuple[dict[str, Entry], list[str]]:
    """What object reads at ``ref`` see, and its paths sorted: a branch (or ``branch$``) includes staging,
    ``branch@`` does not."""
    resolved = resolve(repo, ref)
    if resolved.branch is not None and resolved.modifier != "@":
        branch = repo.branch(resolved.branch)
        if branch.staging:
            tree = repo.staged_view(branch)
            return tree, sorted(tree)
    return resolved.commit.tree, resolved.commit.paths()


def entry_at(repo: Repository, ref: str, path: str) -> Entry | None:
    """One path as :func:`view` sees it, without building the branch's whole staged tree."""
    resolved = resolve(repo, ref)
    if resolved.branch is not None and resolved.modifier != "@":
        return repo.staged_entry(repo.branch(resolved.branch), path)
    return resolved.commit.tree.get(path)


def merge_base(repo: Repository, left: str, right: str) -> Commit | None:
    """FindMergeBase over commit ids."""
    if left == right:
        return repo.commits[left]
    reached = {left: 1, right: 2}
    queue: list[tuple[int, int, str]] = []
    for cid in (left, right):
        c = repo.commits[cid]
        heapq.heappush(queue, (-c.generation, -c.creation_ns, cid))
    while queue:
        _, _, current = heapq.heappop(queue)
        flags = reached[current]
        for parent in repo.commits[current].parents:
            if parent not in reached:
                p = repo.commits[parent]
                heapq.heappush(queue, (-p.generation, -p.creation_ns, parent))
            reached[parent] = reached.get(parent, 0) | flags
            if reached[parent] == 3:
                return repo.commits[parent]
    return None


def log(repo: Repository, start: Commit, first_parent: bool, since_ns: int | None) -> Iterator[Commit]:
    """Commits reachable from ``start`` in commit_iterator.go's order."""

    def key(c: Commit) -> tuple[int, str]:
        return (-c.creation_ns, _desc(c.id))

    queue: list[tuple[tuple[int, str], str]] = []
    if since_ns is None or start.creation_ns >= since_ns:
        queue.append((key(start), start.id))
    visited: set[str] = set()
    while queue:
        _, cid = heapq.heappop(queue)
        commit = repo.commits[cid]
        yield commit
        parents = commit.parents[:1] if first_parent else commit.parents
        for parent in parents:
            if parent in visited:
                continue
            visited.add(parent)
            record = repo.commits[parent]
            if since_ns is not None and record.creation_ns < since_ns:
                continue
            heapq.heappush(queue, (key(record), parent))


def _desc(commit_id: str) -> str:
    """A sort key ordering hex ids descending (ties in creation time go to the larger id first)."""
    return "".join(chr(0x7F - ord(c)) for c in commit_id)
