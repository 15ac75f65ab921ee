"""Presigned multipart upload of one large file (lakeFS ``/staging/pmpu``).

lakeFS's controller.go CreatePresignMultipartUpload, UploadPart, CompletePresignMultipartUpload and
AbortPresignMultipartUpload.

The file goes straight to the object store in parts of ``conn.part_size`` (more when 10,000 parts would not hold
it), each streamed from disk with its length; the whole file is SHA-256 hashed exactly once on the way, in order,
even when a part is retried. A part URL that has expired (403) is replaced by a fresh one (UploadPart). Completion
stages the object with perago's user metadata; a failed upload is aborted so the store drops its parts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO

from lakefs_sdk import AbortPresignMultipartUpload, CompletePresignMultipartUpload, UploadPart, UploadPartFrom

from perago.errors import LakeFSError, WorkspaceError
from perago.lakefs.client import LakeFSConnection, is_retryable
from perago.snapshot import Entry, StreamingHasher

MAX_PARTS = 10000


class _PartReader:
    """Streams ``length`` bytes from ``offset`` of a file, hashing each byte of the file once, in order."""

    def __init__(self, handle: IO[bytes], offset: int, length: int, progress: StreamingHasher) -> None:
        self.handle, self.position, self.end, self.progress = handle, offset, offset + length, progress
        handle.seek(offset)

    def read(self, size: int = -1) -> bytes:
        size = self.end - self.position if size is None or size < 0 else min(size, self.end - self.position)
        chunk = self.handle.read(size)
        fresh = self.position + len(chunk) - self.progress.size
        if fresh > 0:  # bytes not hashed by an earlier try of this part
            self.progress.feed(chunk[len(chunk) - fresh :])
        self.position += len(chunk)
        return chunk


def part_size(conn: LakeFSConnection, size: int) -> int:
    """``conn.part_size``, or larger when the file would need more than 10,000 parts."""
    return max(conn.part_size, -(-size // MAX_PARTS))


class _Upload:
    def __init__(self, conn: LakeFSConnection, repository: str, branch: str, rel: str) -> None:
        self.conn, self.repository, self.branch, self.rel = conn, repository, branch, rel
        self.upload_id, self.address = "", ""

    def start(self, parts: int) -> list[str]:
        api = self.conn.sdk.experimental_api
        created = self.conn.call(
            f"start a multipart upload of {self.rel}",
            lambda: api.create_presign_multipart_upload(self.repository, self.branch, self.rel, parts=parts),
        )
        self.upload_id, self.address = str(created.upload_id), str(created.physical_address)
        return list(created.presigned_urls or [])

    def fresh_url(self, number: int) -> str:
        api, address = self.conn.sdk.experimental_api, self.address
        answer = self.conn.call(
            f"renew the URL of part {number} of {self.rel}",
            lambda: api.upload_part(
                self.repository, self.branch, self.upload_id, self.rel, number, UploadPartFrom(physical_address=address)
            ),
        )
        return str(answer.presigned_url)

    def put_part(
        self, url: str, number: int, handle: IO[bytes], offset: int, length: int, progress: StreamingHasher
    ) -> str:
        def once() -> str:
            reader = _PartReader(handle, offset, length, progress)
            headers = {"Content-Length": str(length)}
            response = self.conn.request("PUT", url_box[0], api=False, body=reader, headers=headers)
            data = response.data
            if response.status == 403:  # the part URL expired: ask lakeFS for a fresh one, then retry
                url_box[0] = self.fresh_url(number)
            if response.status != 200:
                raise LakeFSError(
                    f"the object store refused part {number} of {self.rel}: HTTP {response.status} {data[:200]!r}",
                    retryable=response.status == 403 or is_retryable(response.status),
                    status=response.status,
                )
            return str(response.headers.get("ETag", "")).strip('"')

        url_box = [url]
        return self.conn.retry.run(f"upload part {number} of {self.rel}", once)

    def complete(self, etags: list[str], metadata: dict[str, str], landed: Callable[[], bool]) -> None:
        """Complete; a repeated completion (the first answer lost) finds the upload gone but the object staged."""
        body = CompletePresignMultipartUpload(
            physical_address=self.address,
            parts=[UploadPart(part_number=n, etag=e) for n, e in enumerate(etags, start=1)],
            user_metadata=metadata,
            content_type="application/octet-stream",
        )
        api = self.conn.sdk.experimental_api

        def once() -> bool:
            try:
                api.complete_presign_multipart_upload(self.repository, self.branch, self.upload_id, self.rel, body)
            except Exception:
                # lakefs_sdk's urllib3 retries a PUT whose connection dropped by itself, so even a first failure
                # ("NoSuchUpload") may follow a completion that was applied
                if landed():
                    return True
                raise
            return True

        self.conn.retry.run(f"complete the multipart upload of {self.rel}", once, on_retry=lambda _: landed() or None)

    def abort(self) -> None:
        body = AbortPresignMultipartUpload(physical_address=self.address)
        try:
            self.conn.sdk.experimental_api.abort_presign_multipart_upload(
                self.repository, self.branch, self.upload_id, self.rel, body
            )
        except Exception:  # best effort: the store's lifecycle rules expire what an abort misses
            return


def upload_multipart(
    conn: LakeFSConnection,
    repository: str,
    branch: str,
    rel: str,
    local: Path,
    entry: Entry,
    metadata: dict[str, str],
    landed: Callable[[], bool],
) -> None:
    """Upload ``local`` to ``rel`` on ``branch`` in presigned parts, then stage it with ``metadata``.

    ``landed`` tells whether the object is already staged with this content (an earlier try's answer was lost).
    """
    size = part_size(conn, entry.size)
    count = max(1, -(-entry.size // size))
    upload = _Upload(conn, repository, branch, rel)
    urls = upload.start(count)
    progress = StreamingHasher()
    try:
        with open(local, "rb") as handle:
            etags = [
                upload.put_part(url, n, handle, (n - 1) * size, min(size, entry.size - (n - 1) * size), progress)
                for n, url in enumerate(urls, start=1)
            ]
        if progress.result() != (entry.sha256, entry.size):
            raise WorkspaceError(f"{local} changed after the task returned; refusing to publish a torn workspace")
        upload.complete(etags, metadata, landed)
    except BaseException:
        upload.abort()
        raise
