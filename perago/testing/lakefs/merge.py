"""Three-way merge, diffs and reverts over commit trees, as lakeFS computes them (per path, by entry identity)."""

from __future__ import annotations

from typing import Any

from perago.testing.lakefs.state import ApiError, Commit, Entry, Repository, same_tree


def diff_trees(left: dict[str, Entry], right: dict[str, Entry]) -> list[dict[str, Any]]:
    """lakeFS Diff records from ``left`` to ``right``, sorted by path."""
    out = []
    for path in sorted(left.keys() | right.keys()):
        a, b = left.get(path), right.get(path)
        if a is None and b is not None:
            out.append({"type": "added", "path": path, "path_type": "object", "size_bytes": b.size})
        elif b is None and a is not None:
            out.append({"type": "removed", "path": path, "path_type": "object", "size_bytes": a.size})
        elif a is not None and b is not None and a.identity != b.identity:
            out.append({"type": "changed", "path": path, "path_type": "object", "size_bytes": b.size})
    return out


def _ident(entry: Entry | None) -> tuple[Any, ...] | None:
    return None if entry is None else entry.identity


def _pick(base: Entry | None, src: Entry | None, dst: Entry | None, strategy: str | None, path: str) -> Entry | None:
    if _ident(src) == _ident(base):
        return dst
    if _ident(dst) == _ident(base) or _ident(src) == _ident(dst):
        return src
    if strategy == "dest-wins":
        return dst
    if strategy == "source-wins":
        return src
    raise ApiError(409, f"conflict found: {path}", {"reference": ""})


def three_way(
    base: dict[str, Entry], src: dict[str, Entry], dst: dict[str, Entry], strategy: str | None
) -> dict[str, Entry]:
    """The merged tree; raises 409 on the first conflicting path unless a strategy resolves it."""
    merged: dict[str, Entry] = {}
    for path in sorted(base.keys() | src.keys() | dst.keys()):
        chosen = _pick(base.get(path), src.get(path), dst.get(path), strategy, path)
        if chosen is not None:
            merged[path] = chosen
    return merged


def merge(repo: Repository, source_ref: str, dest: str, body: dict[str, Any]) -> Commit:
    """Merge ``source_ref`` into branch ``dest`` (the caller holds the repository lock)."""
    branch = repo.branch(dest)
    if branch.staging and not same_tree(repo.view(dest), repo.commits[branch.head].tree):
        raise ApiError(400, f"merge: destination branch {dest} has uncommitted changes")
    source = repo.resolve(source_ref)
    head = repo.commits[branch.head]
    base = repo.merge_base(source.id, head.id)
    base_tree = base.tree if base is not None else {}
    strategy = body.get("strategy") or None
    if strategy not in (None, "dest-wins", "source-wins"):
        raise ApiError(400, f"merge strategy {strategy!r} is not supported")
    # committedManager.Merge (pkg/graveler/committed/manager.go): "no changes" only when the source's metarange is
    # the base's. Changes the destination already has (identical on both sides) still make a merge commit.
    if same_tree(source.tree, base_tree) and not body.get("allow_empty") and not body.get("force"):
        raise ApiError(400, "no changes")
    tree = three_way(base_tree, source.tree, head.tree, strategy)
    parents = [head.id] if body.get("squash_merge") else [head.id, source.id]
    message = body.get("message") or f"Merge '{source_ref}' into '{dest}'"
    commit = repo.new_commit(parents, message, dict(body.get("metadata") or {}), tree)
    branch.head, branch.staging = commit.id, {}
    return commit


def revert_tree(repo: Repository, current: dict[str, Entry], commit: Commit, parent_number: int) -> dict[str, Entry]:
    """``current`` with the changes ``commit`` made (relative to one parent) undone."""
    if not commit.parents:
        raise ApiError(400, "cannot revert the initial commit")
    if len(commit.parents) > 1 and parent_number < 1:
        raise ApiError(400, "parent_number is required to revert a merge commit")
    parent = repo.commits[commit.parents[max(parent_number, 1) - 1]]
    return three_way(commit.tree, parent.tree, current, None)


def cherry_pick_tree(
    repo: Repository, current: dict[str, Entry], commit: Commit, parent_number: int
) -> dict[str, Entry]:
    """``current`` with the changes ``commit`` made (relative to one parent) applied."""
    if not commit.parents:
        raise ApiError(400, "cannot cherry-pick the initial commit")
    parent = repo.commits[commit.parents[max(parent_number, 1) - 1]]
    return three_way(parent.tree, commit.tree, current, None)
