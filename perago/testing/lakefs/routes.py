"""The lakeFS API operations the emulator serves, named by the swagger ``operationId``.

Each handler takes a :class:`Call` (path parameters, query, JSON body or raw bytes, headers) and returns a
:class:`Reply`. The HTTP plumbing lives in ``server.py``.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import Any

from perago.testing.lakefs.blobs import Blobs
from perago.testing.lakefs.calls import Call, Reply, paginate
from perago.testing.lakefs.merge import cherry_pick_tree, diff_trees, merge, revert_tree
from perago.testing.lakefs.objects import ObjectOps
from perago.testing.lakefs.presign import Presigner
from perago.testing.lakefs.state import BRANCH_RE, REPO_RE, TAG_RE, ApiError, Branch, Entry, Repository, same_tree

VERSION = "1.84.0"


class LakeFSApi(ObjectOps):
    """The emulator's state and operations."""

    def __init__(self, blobs: Blobs, presigner: Presigner, presign_default: bool) -> None:
        self.blobs = blobs
        self.presigner = presigner
        self.presign_default = presign_default
        self.repos: dict[str, Repository] = {}

    # -- helpers --------------------------------------------------------------------------------------------------
    def repo(self, call: Call) -> Repository:
        found = self.repos.get(call.params["repository"])
        if found is None:
            raise ApiError(404, f"repository not found: {call.params['repository']}")
        return found

    def stats(self, repo: Repository, path: str, entry: Entry, call: Call) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": path,
            "path_type": "object",
            "physical_address": entry.address,
            "checksum": entry.checksum,
            "size_bytes": entry.size,
            "mtime": entry.mtime,
            "content_type": entry.content_type,
        }
        if call.flag("user_metadata", True):
            out["metadata"] = dict(entry.metadata)
        if call.flag("presign") and repo.presign:
            out["physical_address"], out["physical_address_expiry"] = self.sign(entry.address)
        return out

    def lookup(self, repo: Repository, ref: str, path: str) -> Entry:
        entry = repo.view(ref).get(path)
        if entry is None:
            raise ApiError(404, f"object not found: {path}")
        return entry

    def store(self, repo: Repository, data: bytes, metadata: dict[str, str], content_type: str) -> Entry:
        address = self.blobs.new_address(repo.storage_namespace)
        self.blobs.put(address, data)
        meta = tuple(sorted(metadata.items()))
        return Entry(address, len(data), hashlib.md5(data).hexdigest(), int(time.time()), meta, content_type)

    def sign(self, address: str, upload: bool = False) -> tuple[str, int]:
        """A presigned URL for a blob: the S3 endpoint's own in S3 mode, else one the emulator serves."""
        presign = getattr(self.blobs, "presign", None)
        if presign is not None:
            result: tuple[str, int] = presign(address, upload, self.presigner.now())
            return result
        return self.presigner.sign(address, upload=upload)

    # -- config ---------------------------------------------------------------------------------------------------
    def storage_config(self) -> dict[str, Any]:
        kind = "s3" if hasattr(self.blobs, "presign") else "mem"
        return {
            "blockstore_type": kind,
            "blockstore_namespace_example": f"{kind}://example-bucket/",
            "blockstore_namespace_ValidityRegex": f"^{kind}://",
            "pre_sign_support": self.presign_default,
            "pre_sign_support_ui": self.presign_default,
            "import_support": False,
            "import_validity_regex": f"^{kind}://",
            "pre_sign_multipart_upload": False,
        }

    def healthCheck(self, call: Call) -> Reply:
        return Reply(204)

    def getConfig(self, call: Call) -> Reply:
        return Reply(200, {"version_config": {"version": VERSION}, "storage_config": self.storage_config()})

    def getStorageConfig(self, call: Call) -> Reply:
        return Reply(200, self.storage_config())

    def getLakeFSVersion(self, call: Call) -> Reply:
        return Reply(200, {"version": VERSION, "upgrade_recommended": False})

    # -- repositories ---------------------------------------------------------------------------------------------
    def create_repository(self, name: str, namespace: str, default_branch: str, presign: bool | None) -> Repository:
        if not REPO_RE.match(name):
            raise ApiError(400, f"repository name {name!r} is invalid")
        if not BRANCH_RE.match(default_branch):
            raise ApiError(400, f"branch name {default_branch!r} is invalid")
        if name in self.repos:
            raise ApiError(409, f"repository {name} already exists")
        repo = Repository(
            name, namespace, default_branch, int(time.time()), self.presign_default if presign is None else presign
        )
        first = repo.new_commit([], "Repository created", {}, {})
        first.committer = ""
        repo.branches[default_branch] = Branch(default_branch, first.id)
        self.repos[name] = repo
        return repo

    def createRepository(self, call: Call) -> Reply:
        body = call.json()
        name = str(body.get("name", ""))
        repo = self.create_repository(
            name, str(body.get("storage_namespace") or f"mem://{name}"), str(body.get("default_branch") or "main"), None
        )
        return Reply(201, repo.to_json())

    def listRepositories(self, call: Call) -> Reply:
        repos = [
            r.to_json()
            for r in sorted(self.repos.values(), key=lambda r: r.name)
            if r.name.startswith(call.query.get("prefix", ""))
        ]
        return Reply(200, paginate(repos, lambda r: r["id"], call))

    def getRepository(self, call: Call) -> Reply:
        return Reply(200, self.repo(call).to_json())

    def deleteRepository(self, call: Call) -> Reply:
        self.repo(call)
        del self.repos[call.params["repository"]]
        return Reply(204)

    def getRepositoryMetadata(self, call: Call) -> Reply:
        return Reply(200, dict(self.repo(call).metadata))

    def setRepositoryMetadata(self, call: Call) -> Reply:
        self.repo(call).metadata.update({str(k): str(v) for k, v in (call.json().get("metadata") or {}).items()})
        return Reply(204)

    def deleteRepositoryMetadata(self, call: Call) -> Reply:
        repo = self.repo(call)
        for key in call.json().get("keys") or []:
            repo.metadata.pop(key, None)
        return Reply(204)

    # -- branches -------------------------------------------------------------------------------------------------
    def listBranches(self, call: Call) -> Reply:
        repo = self.repo(call)
        prefix, hidden = call.query.get("prefix", ""), call.flag("show_hidden")
        refs = [
            {"id": b.name, "commit_id": b.head}
            for b in sorted(repo.branches.values(), key=lambda b: b.name)
            if b.name.startswith(prefix) and (hidden or not b.hidden)
        ]
        return Reply(200, paginate(refs, lambda r: r["id"], call))

    def createBranch(self, call: Call) -> Reply:
        repo, body = self.repo(call), call.json()
        name, source = str(body.get("name", "")), str(body.get("source", ""))
        if not BRANCH_RE.match(name):
            raise ApiError(400, f"branch name {name!r} is invalid: must match ^\\w[-\\w]*$")
        with repo.lock:
            if name in repo.branches and not body.get("force"):
                raise ApiError(409, f"branch {name} already exists")
            if name in repo.tags:
                raise ApiError(409, f"a tag named {name} already exists")
            commit = repo.resolve(source)
            repo.branches[name] = Branch(name, commit.id, hidden=bool(body.get("hidden")))
        return Reply(201, commit.id, content_type="text/html; charset=utf-8")

    def getBranch(self, call: Call) -> Reply:
        branch = self.repo(call).branch(call.params["branch"])
        return Reply(200, {"id": branch.name, "commit_id": branch.head})

    def deleteBranch(self, call: Call) -> Reply:
        repo = self.repo(call)
        with repo.lock:
            repo.branch(call.params["branch"])
            if call.params["branch"] == repo.default_branch:
                raise ApiError(403, f"cannot delete the default branch {repo.default_branch}")
            del repo.branches[call.params["branch"]]
        return Reply(204)

    def resetBranch(self, call: Call) -> Reply:
        repo, body = self.repo(call), call.json()
        with repo.lock:
            branch = repo.branch(call.params["branch"])
            kind, path = body.get("type", "reset"), body.get("path", "")
            if kind == "reset":
                branch.staging = {}
            elif kind == "object":
                branch.staging.pop(path, None)
            elif kind == "common_prefix":
                branch.staging = {p: e for p, e in branch.staging.items() if not p.startswith(path)}
            else:
                raise ApiError(400, f"unknown reset type {kind!r}")
        return Reply(204)

    def _commit_tree(
        self, call: Call, make: Callable[[Repository, dict[str, Entry]], tuple[dict[str, Entry], str, dict[str, str]]]
    ) -> Reply:
        repo = self.repo(call)
        with repo.lock:
            branch = repo.branch(call.params["branch"])
            head = repo.commits[branch.head]
            if branch.staging and not same_tree(repo.view(branch.name), head.tree):
                raise ApiError(400, f"branch {branch.name} has uncommitted changes")
            tree, message, metadata = make(repo, head.tree)
            commit = repo.new_commit([head.id], message, metadata, tree)
            branch.head, branch.staging = commit.id, {}
        return Reply(201, commit.to_json())

    def revertBranch(self, call: Call) -> Reply:
        body = call.json()

        def make(repo: Repository, current: dict[str, Entry]) -> tuple[dict[str, Entry], str, dict[str, str]]:
            target = repo.resolve(str(body.get("ref", "")))
            return revert_tree(repo, current, target, int(body.get("parent_number") or 0)), f"Revert {target.id}", {}

        reply = self._commit_tree(call, make)
        return Reply(204) if reply.status == 201 else reply

    def cherryPick(self, call: Call) -> Reply:
        body = call.json()

        def make(repo: Repository, current: dict[str, Entry]) -> tuple[dict[str, Entry], str, dict[str, str]]:
            target = repo.resolve(str(body.get("ref", "")))
            tree = cherry_pick_tree(repo, current, target, int(body.get("parent_number") or 0))
            return tree, target.message, dict(target.metadata)

        return self._commit_tree(call, make)

    # -- commits, refs, tags ---------------------------------------------------------------------------------------
    def commit(self, call: Call) -> Reply:
        repo, body = self.repo(call), call.json()
        if not body.get("message"):
            raise ApiError(400, "commit message is required")
        with repo.lock:
            commit = repo.commit_branch(
                call.params["branch"],
                str(body["message"]),
                dict(body.get("metadata") or {}),
                bool(body.get("allow_empty")),
            )
        return Reply(201, commit.to_json())

    def getCommit(self, call: Call) -> Reply:
        return Reply(200, self.repo(call).resolve(call.params["commitId"]).to_json())

    def logCommits(self, call: Call) -> Reply:
        repo = self.repo(call)
        head = repo.resolve(call.params["ref"])
        ancestors = repo.ancestors(head.id)
        commits = sorted((repo.commits[c] for c in ancestors), key=lambda c: (-c.generation, -c.creation_date, c.id))
        if call.flag("first_parent"):
            chain, current = [], head
            while True:
                chain.append(current)
                if not current.parents:
                    break
                current = repo.commits[current.parents[0]]
            commits = chain
        objects = call.query.get("objects", "").split(",") if call.query.get("objects") else []
        prefixes = call.query.get("prefixes", "").split(",") if call.query.get("prefixes") else []
        if objects or prefixes:
            commits = [c for c in commits if _touches(repo, c, objects, prefixes)]
        after = call.query.get("after", "")
        if after:
            ids = [c.id for c in commits]
            commits = commits[ids.index(after) + 1 :] if after in ids else []
        amount = min(max(call.integer("amount", 100), 1), 1000)
        page = commits[:amount]
        has_more = len(commits) > amount
        body = {
            "pagination": {
                "has_more": has_more,
                "next_offset": page[-1].id if has_more else "",
                "results": len(page),
                "max_per_page": 1000,
            },
            "results": [c.to_json() for c in page],
        }
        return Reply(200, body)

    def listTags(self, call: Call) -> Reply:
        repo = self.repo(call)
        refs = [
            {"id": t, "commit_id": c}
            for t, c in sorted(repo.tags.items())
            if t.startswith(call.query.get("prefix", ""))
        ]
        return Reply(200, paginate(refs, lambda r: r["id"], call))

    def createTag(self, call: Call) -> Reply:
        repo, body = self.repo(call), call.json()
        name = str(body.get("id", ""))
        if not TAG_RE.match(name):
            raise ApiError(400, f"tag name {name!r} is invalid")
        with repo.lock:
            if (name in repo.tags and not body.get("force")) or name in repo.branches:
                raise ApiError(409, f"tag {name} already exists")
            repo.tags[name] = repo.resolve(str(body.get("ref", ""))).id
        return Reply(201, {"id": name, "commit_id": repo.tags[name]})

    def getTag(self, call: Call) -> Reply:
        repo = self.repo(call)
        if call.params["tag"] not in repo.tags:
            raise ApiError(404, f"tag not found: {call.params['tag']}")
        return Reply(200, {"id": call.params["tag"], "commit_id": repo.tags[call.params["tag"]]})

    def deleteTag(self, call: Call) -> Reply:
        repo = self.repo(call)
        if repo.tags.pop(call.params["tag"], None) is None:
            raise ApiError(404, f"tag not found: {call.params['tag']}")
        return Reply(204)

    # -- merge and diff ---------------------------------------------------------------------------------------------
    def mergeIntoBranch(self, call: Call) -> Reply:
        repo = self.repo(call)
        with repo.lock:
            commit = merge(repo, call.params["sourceRef"], call.params["destinationBranch"], call.json())
        return Reply(200, {"reference": commit.id})

    def findMergeBase(self, call: Call) -> Reply:
        repo = self.repo(call)
        source, dest = repo.resolve(call.params["sourceRef"]), repo.resolve(call.params["destinationBranch"])
        base = repo.merge_base(source.id, dest.id)
        if base is None:
            raise ApiError(404, "no merge base")
        return Reply(200, {"source_commit_id": source.id, "destination_commit_id": dest.id, "base_commit_id": base.id})

    def _diff_reply(self, records: list[dict[str, Any]], call: Call) -> Reply:
        prefix = call.query.get("prefix", "")
        records = [r for r in records if r["path"].startswith(prefix)]
        return Reply(200, paginate(records, lambda r: r["path"], call))

    def diffBranch(self, call: Call) -> Reply:
        repo = self.repo(call)
        branch = repo.branch(call.params["branch"])
        return self._diff_reply(diff_trees(repo.commits[branch.head].tree, repo.view(branch.name)), call)

    def diffRefs(self, call: Call) -> Reply:
        repo = self.repo(call)
        left, right = repo.resolve(call.params["leftRef"]), repo.resolve(call.params["rightRef"])
        if call.query.get("type", "three_dot") == "three_dot":
            base = repo.merge_base(left.id, right.id)
            left_tree = base.tree if base is not None else {}
        else:
            left_tree = left.tree
        return self._diff_reply(diff_trees(left_tree, right.tree), call)


def _touches(repo: Repository, commit: Any, objects: list[str], prefixes: list[str]) -> bool:
    parent = repo.commits[commit.parents[0]].tree if commit.parents else {}
    changed = [d["path"] for d in diff_trees(parent, commit.tree)]
    return any(p in objects or any(p.startswith(x) for x in prefixes) for p in changed)


PATH_RE = re.compile(r"\{(\w+)\}")
