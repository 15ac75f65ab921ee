"""Branches, commits and the commit log (controller.go CreateBranch ... LogCommits; graveler.CreateBranch, Commit).

- CreateBranch: 409 when the branch exists whatever ``force`` says (``force`` only bypasses read-only
  repositories), 409 when a tag or a full commit id has that name, 400 for a ``$`` source; the answer is the raw
  commit id as text (no Content-Type of its own, so Go sniffs ``text/plain``).
- Commit: 400 "no changes" when nothing staged differs from the head (unless ``allow_empty``); an empty message is
  accepted; ``date`` sets the creation time.
- LogCommits: catalog.ListCommits with ``after``, ``amount``, ``limit``, ``first_parent``, ``since``, ``stop_at``,
  ``objects`` and ``prefixes`` (merge commits are skipped when paths are given).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from perago.testing.lakefs.base import ApiBase
from perago.testing.lakefs.calls import ApiError, Call, Reply, paginate, pagination
from perago.testing.lakefs.merge import diff_trees
from perago.testing.lakefs.names import check_branch, check_ref
from perago.testing.lakefs.refs import log, resolve, resolve_commit
from perago.testing.lakefs.state import Branch, Commit, Repository

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class BranchOps(ApiBase):
    def listBranches(self, call: Call) -> Reply:
        repo = self.repo(call)
        prefix, hidden = call.query.get("prefix", ""), call.flag("show_hidden")
        with repo.lock:
            refs = [
                {"id": b.name, "commit_id": b.head}
                for b in sorted(repo.branches.values(), key=lambda b: b.name)
                if b.name.startswith(prefix) and (hidden or not b.hidden)
            ]
        return Reply(200, paginate(refs, lambda r: r["id"], call))

    def createBranch(self, call: Call) -> Reply:
        body = call.json()
        name, source = str(body.get("name") or ""), str(body.get("source") or "")
        check_branch(name, hint=True)
        check_ref(source)
        repo = self.repo(call)
        with repo.lock:
            self.name_free(repo, name, "commit", "tag")
            self.writable(repo, body.get("force"))
            resolved = self._source(repo, source)
            if name in repo.branches:
                raise ApiError(409, "branch already exists: not unique")
            self.run_hook("pre-create-branch", repo, name)
            repo.branches[name] = Branch(name, resolved.id, hidden=bool(body.get("hidden")))
        return Reply(201, resolved.id, content_type="text/plain; charset=utf-8")

    @staticmethod
    def _source(repo: Repository, source: str) -> Commit:
        try:
            resolved = resolve(repo, source)
        except ApiError as exc:
            raise ApiError(exc.status, f"source reference '{source}': {exc}") from exc
        if resolved.modifier == "$":
            raise ApiError(400, f"source reference '{source}': can't create a branch without commit")
        return resolved.commit

    def getBranch(self, call: Call) -> Reply:
        repo = self.repo(call)
        with repo.lock:
            branch = repo.branch(call.params["branch"])
            return Reply(200, {"id": branch.name, "commit_id": branch.head})

    def deleteBranch(self, call: Call) -> Reply:
        repo, name = self.repo(call), call.params["branch"]
        check_branch(name, "name")
        with repo.lock:
            self.writable(repo, call.flag("force"))
            if name == repo.default_branch:
                raise ApiError(403, "cannot delete repository default branch")
            repo.branch(name)
            self.run_hook("pre-delete-branch", repo, name)
            del repo.branches[name]
        return Reply(204)

    def resetBranch(self, call: Call) -> Reply:
        repo, body = self.repo(call), call.json()
        kind, path = body.get("type"), str(body.get("path") or "")
        with repo.lock:
            branch = repo.branch(call.params["branch"])
            self.guard(repo, branch.name, "staging_write")
            if kind == "reset":
                branch.staging = {}
            elif kind == "object":
                branch.staging.pop(path, None)
            elif kind == "common_prefix":
                branch.staging = {p: e for p, e in branch.staging.items() if not p.startswith(path)}
            else:
                raise ApiError(400, "unknown reset type")
        return Reply(204)

    # -- commits ----------------------------------------------------------------------------------------------------
    def commit(self, call: Call) -> Reply:
        repo, body = self.repo(call), call.json()
        name = call.params["branch"]
        check_branch(name)
        date = body.get("date")
        now_ns = int(date) * 1_000_000_000 if date is not None else self.now_ns()
        with repo.lock:
            repo.branch(name)
            self.guard(repo, name, "commit")
            self.run_hook("pre-commit", repo, name)
            metadata = {str(k): str(v) for k, v in (body.get("metadata") or {}).items()}
            message = str(body.get("message") or "")
            commit = repo.commit_branch(name, message, metadata, bool(body.get("allow_empty")), now_ns)
        return Reply(201, commit.to_json())

    def getCommit(self, call: Call) -> Reply:
        repo = self.repo(call)
        try:
            with repo.lock:
                commit = resolve_commit(repo, call.params["commitId"])
        except ApiError as exc:
            if exc.status == 404:
                raise ApiError(404, "commit not found") from exc
            raise
        return Reply(200, commit.to_json())

    def logCommits(self, call: Call) -> Reply:
        repo = self.repo(call)
        params = _log_params(call)
        with repo.lock:
            head = _deref(repo, call.params["ref"], "ref")
            stop_at = _deref(repo, params["stop_at"], "stop_at").id if params["stop_at"] else ""
            walk = log(repo, head, call.flag("first_parent"), params["since_ns"])
            commits = _after(repo, walk, call.query.get("after", ""))
            paths = (call.values("objects"), call.values("prefixes"))
            picked = _collect(repo, commits, paths, params["amount"], call.flag("limit"), stop_at)
        has_more = len(picked) > params["amount"]
        page = picked[: params["amount"]]
        body: dict[str, Any] = {
            "pagination": pagination(has_more, len(page), page[-1].id if page else ""),
            "results": [c.to_json() for c in page],
        }
        return Reply(200, body)


def _log_params(call: Call) -> dict[str, Any]:
    since_ns = None
    raw = call.query.get("since")
    if raw is not None:
        if not _DATE_TIME.match(raw):  # kin-openapi's "date-time" format (the offset is optional there)
            raise ApiError(400, 'parameter "since" in query has an error: string doesn\'t match format date-time')
        if not _RFC3339.match(raw):  # oapi-codegen binds time.Time with time.Parse(time.RFC3339Nano)
            raise ApiError(400, f"Invalid format for parameter since: error parsing '{raw}' as RFC3339 time")
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        since_ns = int(moment.timestamp() * 1_000_000_000)
    return {"amount": call.amount(), "since_ns": since_ns, "stop_at": call.query.get("stop_at", "")}


def _deref(repo: Repository, ref: str, what: str) -> Commit:
    check_ref(ref, what)
    try:
        return resolve_commit(repo, ref)
    except ApiError as exc:
        raise ApiError(exc.status, f"{what}: {exc}") from exc


def _after(repo: Repository, walk: Any, after: str) -> Any:
    """Skip the log up to and including ``after`` (a ref, dereferenced as catalog.ListCommits does)."""
    if not after:
        return walk
    target = _deref(repo, after, "from ref").id
    for commit in walk:
        if commit.id == target:
            break
    return walk


def _touches(repo: Repository, commit: Commit, paths: tuple[list[str], list[str]]) -> bool:
    objects, prefixes = paths
    parent = repo.commits[commit.parents[0]].tree
    changed = [path for _, path, _ in diff_trees(parent, commit.tree)]
    return any(p in objects or any(p.startswith(x) for x in prefixes) for p in changed)


def _collect(
    repo: Repository, commits: Any, paths: tuple[list[str], list[str]], amount: int, limit: bool, stop_at: str
) -> list[Commit]:
    """catalog listCommitsWithoutPaths / listCommitsWithPaths up to foundAllCommits."""
    picked: list[Commit] = []
    for commit in commits:
        if (paths[0] or paths[1]) and (len(commit.parents) != 1 or not _touches(repo, commit, paths)):
            continue
        picked.append(commit)
        if (limit and len(picked) >= amount) or len(picked) >= amount + 1 or commit.id == stop_at:
            break
    return picked
