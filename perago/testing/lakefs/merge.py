"""Three-way merges and diffs over commit trees, as lakeFS's committed manager computes them.

- :func:`merge_trees` is pkg/graveler/committed/manager.go Merge: "no changes" only when the source's metarange
  equals the base's (unless allow_empty/force); the source's tree as-is when the destination did not move from the
  base; otherwise a per-path three-way merge by entry identity where a path changed differently on both sides is a
  conflict unless the strategy picks a side.
- :func:`compare` is the three-dot diff (committed/compare_iterator.go): what the source (right) changed since the
  merge base, with paths both sides changed differently reported as ``conflict``.
- :func:`diff_trees` is the two-dot diff (committed Diff): added / removed / changed from left to right.
"""

from __future__ import annotations

from perago.testing.lakefs.calls import ApiError
from perago.testing.lakefs.state import Entry, identity_of, same_tree

STRATEGIES = {"": "default", "dest-wins": "dest-wins", "source-wins": "source-wins"}
STRATEGY_KEY = ".lakefs.merge.strategy"  # graveler.MergeStrategyMetadataKey


class NoChangesError(ApiError):
    """graveler.ErrNoChanges (400 "no changes")."""

    def __init__(self, message: str = "no changes") -> None:
        super().__init__(400, message)


def _pick(base: Entry | None, src: Entry | None, dst: Entry | None, strategy: str) -> tuple[bool, Entry | None]:
    """(conflict?, chosen entry) for one path."""
    if identity_of(src) == identity_of(base):
        return False, dst
    if identity_of(dst) == identity_of(base) or identity_of(src) == identity_of(dst):
        return False, src
    if strategy == "dest-wins":
        return False, dst
    if strategy == "source-wins":
        return False, src
    return True, None


def three_way(base: dict[str, Entry], src: dict[str, Entry], dst: dict[str, Entry], strategy: str) -> dict[str, Entry]:
    """The merged tree; 409 "conflict found" when a path changed differently on both sides."""
    merged: dict[str, Entry] = {}
    for path in sorted(base.keys() | src.keys() | dst.keys()):
        conflict, chosen = _pick(base.get(path), src.get(path), dst.get(path), strategy)
        if conflict:
            raise ApiError(409, "conflict found", {"reference": ""})
        if chosen is not None:
            merged[path] = chosen
    return merged


def merge_trees(
    dest: dict[str, Entry], source: dict[str, Entry], base: dict[str, Entry], strategy: str, allow_empty: bool
) -> dict[str, Entry]:
    """committedManager.Merge."""
    if same_tree(source, base) and not allow_empty:
        raise NoChangesError()
    if same_tree(dest, base):
        return source
    return three_way(base, source, dest, strategy)


def diff_trees(left: dict[str, Entry], right: dict[str, Entry]) -> list[tuple[str, str, Entry]]:
    """(type, path, entry) records from ``left`` to ``right``, sorted by path (entry: right's, or left's if removed)."""
    out: list[tuple[str, str, Entry]] = []
    for path in sorted(left.keys() | right.keys()):
        a, b = left.get(path), right.get(path)
        if a is None and b is not None:
            out.append(("added", path, b))
        elif b is None and a is not None:
            out.append(("removed", path, a))
        elif a is not None and b is not None and a.identity != b.identity:
            out.append(("changed", path, b))
    return out


def _compare_kind(kind: str, base: Entry | None, left: Entry | None, right: Entry | None) -> str | None:
    if kind == "added":  # on the source only
        if base is None:
            return "added"
        return "conflict" if identity_of(base) != identity_of(right) else None
    if kind == "changed":
        if base is None:  # added on both sides, differently
            return "conflict"
        if identity_of(base) == identity_of(right):  # changed on the destination only
            return None
        return "changed" if identity_of(base) == identity_of(left) else "conflict"
    if base is None:  # removed on the source, but the destination added it: not a source change
        return None
    return "removed" if identity_of(base) == identity_of(left) else "conflict"


def compare(left: dict[str, Entry], right: dict[str, Entry], base: dict[str, Entry]) -> list[tuple[str, str, Entry]]:
    """The three-dot diff of ``right`` against ``left`` with merge base ``base``."""
    out: list[tuple[str, str, Entry]] = []
    for kind, path, entry in diff_trees(left, right):
        found = _compare_kind(kind, base.get(path), left.get(path), right.get(path))
        if found is not None:
            out.append((found, path, entry))
    return out
