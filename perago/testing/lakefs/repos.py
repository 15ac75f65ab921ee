"""Server configuration, the current user, and repositories (pkg/api/controller.go GetConfig, CreateRepository...).

Storage namespaces are checked as ``validateStorageNamespace`` does (the blockstore's ``^<type>://`` regex; the
memory store takes ``mem://`` and ``local://``) and, as ``ensureStorageNamespace`` does, a namespace that a
repository ever used (even a deleted one) is refused: lakeFS leaves its ``_lakefs/dummy`` object behind. With
``multi_storage`` the configuration answers as a multi-storage server does: no ``storage_config`` (clients read
None) and one entry per storage in ``storage_config_list``.
"""

from __future__ import annotations

import re
from typing import Any

from perago.testing.lakefs.base import ApiBase
from perago.testing.lakefs.calls import ApiError, Call, Reply, paginate
from perago.testing.lakefs.names import check_branch, check_repository
from perago.testing.lakefs.state import Branch, Repository

VERSION = "1.84.0"
STORAGE_ID = "emulated"  # the storage id a multi-storage emulator reports


class RepoOps(ApiBase):
    def blockstore_type(self) -> str:
        return "s3" if hasattr(self.blobs, "presign") else "mem"

    def namespace_regex(self) -> str:
        """The memory store also takes lakeFS quickstart's ``local://`` namespaces, so its examples run unchanged."""
        return "^s3://" if self.blockstore_type() == "s3" else "^(mem|local)://"

    def storage_config(self) -> dict[str, Any]:
        kind = self.blockstore_type()
        return {
            "blockstore_type": kind,
            "blockstore_namespace_example": f"{kind}://example-bucket/",
            "blockstore_namespace_ValidityRegex": self.namespace_regex(),
            "default_namespace_prefix": "",
            "pre_sign_support": self.presign_default,
            "pre_sign_support_ui": self.presign_default,
            "import_support": False,
            "import_validity_regex": self.namespace_regex(),
            "pre_sign_multipart_upload": self.presign_default and self.presign_multipart,
            "blockstore_id": STORAGE_ID if self.multi_storage else "",
            "blockstore_description": "",
        }

    def healthCheck(self, call: Call) -> Reply:
        return Reply(204)

    def getConfig(self, call: Call) -> Reply:
        body: dict[str, Any] = {
            "version_config": {"version": VERSION, "version_context": "lakeFS-emulator"},
            "storage_config_list": [self.storage_config()] if self.multi_storage else [],
            "capabilities_config": {},
        }
        if not self.multi_storage:  # a nil *StorageConfig is omitted (omitempty): clients read None
            body["storage_config"] = self.storage_config()
        return Reply(200, body)

    def getStorageConfig(self, call: Call) -> Reply:
        if self.multi_storage:  # getStorageConfig(SingleBlockstoreID) -> config.ErrNoStorageConfig
            raise ApiError(404, "no storage config found")
        return Reply(200, self.storage_config())

    def getLakeFSVersion(self, call: Call) -> Reply:
        return Reply(200, {"version": VERSION, "version_context": "lakeFS-emulator"})

    def getCurrentUser(self, call: Call) -> Reply:
        user = call.headers.get("x-emulator-user", "admin")
        return Reply(200, {"user": {"id": user, "creation_date": 0, "friendly_name": user}})

    # -- repositories -----------------------------------------------------------------------------------------------
    def create_repository(
        self, name: str, namespace: str, default_branch: str, presign: bool | None = None, read_only: bool = False
    ) -> Repository:
        check_repository(name, "name")
        check_branch(default_branch, "default_branch")
        with self.lock:
            if name in self.repos:
                raise ApiError(409, "error creating repository: not unique")
            self._claim_namespace(namespace)
            storage_id = STORAGE_ID if self.multi_storage else ""
            repo = Repository(name, namespace, default_branch, int(self.clock()), presign, storage_id, read_only)
            first = repo.new_commit([], "Repository created", {}, {}, now_ns=self.now_ns(), committer="")
            repo.branches[default_branch] = Branch(default_branch, first.id)
            self.repos[name] = repo
        return repo

    def _claim_namespace(self, namespace: str) -> None:
        regex = self.namespace_regex()
        if not re.match(regex, namespace):
            raise ApiError(400, f"failed to match required regex {regex}: invalid namespace")
        if namespace.rstrip("/") in self.used_namespaces:
            raise ApiError(
                400,
                f"failed to create repository: found lakeFS objects in the storage ({STORAGE_ID}:{namespace}) key"
                "(_lakefs/dummy): storage namespace already in use",
            )
        self.used_namespaces.add(namespace.rstrip("/"))

    def createRepository(self, call: Call) -> Reply:
        body = call.json()
        name, namespace = str(body.get("name") or ""), str(body.get("storage_namespace") or "")
        repo = self.create_repository(
            name, namespace, str(body.get("default_branch") or "main"), read_only=bool(body.get("read_only"))
        )
        return Reply(201, repo.to_json())

    def listRepositories(self, call: Call) -> Reply:
        prefix, search = call.query.get("prefix", ""), call.query.get("search", "")
        with self.lock:
            repos = sorted(self.repos.values(), key=lambda r: r.name)
        found = [r.to_json() for r in repos if r.name.startswith(prefix) and search in r.name]
        return Reply(200, paginate(found, lambda r: r["id"], call))

    def getRepository(self, call: Call) -> Reply:
        return Reply(200, self.repo(call).to_json())

    def deleteRepository(self, call: Call) -> Reply:
        repo = self.repo(call)
        self.writable(repo, call.flag("force"))
        with self.lock:
            self.repos.pop(repo.name, None)
        return Reply(204)

    def getRepositoryMetadata(self, call: Call) -> Reply:
        repo = self.repo(call)
        with repo.lock:
            return Reply(200, dict(repo.metadata))

    def setRepositoryMetadata(self, call: Call) -> Reply:
        repo, values = self.repo(call), call.json().get("metadata") or {}
        with repo.lock:
            repo.metadata.update({str(k): str(v) for k, v in values.items()})
        return Reply(204)

    def deleteRepositoryMetadata(self, call: Call) -> Reply:
        repo, keys = self.repo(call), call.json().get("keys") or []
        with repo.lock:
            for key in keys:
                repo.metadata.pop(key, None)
        return Reply(204)
