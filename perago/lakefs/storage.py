"""What a lakeFS server's storage offers a repository: presigned URLs, presigned multipart upload.

Read from ``GET /config`` (controller.go GetConfig): a single-storage server answers ``storage_config``; a
multi-storage one omits it and lists every storage in ``storage_config_list``, so the repository's ``storage_id``
picks the entry. Storage that cannot presign (lakeFS's mem/local blockstores, S3 with presign disabled) answers 400
to ``presign=true`` (GetPreSignedURL -> block.ErrOperationNotSupported); ``PERAGO_PRESIGN=true`` on such storage, or
a 400 met while presigning, falls back to transfers through the lakeFS API with one warning per repository.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from loguru import logger

T = TypeVar("T")


@dataclass(frozen=True)
class StorageFacts:
    """What one repository's storage supports."""

    presign: bool
    presign_multipart: bool


class Capabilities:
    """Per-repository storage facts, read once and cached; the presign setting applied."""

    def __init__(self, sdk: Any, call: Callable[[str, Callable[[], Any]], Any], setting: bool | None) -> None:
        self._sdk, self._call, self._setting = sdk, call, setting
        self._config: Any = None
        self._facts: dict[str, StorageFacts] = {}
        self._lock = threading.Lock()

    def presign(self, repository: str) -> bool:
        """Use presigned URLs for this repository's transfers?"""
        return self.facts(repository).presign

    def presign_multipart(self, repository: str) -> bool:
        """Does this repository's storage offer presigned multipart upload (``/staging/pmpu``)?"""
        return self.facts(repository).presign_multipart

    def facts(self, repository: str) -> StorageFacts:
        """The storage facts of one repository (asked once, then cached)."""
        with self._lock:
            known = self._facts.get(repository)
        if known is not None:
            return known
        facts = self._decide(repository, self._storage(repository))
        with self._lock:
            self._facts.setdefault(repository, facts)
            return self._facts[repository]

    def refused(self, repository: str, detail: str) -> None:
        """Note that lakeFS refused to presign for this repository: use the API from now on (one warning)."""
        with self._lock:
            was = self._facts.get(repository)
            self._facts[repository] = StorageFacts(presign=False, presign_multipart=False)
        if was is None or was.presign:
            logger.warning(
                "lakeFS refused presigned URLs for repository {} ({}); transfers go through the lakeFS API",
                repository,
                detail,
            )

    def _storage(self, repository: str) -> Any:
        if self._config is None:
            self._config = self._call("read the storage config", self._sdk.config_api.get_config)
        storage = getattr(self._config, "storage_config", None)
        if storage is not None:
            return storage
        listed = getattr(self._config, "storage_config_list", None) or []
        if not listed:
            return None
        repositories = self._sdk.repositories_api
        repo = self._call(f"read repository {repository}", lambda: repositories.get_repository(repository))
        wanted = getattr(repo, "storage_id", None) or ""
        return next((s for s in listed if (s.blockstore_id or "") == wanted), listed[0] if len(listed) == 1 else None)

    def _decide(self, repository: str, storage: Any) -> StorageFacts:
        supported = bool(storage is not None and storage.pre_sign_support)
        multipart = bool(supported and getattr(storage, "pre_sign_multipart_upload", False))
        if self._setting is False:
            return StorageFacts(presign=False, presign_multipart=False)
        if self._setting and not supported:
            logger.warning(
                "PERAGO_PRESIGN=true, but the lakeFS storage of repository {} cannot presign (its storage config "
                "says pre_sign_support=false); transfers go through the lakeFS API",
                repository,
            )
        return StorageFacts(presign=supported, presign_multipart=multipart)
