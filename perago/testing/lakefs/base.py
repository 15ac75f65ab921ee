"""State and helpers every group of emulated operations shares (repositories, clock, blobs, hooks, protection)."""

from __future__ import annotations

import fnmatch
import hashlib
import threading
import uuid
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any

from perago.testing.lakefs.blobs import Blobs
from perago.testing.lakefs.calls import ApiError, Call
from perago.testing.lakefs.presign import Presigner
from perago.testing.lakefs.refs import entry_at
from perago.testing.lakefs.state import Entry, Repository

_NS = 1_000_000_000


@dataclass(frozen=True)
class HookRefusal:
    """A pre-<event> hook that fails (actions.ErrActionFailed -> 412), for branches matching ``branch``."""

    event: str
    message: str
    repository: str = "*"
    branch: str = "*"
    action: str = "perago-emulated-action"
    hook: str = "check"


class ApiBase:
    """The emulator's state; the operation mixins (repos, branches, merges, objects, multipart) build on it."""

    def __init__(
        self, blobs: Blobs, presigner: Presigner, presign_default: bool, clock: Callable[[], float], multi: bool
    ) -> None:
        self.blobs = blobs
        self.presigner = presigner
        self.presign_default = presign_default
        self.clock = clock
        self.multi_storage = multi
        self.presign_multipart = presign_default
        self.repos: dict[str, Repository] = {}
        self.used_namespaces: set[str] = set()
        self.refusals: list[HookRefusal] = []
        self.lock = threading.Lock()

    # -- lookups ----------------------------------------------------------------------------------------------------
    def repo(self, call: Call) -> Repository:
        with self.lock:
            found = self.repos.get(call.params["repository"])
        if found is None:
            raise ApiError(404, "repository not found")
        return found

    def now_ns(self) -> int:
        return int(self.clock() * _NS)

    def lookup(self, repo: Repository, ref: str, path: str) -> Entry:
        with repo.lock:
            entry = entry_at(repo, ref, path)
        if entry is None:
            raise ApiError(404, "not found")
        return entry

    def presigns(self, repo: Repository) -> bool:
        """Whether this repository's storage can presign (a repository may override the emulator's default)."""
        return self.presign_default if repo.presign is None else repo.presign

    # -- blobs ------------------------------------------------------------------------------------------------------
    def store(self, repo: Repository, data: bytes, metadata: dict[str, str], content_type: str) -> Entry:
        address = self.blobs.new_address(repo.storage_namespace)
        self.blobs.put(address, data)
        meta = tuple(sorted(metadata.items()))
        mtime = int(self.clock())
        return Entry(address, len(data), hashlib.md5(data).hexdigest(), mtime, meta, content_type or _OCTET)

    def sign(self, repo: Repository, address: str, upload: bool = False) -> tuple[str, int]:
        """A presigned URL for a blob: the S3 endpoint's own in S3 mode, else one the emulator serves.

        Storage that cannot presign answers as lakeFS's mem/local adapters do (GetPreSignedURL ->
        block.ErrOperationNotSupported, a 400 on reads).
        """
        if not self.presigns(repo):
            raise ApiError(400, "get pre signed url: operation not supported")
        presign = getattr(self.blobs, "presign", None)
        if presign is not None:
            result: tuple[str, int] = presign(address, upload, self.presigner.now())
            return result
        return self.presigner.sign(address, upload=upload)

    def stats(self, repo: Repository, path: str, entry: Entry, call: Call, listing: bool = False) -> dict[str, Any]:
        """controller.go ObjectStats (StatObject / ListObjects): metadata unless user_metadata=false, presigned."""
        out: dict[str, Any] = {
            "path": path,
            "path_type": "object",
            "physical_address": entry.address,
            "checksum": entry.checksum,
            "size_bytes": entry.size,
            "mtime": entry.mtime,
            "content_type": entry.content_type,
        }
        wanted = call.flag("user_metadata", True)
        if not listing:  # StatObject always answers a metadata map, empty when not asked for
            out["metadata"] = dict(entry.metadata) if wanted else {}
        elif wanted and entry.metadata:  # ListObjects only when the entry has some
            out["metadata"] = dict(entry.metadata)
        if call.flag("presign"):
            out["physical_address"], out["physical_address_expiry"] = self.sign(repo, entry.address)
        return out

    # -- write guards -----------------------------------------------------------------------------------------------
    @staticmethod
    def writable(repo: Repository, force: object) -> None:
        """graveler: a read-only repository refuses writes unless ``force`` (ErrReadOnlyRepository, 403)."""
        if repo.read_only and not force:
            raise ApiError(403, "read-only repository")

    @staticmethod
    def name_free(repo: Repository, name: str, *kinds: str) -> None:
        """catalog checkCommitIDDuplication and the branch/tag cross-checks: 409 "<kind> <name>: conflict found"."""
        tables: dict[str, tuple[Container[str], str]] = {
            "commit": (repo.commits, "commit ID"),
            "tag": (repo.tags, "tag ID"),
            "branch": (repo.branches, "branch name"),
        }
        for kind in kinds:
            table, label = tables[kind]
            if name in table:
                raise ApiError(409, f"{label} {name}: conflict found")

    def guard(self, repo: Repository, branch: str, action: str) -> None:
        """Branch protection (graveler IsBlocked) for "staging_write" and "commit"; read-only repositories."""
        if repo.read_only:
            raise ApiError(403, "read-only repository")
        for pattern, blocked in repo.protected.items():
            if action in blocked and fnmatch.fnmatchcase(branch, pattern):
                verb = "commit to" if action == "commit" else "write to"
                raise ApiError(403, f"cannot {verb} protected branch")

    def run_hook(self, event: str, repo: Repository, branch: str) -> None:
        """A failing pre-<event> hook aborts the operation: 412 with graveler.HookAbortError's message."""
        with self.lock:
            refusals = list(self.refusals)
        for refusal in refusals:
            names = fnmatch.fnmatchcase(repo.name, refusal.repository) and fnmatch.fnmatchcase(branch, refusal.branch)
            if refusal.event == event and names:
                run, hook_run = uuid.uuid4().hex[:20], uuid.uuid4().hex[:20]
                detail = (
                    f"1 error occurred:\n\t* hook run id '{hook_run}' failed on action '{refusal.action}' "
                    f"hook '{refusal.hook}': action failed: {refusal.message}\n\n"
                )
                raise ApiError(412, f"{event} hook aborted, run id '{run}': {detail}")


_OCTET = "application/octet-stream"
