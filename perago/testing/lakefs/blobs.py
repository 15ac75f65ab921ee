"""The emulator's blockstore: object bytes by physical address (memory, or files under a directory).

Multipart uploads behave as S3's do: each part answers its MD5 as ETag, completion checks the listed ETags, every
part but the last must be at least 5 MiB (EntityTooSmall), and the object's ETag is ``md5(part md5s)-<parts>``.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from pathlib import Path
from typing import Protocol

from perago.testing.lakefs.calls import ApiError

MIN_PART = 5 * 1024 * 1024


class Blobs(Protocol):
    """What the emulator needs of a blockstore (memory/directory here, S3 in ``s3.py``)."""

    def new_address(self, namespace: str) -> str: ...

    def put(self, address: str, data: bytes) -> None: ...

    def get(self, address: str) -> bytes: ...

    def create_upload(self, address: str) -> str: ...

    def put_part(self, upload_id: str, number: int, data: bytes) -> str: ...

    def complete_upload(self, upload_id: str, address: str, parts: list[tuple[int, str]]) -> tuple[str, int]: ...

    def abort_upload(self, upload_id: str) -> None: ...


def multipart_etag(part_md5s: list[bytes]) -> str:
    """S3's ETag of a multipart object."""
    return f"{hashlib.md5(b''.join(part_md5s)).hexdigest()}-{len(part_md5s)}"


class BlobStore:
    """Immutable blobs keyed by address; in memory unless a directory is given."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._memory: dict[str, bytes] = {}
        self._uploads: dict[str, dict[int, bytes]] = {}
        self._lock = threading.Lock()
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def new_address(self, namespace: str) -> str:
        return f"{namespace.rstrip('/')}/data/{uuid.uuid4().hex}"

    def _path(self, address: str) -> Path:
        assert self._directory is not None
        return self._directory / address.replace("://", "/").replace("/", "_")

    def put(self, address: str, data: bytes) -> None:
        if self._directory is None:
            with self._lock:
                self._memory[address] = data
            return
        tmp = self._path(address).with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, self._path(address))

    def get(self, address: str) -> bytes:
        if self._directory is None:
            with self._lock:
                return self._memory[address]
        return self._path(address).read_bytes()

    # -- multipart --------------------------------------------------------------------------------------------------
    def create_upload(self, address: str) -> str:
        upload_id = uuid.uuid4().hex
        with self._lock:
            self._uploads[upload_id] = {}
        return upload_id

    def put_part(self, upload_id: str, number: int, data: bytes) -> str:
        with self._lock:
            if upload_id not in self._uploads:
                raise ApiError(404, "NoSuchUpload: The specified upload does not exist.")
            self._uploads[upload_id][number] = data
        return hashlib.md5(data).hexdigest()

    def complete_upload(self, upload_id: str, address: str, parts: list[tuple[int, str]]) -> tuple[str, int]:
        with self._lock:
            stored = self._uploads.get(upload_id)
        if stored is None:
            raise ApiError(404, "NoSuchUpload: The specified upload does not exist.")
        chunks = []
        for index, (number, etag) in enumerate(parts):
            data = stored.get(number)
            if data is None or hashlib.md5(data).hexdigest() != etag.strip('"'):
                raise ApiError(400, f"InvalidPart: part {number} was not uploaded or its ETag differs")
            if index < len(parts) - 1 and len(data) < MIN_PART:
                raise ApiError(400, "EntityTooSmall: Your proposed upload is smaller than the minimum allowed size")
            chunks.append(data)
        self.put(address, b"".join(chunks))
        self.abort_upload(upload_id)
        return multipart_etag([hashlib.md5(c).digest() for c in chunks]), sum(len(c) for c in chunks)

    def abort_upload(self, upload_id: str) -> None:
        with self._lock:
            self._uploads.pop(upload_id, None)
