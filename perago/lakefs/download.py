"""Download a lakeFS ref into an attempt directory: pin, list (streamed, by prefix when sparse), check, fetch.

The listing is streamed page by page and fetched while it is read, with a bounded number of objects in flight, so
memory holds the snapshot entries and no other per-object state. Every path of a page is checked (and its parent
directories created and checked) before any object of that page is written; a bad path fails the attempt, whose
directory is then discarded. A sparse workspace (``WorkspaceSpec.paths``) lists only the prefixes its entries name
(:mod:`perago.sparse`), never the whole tree filtered.

Keys that cannot be files are sorted out as they are listed (:class:`KeyCheck`): directory markers (``dir/``) and
keys with empty or ``.`` segments (``a//b``) are valid lakeFS paths no local file can stand for, so they are skipped
and named in one warning (and never deleted by a later publication, which only sees what was downloaded); a path
that escapes the workspace, or that is both a file and a directory, refuses the download.

Each file comes from the local content cache when it holds the object's bytes (:mod:`perago.cache`, keyed by
:func:`cache_key`), else it is streamed (presigned URL when the repository's storage offers one, else the API) into
a temporary file next to its target, hashed with SHA-256 on the way, size-checked, checked against the ``sha256``
user metadata perago stores on upload, added to the cache, renamed into place, and recorded with its stamp
(:func:`perago.snapshot.record_downloaded_file`) so the before-snapshot costs no further read. Presigned URLs
expire (15 minutes, less with expiring credentials): a URL past its expiry, or one the object store answers 403 to,
is replaced by a fresh one (:func:`refresh_presigned_url`) and the download goes on.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from itertools import islice
from pathlib import Path

from loguru import logger

from perago.cache import CacheKey, ContentCache
from perago.errors import LakeFSError, UnsafePathError
from perago.lakefs.client import LakeFSConnection, is_retryable
from perago.lakefs.keys import KeyCheck
from perago.lakefs.listing import PAGE, RemoteObject, list_objects, presign_or_fall_back, select_objects
from perago.lakefs.paths import SYMLINK_METADATA_KEY, symlink_target_is_inside
from perago.models import DownloadRecord, WorkspaceInput
from perago.snapshot import Entry, StreamingHasher, record_downloaded_file, symlink_entry

CHUNK = 1024 * 1024
IN_FLIGHT = 2 * PAGE
"""Objects listed but not yet fetched: enough that the next listing page is read while the pool stays busy."""
REFRESHES = 3  # fresh URLs tried for one file before its 403 counts as a (retryable) failure
EXPIRY_MARGIN_S = 30


def resolve_commit(conn: LakeFSConnection, workspace: WorkspaceInput) -> str:
    """Pin the workspace's ref (commit, branch or tag) to a commit id."""
    commit = conn.call(
        f"resolve {workspace.ref_type} {workspace.ref!r} in {workspace.repository}",
        lambda: conn.sdk.commits_api.get_commit(workspace.repository, workspace.ref),
    )
    return str(commit.id)


def refresh_presigned_url(conn: LakeFSConnection, repository: str, commit: str, path: str) -> str:
    """A fresh presigned URL for one object (the listed one expired)."""
    stat = conn.call(
        f"renew the presigned URL of {path}",
        lambda: conn.sdk.objects_api.stat_object(repository, commit, path, presign=True, user_metadata=False),
    )
    return str(stat.physical_address)


def cache_key(obj: RemoteObject) -> CacheKey | None:
    """What names an object's bytes in the content cache.

    The ``sha256`` user metadata perago writes on upload, when present. Otherwise lakeFS's own entry identity: size,
    checksum (ETag), user metadata and content type, which lakeFS hashes into ``graveler.Value.Identity``
    (``EntryToValue`` in pkg/catalog/entry.go) and compares to decide that an entry did not change (diffs and merges,
    ``diffIterator`` in pkg/graveler/committed/diff.go). The physical address is not part of it: with presigned
    listings lakeFS replaces it by the presigned URL (``Controller.ListObjects`` in pkg/api/controller.go).
    """
    key = CacheKey.content(obj.metadata.get("sha256", ""))
    if key is not None or not obj.checksum:
        return key
    metadata = json.dumps(sorted(obj.metadata.items()))
    return CacheKey.identity("lakefs-entry", str(obj.size), obj.checksum, metadata, obj.content_type)


def _stream_to(conn: LakeFSConnection, url: str, api: bool, tmp: Path) -> tuple[str, int]:
    response = conn.request("GET", url, api=api, preload_content=False)
    try:
        if response.status != 200:
            # read the short error body, so the connection goes back to the pool clean (an unread body would be
            # taken for the next answer on it: a spurious transient error, and a retry)
            response.drain_conn()
            raise LakeFSError(
                f"GET returned HTTP {response.status}",
                # a presigned URL's 403 is the object store saying it expired: not final (see Downloader._get)
                retryable=is_retryable(response.status) or (response.status == 403 and not api),
                status=response.status,
            )
        hasher = StreamingHasher()
        with open(tmp, "wb") as handle:
            for chunk in response.stream(CHUNK):
                handle.write(hasher.feed(chunk))
        return hasher.result()
    finally:
        response.release_conn()


class Downloader:
    """Fetches the objects of one pinned commit into one directory, through the content cache when there is one."""

    def __init__(
        self,
        conn: LakeFSConnection,
        workspace: WorkspaceInput,
        commit: str,
        root: Path,
        presign: bool,
        cache: ContentCache | None = None,
        link: bool = False,
    ) -> None:
        self.conn, self.workspace, self.commit, self.root, self.presign = conn, workspace, commit, root, presign
        self.cache, self.link = cache, link
        self._root = os.fspath(root)
        self.fetched_bytes = 0
        self.cache_hits = 0
        self._lock = threading.Lock()

    def fetch(self, obj: RemoteObject) -> tuple[str, Entry]:
        """Materialise one object (or create one symlink) and return its snapshot entry."""
        target = f"{self._root}/{obj.path}"  # == local_path(): a checked path, no '..' or absolute part; str is cheaper
        link = obj.metadata.get(SYMLINK_METADATA_KEY)
        if link is not None:
            return obj.path, self._symlink(obj.path, target, link)
        digest = self._cached_or_fetched(obj, target)
        if self.link and self.cache is not None:  # may be a hard link to the cache: its mtime is the LRU clock
            return obj.path, Entry(kind="file", sha256=digest, size=obj.size)
        return obj.path, record_downloaded_file(Path(target), digest)

    def _cached_or_fetched(self, obj: RemoteObject, target: str) -> str:
        """Write the object's bytes at ``target``; returns their SHA-256.

        A cache hit is written in place (the attempt directory is private and the task has not started); a download
        goes to a temporary file next to the target, is verified, added to the cache and renamed into place.
        """
        key = cache_key(obj) if self.cache is not None else None
        if key is not None and self.cache is not None:
            served = self.cache.materialise(key, obj.size, target, link=self.link)
            if served is not None:
                with self._lock:
                    self.cache_hits += 1
                return served
        folder, _, name = target.rpartition("/")
        tmp = Path(f"{folder}/.{name[:100]}.perago-part-{uuid.uuid4().hex[:8]}")
        digest = self._fetch_remote(obj, tmp)
        if key is not None and self.cache is not None:
            self.cache.insert(key, os.fspath(tmp), digest, obj.size, link=self.link)
        os.replace(tmp, target)
        return digest

    def _fetch_remote(self, obj: RemoteObject, tmp: Path) -> str:
        where = f"download {obj.path} from {self.workspace.repository}@{self.commit}"
        digest, size = self.conn.retry.run(where, partial(self._get, obj, tmp))
        self._verify(obj, digest, size, tmp)
        with self._lock:
            self.fetched_bytes += size
        return digest

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

    def _symlink(self, path: str, target: str, link: str) -> Entry:
        if not symlink_target_is_inside(path, link):
            raise UnsafePathError(
                f"object {path!r} in {self.workspace.repository}@{self.commit} is a symlink to {link!r}, outside the "
                "workspace; refused"
            )
        os.symlink(link, target)
        return symlink_entry(link)


def fetch_streamed(
    fetch: Callable[[RemoteObject], tuple[str, Entry]],
    objects: Iterable[RemoteObject],
    workers: int,
    prepare: Callable[[list[RemoteObject]], list[RemoteObject]],
) -> dict[str, Entry]:
    """Fetch objects on ``workers`` threads as they are listed, at most :data:`IN_FLIGHT` at a time.

    Each batch of :data:`PAGE` objects goes through ``prepare`` (checked, filtered) before any of it is fetched. The
    first failure stops the submission of further objects and is raised once those in flight are done.
    """
    entries: dict[str, Entry] = {}
    errors: list[Exception] = []
    window = threading.BoundedSemaphore(IN_FLIGHT)

    def done(future: Future[tuple[str, Entry]]) -> None:
        window.release()
        try:
            path, entry = future.result()
            entries[path] = entry
        except Exception as exc:
            errors.append(exc)

    iterator = iter(objects)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="perago-get") as pool:
        while not errors and (batch := list(islice(iterator, PAGE))):
            for obj in prepare(batch):
                window.acquire()
                if errors:
                    break
                pool.submit(fetch, obj).add_done_callback(done)
    if errors:
        raise errors[0]
    return entries


def download_workspace(
    conn: LakeFSConnection,
    workspace: WorkspaceInput,
    directory: Path,
    workers: int,
    *,
    paths: Sequence[str] | None = None,
    cache: ContentCache | None = None,
    read_only: bool = False,
) -> DownloadRecord:
    """Pin, list, check and fetch (see the module docstring); ``paths`` makes the workspace sparse.

    ``read_only``: the task declared it does not write, so the cache may hard-link its files instead of copying.
    ``bytes_downloaded`` of the record counts the bytes fetched from lakeFS (cache hits are not downloads).
    """
    commit = resolve_commit(conn, workspace)
    objects, presign = presign_or_fall_back(conn, workspace.repository, commit, paths)
    downloader = Downloader(conn, workspace, commit, directory, presign, cache, link=read_only)
    keys = KeyCheck(directory, workspace.repository, commit)
    try:
        entries = fetch_streamed(downloader.fetch, objects, workers, keys.batch)
    finally:
        if cache is not None:
            cache.settle()
    keys.report()
    if cache is not None:
        stats = cache.stats
        logger.debug("content cache: {} hit(s), {} miss(es) so far in this process", stats.hits, stats.misses)
    return DownloadRecord(
        commit_id=commit,
        entries=dict(sorted(entries.items())),
        bytes_downloaded=downloader.fetched_bytes,
        cache_hits=downloader.cache_hits,
    )


__all__ = [
    "Downloader",
    "RemoteObject",
    "cache_key",
    "download_workspace",
    "fetch_streamed",
    "list_objects",
    "refresh_presigned_url",
    "resolve_commit",
    "select_objects",
]
