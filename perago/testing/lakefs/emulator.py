"""``LakeFSEmulator``: a lakeFS-compatible HTTP server on loopback, for tests, soaks and the embedded demo."""

from __future__ import annotations

import pickle
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from perago.testing.lakefs.base import HookRefusal
from perago.testing.lakefs.blobs import Blobs, BlobStore
from perago.testing.lakefs.calls import Reply
from perago.testing.lakefs.faults import FaultOptions, Faults
from perago.testing.lakefs.presign import Presigner
from perago.testing.lakefs.routes import LakeFSApi
from perago.testing.lakefs.server import OPERATION_IDS, Handler
from perago.testing.lakefs.state import Repository

DEFAULT_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
DEFAULT_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 makes a client opening 16 connections at once wait out the kernel's 1 s
    # SYN retry (a real server's is in the hundreds); daemon threads so a stuck client never blocks shutdown.
    request_queue_size = 1024
    daemon_threads = True


class LakeFSEmulator:
    """A lakeFS API server (``/api/v1``) on a loopback port, started in-process.

    ``lakefs_sdk``, the high-level ``lakefs`` package and ``lakefs-spec`` work against it unchanged; what it does
    and does not emulate is in docs/lakefs-emulator.md. Storage is in memory by default (``blockstore="s3"`` keeps
    blobs in a real S3 endpoint such as moto's server, with presigned URLs pointing at it, as lakeFS on S3 does);
    with ``storage_dir`` blobs live in that directory and the repositories are saved there when the emulator stops,
    so a restarted emulator continues where it was. ``faults`` (or :meth:`set_faults`) adds latency and random
    429/5xx, dropped and applied-then-lost answers; ``multi_storage`` answers the config as a multi-storage server.
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
        faults: FaultOptions | None = None,
        multi_storage: bool = False,
        presign_multipart: bool = True,
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
        self.api = LakeFSApi(blobs, self.presigner, presign, clock, multi_storage)
        self.api.presign_multipart = presign_multipart
        self.faults = Faults(faults)
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
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
        self._server = _Server((self._host, self._port), handler)
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
            saved = pickle.loads(path.read_bytes())
            self.api.repos, self.api.used_namespaces = saved["repositories"], saved["namespaces"]

    def _save(self) -> None:
        path = self._state_file()
        if path is not None:
            saved = {"repositories": self.api.repos, "namespaces": self.api.used_namespaces}
            path.write_bytes(pickle.dumps(saved))

    # -- convenience and test controls ---------------------------------------------------------------------------
    def create_repository(
        self, name: str, default_branch: str = "main", presign: bool | None = None, storage_namespace: str = ""
    ) -> Repository:
        """Create a repository without HTTP (its first commit is "Repository created")."""
        namespace = storage_namespace or f"{self.api.blockstore_type()}://{name}"
        return self.api.create_repository(name, namespace, default_branch, presign)

    def set_presign(self, repository: str, enabled: bool) -> None:
        """Say whether one repository's storage can presign (lakeFS's mem/local adapters cannot)."""
        self.api.repos[repository].presign = enabled

    def set_faults(self, **options: Any) -> None:
        """Replace the random faults and latency (keyword arguments of :class:`FaultOptions`)."""
        self.faults.configure(FaultOptions(**options))

    def inject_fault(self, operation_id: str, status: int = 503, times: int = 1) -> None:
        """Make the next ``times`` calls of an operation fail with ``status`` before doing anything."""
        self.faults.queue(self._check(operation_id), status, times)

    def drop_connection(self, operation_id: str, times: int = 1) -> None:
        """Make the next ``times`` calls of an operation drop the connection without doing anything."""
        self.faults.queue(self._check(operation_id), "drop", times)

    def lose_answer(self, operation_id: str, times: int = 1) -> None:
        """Make the next ``times`` calls of an operation take effect, then drop the connection unanswered."""
        self.faults.queue(self._check(operation_id), "lose", times)

    def add_latency(self, operation_id: str, seconds: float) -> None:
        """Delay every call of an operation (on top of the global latency)."""
        self.faults.latency[self._check(operation_id)] = seconds

    @property
    def latency(self) -> dict[str, float]:
        """Per-operation added latency (seconds)."""
        return self.faults.latency

    def clear_faults(self) -> None:
        """Forget queued and random faults and added latency."""
        self.faults.clear()

    def fail_hook(self, event: str, message: str, repository: str = "*", branch: str = "*") -> None:
        """Make a pre-<event> hook (``pre-commit``, ``pre-merge``, ``pre-create-branch``...) refuse with 412."""
        with self.api.lock:
            self.api.refusals.append(HookRefusal(event, message, repository, branch))

    def clear_hooks(self) -> None:
        with self.api.lock:
            self.api.refusals.clear()

    def protect_branch(
        self, repository: str, pattern: str, blocked: Iterable[str] = ("staging_write", "commit")
    ) -> None:
        """A branch protection rule (glob ``pattern``) blocking staging writes and/or commits (403)."""
        self.api.repos[repository].protected[pattern] = frozenset(blocked)

    def fail_deletes(self, times: int = 1) -> None:
        """Make the next ``times`` DeleteObjects calls answer 200 with a 500 error for every path (nothing deleted)."""
        with self.api.lock:
            self.api.failing_deletes += times

    def record(self, method: str, operation_id: str) -> None:
        with self._lock:
            self._counts[(method, operation_id)] += 1

    def remember(self, operation_id: str, reply: Reply) -> None:
        """Keep the last JSON answer of each operation (contract tests validate it against lakefs_sdk's models)."""
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
                n
                for (m, op), n in self._counts.items()
                if (operation_id is None or op == operation_id) and (method is None or m == method)
            )

    def reset_requests(self) -> None:
        with self._lock:
            self._counts.clear()

    @staticmethod
    def _check(operation_id: str) -> str:
        if operation_id not in OPERATION_IDS and operation_id != "presigned":
            known = ", ".join([*OPERATION_IDS, "presigned"])
            raise ValueError(f"unknown lakeFS operationId {operation_id!r}; known: {known}")
        return operation_id
