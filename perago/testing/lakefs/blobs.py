"""The emulator's blockstore: object bytes by physical address (memory, or files under a directory)."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from typing import Protocol


class Blobs(Protocol):
    """What the emulator needs of a blockstore (memory/directory here, S3 in ``s3.py``)."""

    def new_address(self, namespace: str) -> str: ...

    def put(self, address: str, data: bytes) -> None: ...

    def get(self, address: str) -> bytes: ...

    def exists(self, address: str) -> bool: ...


class BlobStore:
    """Immutable blobs keyed by address; in memory unless a directory is given."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._memory: dict[str, bytes] = {}
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
        tmp = self._path(address).with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, self._path(address))

    def get(self, address: str) -> bytes:
        if self._directory is None:
            with self._lock:
                return self._memory[address]
        return self._path(address).read_bytes()

    def exists(self, address: str) -> bool:
        if self._directory is None:
            with self._lock:
                return address in self._memory
        return self._path(address).exists()
