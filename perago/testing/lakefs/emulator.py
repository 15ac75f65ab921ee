"""``LakeFSEmulator``: a lakeFS-compatible HTTP server on loopback, for tests and the embedded demo."""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from perago.testing.lakefs.blobs import Blobs, BlobStore
from perago.testing.lakefs.calls import Call, Reply
from perago.testing.lakefs.presign import Presigner
from perago.testing.lakefs.routes import LakeFSApi
from perago.testing.lakefs.server import OPERATION_IDS, Handler
from perago.testing.lakefs.state import ApiError, Repository

DEFAULT_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
DEFAULT_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


class LakeFSEmulator:
    """A lakeFS API server (``/api/v1``) on a loopback port, started in-process.

    ``lakefs_sdk``, the high-level ``lakefs`` package and ``lakefs-spec`` work against it unchanged. Storage is in
    memory by default (``blockstore="s3"`` keeps blobs in a real S3 endpoint such as moto's server, with presigned
    URLs pointing at it, as lakeFS on S3 does); with ``storage_dir`` blobs live in that directory and the
    repositories are saved there when the emulator stops, so a restarted emulator continues where it was. Presigned
    URLs (when ``presign`` is on for a repository) are HMAC-signed by the emulator and served by it.
    """

    def __init__(
        self,
        access_key_id: str = DEFAULT_ACCESS_KEY_ID,
        secret_access_key: str = DEFAULT_SECRET_ACCESS_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        storage_dir: Path | None = None,
        presign: bool = True,
        clock: Callable[[], float] = time.time,
        blockstore: Literal["memory", "s3"] = "memory",
        s3_endpoint: str | None = None,
        s3_bucket: str = "lakefs-emulator",
    ) -> None:
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self._host, self._port = host, port
        self._storage_dir = storage_dir
        self.presigner = Presigner(secret_access_key, clock)
        blobs: Blobs
        if blockstore == "s3":
            if not s3_endpoint:
                raise ValueError("blockstore='s3' needs s3_endpoint (e.g. a moto server's URL)")
            from perago.testing.lakefs.s3 import S3BlobStore

            blobs = S3BlobStore(s3_endpoint, s3_bucket)
        else:
            blobs = BlobStore(storage_dir / "blobs" if storage_dir else None)
        self.api = LakeFSApi(blobs, self.presigner, presign)
        self.latency: dict[str, float] = {}
        self._faults: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str, str]] = []
        self.last_replies: dict[str, tuple[int, Any]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._load()

    # -- lifecycle ----------------------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """``http://host:port`` (clients add ``/api/v1``)."""
        if self._server is None:
            raise RuntimeError("LakeFSEmulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LakeFSEmulator:
        handler = type("BoundHandler", (Handler,), {"emulator": self})
        self._server = ThreadingHTTPServer((self._host, self._port), handler)
        self._server.daemon_threads = True
        self.presigner.base_url = self.endpoint
        self._thread = threading.Thread(target=self._server.serve_forever, name="lakefs-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._save()

    def __enter__(self) -> LakeFSEmulator:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _state_file(self) -> Path | None:
        return self._storage_dir / "repositories.pickle" if self._storage_dir else None

    def _load(self) -> None:
        path = self._state_file()
        if path is not None and path.exists():
            self.api.repos = pickle.loads(path.read_bytes())
            for repo in self.api.repos.values():
                repo.lock = threading.RLock()

    def _save(self) -> None:
        path = self._state_file()
        if path is not None:
            repos = {name: _without_lock(repo) for name, repo in self.api.repos.items()}
            path.write_bytes(pickle.dumps(repos))

    # -- convenience and test controls ---------------------------------------------------------------------------
    def create_repository(self, name: str, default_branch: str = "main", presign: bool | None = None) -> Repository:
        """Create a repository without HTTP (its first commit is "Repository created")."""
        return self.api.create_repository(name, f"mem://{name}", default_branch, presign)

    def set_presign(self, repository: str, enabled: bool) -> None:
        """Switch presigned URLs on or off for one repository."""
        self.api.repos[repository].presign = enabled

    def inject_fault(self, operation_id: str, status: int = 503, times: int = 1) -> None:
        """Make the next ``times`` calls of an operation fail with ``status``."""
        self._check(operation_id)
        with self._lock:
            self._faults.setdefault(operation_id, []).extend([status] * times)

    def drop_connection(self, operation_id: str, times: int = 1) -> None:
        """Make the next ``times`` calls of an operation drop the connection without answering."""
        self._check(operation_id)
        with self._lock:
            self._faults.setdefault(operation_id, []).extend(["drop"] * times)

    def add_latency(self, operation_id: str, seconds: float) -> None:
        """Delay every call of an operation."""
        self._check(operation_id)
        self.latency[operation_id] = seconds

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
        self.latency.clear()

    def take_fault(self, operation_id: str) -> Any:
        with self._lock:
            queue = self._faults.get(operation_id)
            return queue.pop(0) if queue else None

    def record(self, method: str, operation_id: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, operation_id, path))

    def remember(self, operation_id: str, reply: Reply) -> None:
        """Keep the last JSON answer of each operation (contract tests validate it against the swagger)."""
        if isinstance(reply.body, (dict, list)):
            with self._lock:
                self.last_replies[operation_id] = (reply.status, reply.body)

    def last_reply(self, operation_id: str) -> tuple[int, Any]:
        """(status, JSON body) of the last answer of an operation."""
        with self._lock:
            return self.last_replies[operation_id]

    def request_count(self, operation_id: str | None = None, method: str | None = None) -> int:
        """How many API calls arrived (optionally of one operation and/or method)."""
        with self._lock:
            return sum(
                1
                for m, op, _ in self.requests
                if (operation_id is None or op == operation_id) and (method is None or m == method)
            )

    def reset_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    @staticmethod
    def _check(operation_id: str) -> None:
        if operation_id not in OPERATION_IDS:
            raise ValueError(f"unknown lakeFS operationId {operation_id!r}; known: {', '.join(OPERATION_IDS)}")

    def serve_presigned(self, method: str, call: Call) -> Reply:
        """GET (download) or PUT (upload) through a presigned URL."""
        address = self.presigner.verify(call.query, method)
        if method == "PUT":
            self.api.blobs.put(address, call.body)
            return Reply(200, None, {"ETag": '"x"'})
        if method != "GET" or not self.api.blobs.exists(address):
            raise ApiError(404, "no such object")
        return Reply(200, memoryview(self.api.blobs.get(address)), {}, "application/octet-stream")


def _without_lock(repo: Repository) -> Repository:
    clone = Repository(repo.name, repo.storage_namespace, repo.default_branch, repo.creation_date, repo.presign)
    clone.commits, clone.branches, clone.tags, clone.metadata = repo.commits, repo.branches, repo.tags, repo.metadata
    clone.lock = None  # type: ignore[assignment]
    return clone
