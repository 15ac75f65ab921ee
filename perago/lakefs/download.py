"""Download a lakeFS ref into an attempt directory: pin, list, check every path, then fetch in parallel.

Each file is streamed (presigned URL when the repository's storage offers one, else the API) into a temporary file
next to its target, hashed with SHA-256 on the way, size-checked, checked against the ``sha256`` user metadata
perago stores on upload, renamed into place, and recorded with its stamp
(:func:`perago.snapshot.record_downloaded_file`) so the before-snapshot costs no further read.

Keys that cannot be files are sorted out before anything is written (:func:`classify_keys`): directory markers
(``dir/``) and keys with empty or ``.`` segments (``a//b``) are valid lakeFS paths no local file can stand for, so
they are skipped and named in a warning (and never deleted by a later publication, which only sees what was
downloaded); a path that escapes the workspace, or that is both a file and a directory, refuses the download.

Presigned URLs expire (15 minutes, less with expiring credentials): a URL past its expiry, or one the object store
answers 403 to, is replaced by a fresh one (:func:`refresh_presigned_url`) and the download goes on.
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

from loguru import logger

from perago.errors import LakeFSError, UnsafePathError
from perago.lakefs.client import LakeFSConnection
from perago.lakefs.headers import decode_header_value
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
REFRESHES = 3  # fresh URLs tried for one file before its 403 counts as a (retryable) failure
EXPIRY_MARGIN_S = 30


@dataclass(frozen=True)
class RemoteObject:
    """One listed object."""

    path: str
    size: int
    address: str
    metadata: dict[str, str]
    expiry: int | None = None


def resolve_commit(conn: LakeFSConnection, workspace: WorkspaceInput) -> str:
    """Pin the workspace's ref (commit, branch or tag) to a commit id."""
    commit = conn.call(
        f"resolve {workspace.ref_type} {workspace.ref!r} in {workspace.repository}",
        lambda: conn.sdk.commits_api.get_commit(workspace.repository, workspace.ref),
    )
    return str(commit.id)


def _list(conn: LakeFSConnection, repository: str, commit: str, presign: bool) -> list[RemoteObject]:
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
                meta = {str(k).lower(): decode_header_value(str(v)) for k, v in (item.metadata or {}).items()}
                address, expiry = item.physical_address or "", item.physical_address_expiry
                found.append(RemoteObject(item.path, int(item.size_bytes or 0), address, meta, expiry))
        if not page.pagination.has_more:
            return found
        after = page.pagination.next_offset


def list_objects(conn: LakeFSConnection, repository: str, commit: str) -> tuple[list[RemoteObject], bool]:
    """Every object of a commit (paginated, user metadata included), and whether their addresses are presigned.

    A 400 to ``presign=true`` means the storage cannot presign: the listing is redone for API transfers.
    """
    presign = conn.capabilities.presign(repository)
    try:
        return _list(conn, repository, commit, presign), presign
    except LakeFSError as exc:
        if not presign or exc.status != 400:
            raise
        conn.capabilities.refused(repository, str(exc))
    return _list(conn, repository, commit, False), False


def refresh_presigned_url(conn: LakeFSConnection, repository: str, commit: str, path: str) -> str:
    """A fresh presigned URL for one object (the listed one expired)."""
    stat = conn.call(
        f"renew the presigned URL of {path}",
        lambda: conn.sdk.objects_api.stat_object(repository, commit, path, presign=True, user_metadata=False),
    )
    return str(stat.physical_address)


def _not_a_file(path: str) -> str | None:
    if path.startswith("/"):
        return None  # absolute: refused by check_object_path
    if path.endswith("/"):
        return "directory marker"
    if any(segment in ("", ".") for segment in path.split("/")):
        return "empty or '.' path segment"
    return None


def classify_keys(objects: list[RemoteObject], where: str) -> list[RemoteObject]:
    """The objects that can be files; the skipped keys are named in one warning.

    A file that is also the directory of another object refuses the whole download (nothing is written).
    """
    files: list[tuple[RemoteObject, str | None]] = []
    skipped: list[tuple[RemoteObject, str | None]] = []
    for obj in objects:
        reason = _not_a_file(obj.path)
        (skipped if reason else files).append((obj, reason))
    if skipped:
        named = ", ".join(f"{o.path!r} ({r})" for o, r in skipped[:20])
        more = f" and {len(skipped) - 20} more" if len(skipped) > 20 else ""
        logger.warning("{}: skipped {} key(s) that cannot be files: {}{}", where, len(skipped), named, more)
    kept = [obj for obj, _ in files]
    directories = {o.path.rsplit("/", depth)[0] for o in kept for depth in range(1, o.path.count("/") + 1)}
    clash = next((o.path for o in kept if o.path in directories), None)
    if clash is not None:
        child = next(o.path for o in kept if o.path.startswith(clash + "/"))
        raise UnsafePathError(
            f"{where}: {clash!r} is an object and also the directory of {child!r}; a local path cannot be both. "
            "Rename one of them; nothing was written"
        )
    return kept


def _stream_to(conn: LakeFSConnection, url: str, api: bool, tmp: Path) -> tuple[str, int]:
    response = conn.request("GET", url, api=api, preload_content=False)
    try:
        if response.status != 200:
            raise LakeFSError(
                f"GET returned HTTP {response.status}",
                # a presigned URL's 403 is the object store saying it expired: not final (see Downloader._get)
                retryable=response.status >= 500 or response.status == 429 or (response.status == 403 and not api),
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
        tmp = target.parent / f".{target.name[:100]}.perago-part-{uuid.uuid4().hex[:8]}"
        where = f"download {obj.path} from {self.workspace.repository}@{self.commit}"
        digest, size = self.conn.retry.run(where, partial(self._get, obj, tmp))
        self._verify(obj, digest, size, tmp)
        os.replace(tmp, target)
        return obj.path, record_downloaded_file(target, digest)

    def _get(self, obj: RemoteObject, tmp: Path) -> tuple[str, int]:
        if not (self.presign and obj.address.startswith(("http://", "https://"))):
            route = f"/repositories/{self.conn.quote(self.workspace.repository)}/refs/{self.commit}/objects"
            return _stream_to(self.conn, self.conn.api_url(route, path=obj.path), True, tmp)
        url = obj.address
        if obj.expiry and obj.expiry < self.conn.clock() + EXPIRY_MARGIN_S:
            url = refresh_presigned_url(self.conn, self.workspace.repository, self.commit, obj.path)
        for _ in range(REFRESHES):
            try:
                return _stream_to(self.conn, url, False, tmp)
            except LakeFSError as exc:
                if exc.status != 403:  # the object store's answer to an expired (or revoked) URL
                    raise
            url = refresh_presigned_url(self.conn, self.workspace.repository, self.commit, obj.path)
        return _stream_to(self.conn, url, False, tmp)

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
    listed, presign = list_objects(conn, workspace.repository, commit)
    objects = classify_keys(listed, f"{workspace.repository}@{commit}")
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
