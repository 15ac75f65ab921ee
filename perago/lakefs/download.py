"""Download a lakeFS ref into an attempt directory: pin, list, check every path, then fetch in parallel.

Each file is streamed (presigned URL when the server offers one, else the API) into a temporary file next to its
target, hashed with SHA-256 on the way, size-checked, checked against the ``sha256`` user metadata perago stores on
upload, renamed into place, and recorded with its stamp (:func:`perago.snapshot.record_downloaded_file`) so the
before-snapshot costs no further read.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from perago.errors import LakeFSError, UnsafePathError
from perago.lakefs.client import LakeFSConnection
from perago.lakefs.paths import (
    SYMLINK_METADATA_KEY,
    check_object_path,
    ensure_inside,
    local_path,
    symlink_target_is_inside,
)
from perago.models import DownloadRecord, WorkspaceInput
from perago.snapshot import Entry, record_downloaded_file, symlink_entry

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class RemoteObject:
    """One listed object."""

    path: str
    size: int
    address: str
    metadata: dict[str, str]


def resolve_commit(conn: LakeFSConnection, workspace: WorkspaceInput) -> str:
    """Pin the workspace's ref (commit, branch or tag) to a commit id."""
    commit = conn.call(
        f"resolve {workspace.ref_type} {workspace.ref!r} in {workspace.repository}",
        lambda: conn.sdk.commits_api.get_commit(workspace.repository, workspace.ref),
    )
    return str(commit.id)


def list_objects(conn: LakeFSConnection, repository: str, commit: str, presign: bool) -> list[RemoteObject]:
    """Every object of a commit (paginated, user metadata included)."""
    found: list[RemoteObject] = []
    after = ""
    while True:
        page = conn.call(
            f"list objects of {repository}@{commit}",
            partial(
                conn.sdk.objects_api.list_objects,
                repository,
                commit,
                user_metadata=True,
                presign=presign,
                after=after,
                amount=1000,
            ),
        )
        for item in page.results:
            if item.path_type == "object":
                meta = {str(k).lower(): str(v) for k, v in (item.metadata or {}).items()}
                found.append(RemoteObject(item.path, int(item.size_bytes or 0), item.physical_address or "", meta))
        if not page.pagination.has_more:
            return found
        after = page.pagination.next_offset


def _stream_to(conn: LakeFSConnection, url: str, api: bool, tmp: Path) -> tuple[str, int]:
    response = conn.request("GET", url, api=api, preload_content=False)
    try:
        if response.status != 200:
            raise LakeFSError(
                f"GET returned HTTP {response.status}",
                retryable=response.status >= 500 or response.status == 429,
                status=response.status,
            )
        digest, size = hashlib.sha256(), 0
        with open(tmp, "wb") as handle:
            for chunk in response.stream(CHUNK):
                digest.update(chunk)
                handle.write(chunk)
                size += len(chunk)
        return digest.hexdigest(), size
    finally:
        response.release_conn()


class Downloader:
    """Fetches the objects of one pinned commit into one directory."""

    def __init__(
        self, conn: LakeFSConnection, workspace: WorkspaceInput, commit: str, root: Path, presign: bool
    ) -> None:
        self.conn, self.workspace, self.commit, self.root, self.presign = conn, workspace, commit, root, presign

    def fetch(self, obj: RemoteObject) -> tuple[str, Entry]:
        """Download one object (or create one symlink) and return its snapshot entry."""
        target = local_path(self.root, obj.path)
        link = obj.metadata.get(SYMLINK_METADATA_KEY)
        if link is not None:
            return obj.path, self._symlink(obj.path, target, link)
        if self.presign and obj.address.startswith(("http://", "https://")):
            url, api = obj.address, False
        else:
            route = f"/repositories/{self.conn.quote(self.workspace.repository)}/refs/{self.commit}/objects"
            url, api = self.conn.api_url(route, path=obj.path), True
        tmp = target.parent / f".{target.name[:100]}.perago-part-{uuid.uuid4().hex[:8]}"
        where = f"download {obj.path} from {self.workspace.repository}@{self.commit}"
        digest, size = self.conn.retry.run(where, lambda: _stream_to(self.conn, url, api, tmp))
        self._verify(obj, digest, size, tmp)
        os.replace(tmp, target)
        return obj.path, record_downloaded_file(target, digest)

    def _verify(self, obj: RemoteObject, digest: str, size: int, tmp: Path) -> None:
        expected = obj.metadata.get("sha256")
        problem = None
        if size != obj.size:
            problem = f"got {size} bytes, lakeFS lists {obj.size}"
        elif expected and expected != digest:
            problem = f"SHA-256 {digest} differs from the recorded {expected}"
        if problem:
            tmp.unlink(missing_ok=True)
            raise LakeFSError(
                f"download of {obj.path} from {self.workspace.repository}@{self.commit} is corrupt: {problem}"
            )

    def _symlink(self, path: str, target: Path, link: str) -> Entry:
        if not symlink_target_is_inside(path, link):
            raise UnsafePathError(
                f"object {path!r} in {self.workspace.repository}@{self.commit} is a symlink to {link!r}, outside the "
                "workspace; refused"
            )
        os.symlink(link, target)
        return symlink_entry(link)


def download_workspace(
    conn: LakeFSConnection, workspace: WorkspaceInput, directory: Path, workers: int
) -> DownloadRecord:
    """Pin, list, check every path, then fetch everything in parallel (see the module docstring)."""
    commit = resolve_commit(conn, workspace)
    presign = conn.presign()
    objects = list_objects(conn, workspace.repository, commit, presign)
    for obj in objects:  # every path is checked before a single byte is written
        check_object_path(obj.path, workspace.repository, commit)
    for parent in sorted({local_path(directory, obj.path).parent for obj in objects}):
        parent.mkdir(parents=True, exist_ok=True)
        ensure_inside(directory, parent)  # once per directory, before any file is written
    downloader = Downloader(conn, workspace, commit, directory, presign)
    entries: dict[str, Any] = {}
    if objects:
        with ThreadPoolExecutor(max_workers=min(workers, len(objects)), thread_name_prefix="perago-get") as pool:
            entries.update(pool.map(downloader.fetch, objects))
    total = sum(obj.size for obj in objects if SYMLINK_METADATA_KEY not in obj.metadata)
    return DownloadRecord(commit_id=commit, entries=dict(sorted(entries.items())), bytes_downloaded=total)
