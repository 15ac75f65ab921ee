"""Upload one changed path to a staging branch, and bulk-delete removed ones.

How a file travels depends on its size:

- below ``conn.multipart_threshold`` (1 GiB): one ``POST .../objects`` with its ``Content-Length``; lakeFS writes
  it with one PutObject (pkg/block/s3/adapter.go Put), which S3 caps at 5 GiB;
- from the threshold up: a presigned multipart upload straight to the object store when the repository's storage
  offers it (``/staging/pmpu``, see ``multipart.py``), else the same POST streamed without a length (chunked):
  lakeFS then writes with its multipart manager (``WriteBlob(size=-1)``), which has no 5 GiB limit.

Every upload carries the file's SHA-256 as ``sha256`` user metadata and is re-hashed on the way, so a file that
changed after the snapshot is caught. A retried upload first asks whether its earlier try landed (same SHA-256 and
size on the branch). DeleteObjects answers 200 with per-path errors (controller.go DeleteObjects): any error fails
the staging, retryably when every error was a 5xx.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import IO, Any

from lakefs_sdk import PathList
from lakefs_sdk.exceptions import ApiException

from perago.errors import LakeFSError, WorkspaceError
from perago.lakefs.client import TRANSIENT, LakeFSConnection, check_status, is_retryable
from perago.lakefs.headers import decode_header_value, encode_header_value
from perago.lakefs.multipart import upload_multipart
from perago.lakefs.paths import SYMLINK_METADATA_KEY, refuse_outward_symlink
from perago.snapshot import Entry

MAX_DELETE = 1000
CHUNK = 1024 * 1024


class _HashingReader:
    """Wraps a file so that what is sent is hashed as it is read."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size if size and size > 0 else CHUNK)
        self.digest.update(chunk)
        return chunk

    def chunks(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk


def user_metadata(entry: Entry) -> dict[str, str]:
    """The user metadata perago stores with an uploaded path (header-safe values)."""
    meta = {"sha256": entry.sha256}
    if entry.kind == "symlink":
        meta[SYMLINK_METADATA_KEY] = encode_header_value(entry.target or "")
    return meta


class Uploader:
    """Uploads the changed paths of one attempt directory to one staging branch."""

    def __init__(self, conn: LakeFSConnection, repository: str, branch: str, directory: Path) -> None:
        self.conn, self.repository, self.branch, self.directory = conn, repository, branch, directory

    def upload(self, rel: str, entry: Entry) -> None:
        """Upload one added or changed path (retried on transient failures)."""
        refuse_outward_symlink(rel, entry)
        local = self.directory.joinpath(*rel.split("/"))
        what = f"upload {rel} to {self.branch}"
        landed = partial(self._landed, rel, entry)
        self.conn.retry.run(what, partial(self._upload_once, rel, local, entry), on_retry=landed)

    def _upload_once(self, rel: str, local: Path, entry: Entry) -> bool:
        large = entry.kind == "file" and entry.size >= self.conn.multipart_threshold
        if large and self.conn.capabilities.presign_multipart(self.repository):
            landed = partial(self._landed, rel, entry, None)
            meta = user_metadata(entry)
            upload_multipart(self.conn, self.repository, self.branch, rel, local, entry, meta, lambda: bool(landed()))
            return True
        repo = self.conn.quote(self.repository)
        url = self.conn.api_url(f"/repositories/{repo}/branches/{self.conn.quote(self.branch)}/objects", path=rel)
        headers = {"Content-Type": "application/octet-stream"}
        headers.update({f"x-lakefs-meta-{k}": v for k, v in user_metadata(entry).items()})
        if entry.kind == "symlink":
            body = (entry.target or "").encode()
            response = self.conn.request("POST", url, api=True, body=body, headers=headers)
            check_status(response.status, response.data, f"upload {rel}")
            return True
        with open(local, "rb") as handle:
            reader = _HashingReader(handle)
            if large:  # no length: lakeFS streams it into a multipart upload of its own
                response = self.conn.request("POST", url, api=True, body=reader.chunks(), headers=headers, chunked=True)
            else:
                headers["Content-Length"] = str(entry.size)
                response = self.conn.request("POST", url, api=True, body=reader, headers=headers, preload_content=True)
            check_status(response.status, response.data, f"upload {rel}")
        if reader.digest.hexdigest() != entry.sha256:
            raise WorkspaceError(f"{local} changed after the task returned; refusing to publish a torn workspace")
        return True

    def _landed(self, rel: str, entry: Entry, error: LakeFSError | None) -> bool | None:
        """True when an earlier try of this upload is already on the branch (its answer was lost)."""
        try:
            stat = self.conn.sdk.objects_api.stat_object(self.repository, self.branch, rel, user_metadata=True)
        except (ApiException, *TRANSIENT):
            return None
        meta = {str(k).lower(): decode_header_value(str(v)) for k, v in (stat.metadata or {}).items()}
        expected = {k: decode_header_value(v) for k, v in user_metadata(entry).items()}
        size = len((entry.target or "").encode()) if entry.kind == "symlink" else entry.size
        same = all(meta.get(k) == v for k, v in expected.items()) and stat.size_bytes == size
        return True if same else None

    def delete(self, paths: list[str]) -> None:
        """Bulk-delete removed paths, at most 1,000 a call; a path lakeFS did not delete fails the staging."""
        for start in range(0, len(paths), MAX_DELETE):
            chunk = paths[start : start + MAX_DELETE]
            self.conn.call(f"delete {len(chunk)} object(s) on {self.branch}", partial(self._delete_once, chunk))

    def _delete_once(self, chunk: list[str]) -> None:
        answer = self.conn.sdk.objects_api.delete_objects(self.repository, self.branch, PathList(paths=chunk))
        errors: list[Any] = list(answer.errors or [])
        if errors:
            listed = "; ".join(f"{e.path!r} (HTTP {e.status_code}: {e.message})" for e in errors[:10])
            more = f" (+{len(errors) - 10} more)" if len(errors) > 10 else ""
            raise LakeFSError(
                f"lakeFS did not delete {len(errors)} path(s) on {self.branch}: {listed}{more}; nothing was published",
                retryable=all(is_retryable(e.status_code) for e in errors),
                status=int(errors[0].status_code),
            )
