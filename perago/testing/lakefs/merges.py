"""Merge, merge base, diffs, revert and cherry-pick (controller.go MergeIntoBranch ... CherryPick; graveler.go).

- Merge (graveler.Merge): a destination with uncommitted changes is a 400 "uncommitted changes (dirty branch)";
  "no changes" (400, "update branch <dest>: no changes") only when the source's metarange equals the merge base's;
  otherwise a merge commit with parents [destination, source] (just [destination] for ``squash_merge``) whose
  metadata carries ``.lakefs.merge.strategy``; a conflict is a 409 with body ``{"reference": ""}``.
- Revert (graveler.Revert): message "Revert <ref as given>"; a merge commit needs ``parent_number``
  (409 ErrRevertMergeNoParent); answers 204.
- CherryPick (graveler.CherryPick): the picked commit's message and metadata plus ``cherry-pick-origin`` and
  ``cherry-pick-committer``; a merge commit needs ``parent_number`` (400 ErrCherryPickMergeNoParent).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from perago.testing.lakefs.base import ApiBase
from perago.testing.lakefs.calls import ApiError, Call, Reply, collapse, page_keys, pagination
from perago.testing.lakefs.merge import (
    STRATEGIES,
    STRATEGY_KEY,
    NoChangesError,
    compare,
    diff_trees,
    merge_trees,
)
from perago.testing.lakefs.names import check_branch, check_ref
from perago.testing.lakefs.refs import merge_base, resolve, resolve_commit
from perago.testing.lakefs.state import Commit, Entry, Repository, same_tree

Records = list[tuple[str, str, Entry]]


class MergeOps(ApiBase):
    def mergeIntoBranch(self, call: Call) -> Reply:
        body, dest, source = call.json(), call.params["destinationBranch"], call.params["sourceRef"]
        strategy = str(body.get("strategy") or "")
        check_branch(dest, "destination")
        check_ref(source, "source")
        if strategy not in STRATEGIES:
            raise ApiError(400, "argument strategy: invalid value: validation error")
        repo = self.repo(call)
        with repo.lock:
            commit = self._merge(repo, dest, source, strategy, body)
        return Reply(200, {"reference": commit.id})

    def _merge(self, repo: Repository, dest: str, source: str, strategy: str, body: dict[str, Any]) -> Commit:
        self.writable(repo, body.get("force"))
        branch = repo.branch(dest)
        if repo.is_dirty(branch):
            raise ApiError(400, "uncommitted changes (dirty branch)")
        src, head = resolve_commit(repo, source), repo.commits[branch.head]
        base = merge_base(repo, src.id, head.id)
        allow = bool(body.get("allow_empty") or body.get("force"))
        try:
            tree = merge_trees(head.tree, src.tree, base.tree if base else {}, strategy, allow)
        except NoChangesError as exc:
            raise ApiError(400, f"update branch {dest}: no changes") from exc
        metadata = {str(k): str(v) for k, v in (body.get("metadata") or {}).items()}
        metadata[STRATEGY_KEY] = STRATEGIES[strategy]
        message = str(body.get("message") or f"Merge '{source}' into '{dest}'")
        parents = [head.id] if body.get("squash_merge") else [head.id, src.id]
        commit = repo.new_commit(parents, message, metadata, tree, now_ns=self.now_ns())
        commit.generation = max(head.generation, src.generation) + 1
        try:
            self.run_hook("pre-merge", repo, dest)
        except ApiError as exc:
            raise ApiError(exc.status, f"update branch {dest}: {exc}") from exc
        branch.head, branch.staging = commit.id, {}
        return commit

    def findMergeBase(self, call: Call) -> Reply:
        repo = self.repo(call)
        with repo.lock:
            source = resolve_commit(repo, call.params["sourceRef"])
            dest = resolve_commit(repo, call.params["destinationBranch"])
            base = merge_base(repo, source.id, dest.id)
        if base is None:
            raise ApiError(404, "no merge base")
        return Reply(200, {"source_commit_id": source.id, "destination_commit_id": dest.id, "base_commit_id": base.id})

    # -- diffs ------------------------------------------------------------------------------------------------------
    def diffBranch(self, call: Call) -> Reply:
        repo = self.repo(call)
        with repo.lock:
            branch = repo.branch(call.params["branch"])
            records = diff_trees(repo.head_tree(branch), repo.staged_view(branch))
        return Reply(200, _diff_page(records, call))

    def diffRefs(self, call: Call) -> Reply:
        repo, kind = self.repo(call), call.query.get("type", "three_dot")
        if kind not in ("two_dot", "three_dot"):
            raise ApiError(400, 'parameter "type" in query has an error: value is not one of the allowed values')
        with repo.lock:
            left = resolve_commit(repo, call.params["leftRef"])
            if kind == "two_dot":
                records = diff_trees(left.tree, _right_tree(repo, call.params["rightRef"]))
            else:
                right = resolve_commit(repo, call.params["rightRef"])
                base = merge_base(repo, right.id, left.id)
                records = compare(left.tree, right.tree, base.tree if base else {})
        return Reply(200, _diff_page(records, call))

    # -- revert and cherry-pick -------------------------------------------------------------------------------------
    def revertBranch(self, call: Call) -> Reply:
        body = call.json()
        ref, parent_number = str(body.get("ref") or ""), int(body.get("parent_number") or 0)
        check_ref(ref)

        def make(repo: Repository, target: Commit, head: Commit) -> tuple[dict[str, Entry], str, dict[str, str]]:
            if len(target.parents) > 1 and parent_number <= 0:
                raise ApiError(409, "must specify 1-based parent number for reverting merge commit")
            parent = _parent(repo, target, max(parent_number, 1), root_is_empty=parent_number == 0)
            tree = merge_trees(head.tree, parent, target.tree, "", bool(body.get("allow_empty")))
            if same_tree(tree, head.tree) and not body.get("allow_empty"):
                raise NoChangesError()
            return (tree, *_override(body, f"Revert {ref}", {}))

        self._apply(call, ref, "pre-revert", make, body)
        return Reply(204)

    def cherryPick(self, call: Call) -> Reply:
        body = call.json()
        ref, parent_number = str(body.get("ref") or ""), body.get("parent_number")
        check_ref(ref)
        if parent_number is not None and int(parent_number) <= 0:
            raise ApiError(400, "argument parentNumber: value should be greater than 0: invalid value")

        def make(repo: Repository, target: Commit, head: Commit) -> tuple[dict[str, Entry], str, dict[str, str]]:
            if parent_number is None and len(target.parents) > 1:
                raise ApiError(400, "must specify 1-based parent number for cherry-picking merge commit")
            parent = _parent(repo, target, int(parent_number or 1))
            tree = merge_trees(head.tree, target.tree, parent, "", False)
            message, metadata = _override(body, target.message, dict(target.metadata))
            metadata.update({"cherry-pick-origin": target.id, "cherry-pick-committer": target.committer})
            return tree, message, metadata

        return Reply(201, self._apply(call, ref, "pre-cherry-pick", make, body).to_json())

    def _apply(
        self,
        call: Call,
        ref: str,
        event: str,
        make: Callable[[Repository, Commit, Commit], tuple[dict[str, Entry], str, dict[str, str]]],
        body: dict[str, Any],
    ) -> Commit:
        repo, name = self.repo(call), call.params["branch"]
        check_branch(name)
        with repo.lock:
            self.writable(repo, body.get("force"))
            target = resolve_commit(repo, ref)
            branch = repo.branch(name)
            if repo.is_dirty(branch):
                raise ApiError(400, "uncommitted changes (dirty branch)")
            head = repo.commits[branch.head]
            tree, message, metadata = make(repo, target, head)
            self.run_hook(event, repo, name)
            commit = repo.new_commit([head.id], message, metadata, tree, now_ns=self.now_ns())
            branch.head, branch.staging = commit.id, {}
        return commit


def _override(body: dict[str, Any], message: str, metadata: dict[str, str]) -> tuple[str, dict[str, str]]:
    """graveler applyCommitOverrides: a non-empty message and a given metadata map replace the defaults."""
    overrides = body.get("commit_overrides") or {}
    if overrides.get("metadata") is not None:
        metadata = {str(k): str(v) for k, v in overrides["metadata"].items()}
    return str(overrides.get("message") or message), metadata


def _parent(repo: Repository, commit: Commit, number: int, root_is_empty: bool = False) -> dict[str, Entry]:
    """The tree of a commit's N-th parent; reverting the first commit reverts to nothing (graveler.Revert)."""
    if number > len(commit.parents):
        if root_is_empty and not commit.parents:
            return {}
        raise ApiError(400, f"parent {number}: given commit does not have the given parent number")
    return repo.commits[commit.parents[number - 1]].tree


def _right_tree(repo: Repository, ref: str) -> dict[str, Entry]:
    """graveler.Diff: the right side includes staging only for ``branch$``."""
    resolved = resolve(repo, ref)
    if resolved.branch is not None and resolved.modifier == "$":
        return repo.staged_view(repo.branch(resolved.branch))
    return resolved.commit.tree


def _diff_page(records: Records, call: Call) -> dict[str, Any]:
    """listDiffHelper: prefix, delimiter (common prefixes are "prefix_changed"), after, amount."""
    by_path = {path: (kind, entry) for kind, path, entry in records}
    delimiter = call.query.get("delimiter", "")
    keys = collapse(sorted(by_path), call.query.get("prefix", ""), delimiter)
    page, has_more = page_keys(keys, call, skip_under_after=bool(delimiter))
    results = [_diff_json(key, is_prefix, by_path.get(key), call) for key, is_prefix in page]
    return {"pagination": pagination(has_more, len(results), page[-1][0] if page else ""), "results": results}


def _diff_json(path: str, is_prefix: bool, found: tuple[str, Entry] | None, call: Call) -> dict[str, Any]:
    if is_prefix or found is None:
        return {"type": "prefix_changed", "path": path, "path_type": "common_prefix"}
    kind, entry = found
    out: dict[str, Any] = {"type": kind, "path": path, "path_type": "object", "size_bytes": entry.size}
    if call.flag("include_right_stats"):
        out["right"] = {
            "checksum": entry.checksum,
            "content_type": entry.content_type,
            "mtime": entry.mtime,
            "metadata": dict(entry.metadata),
        }
    return out
