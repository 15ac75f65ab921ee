"""``ConductorEmulator``: the in-process, loopback Conductor server tests and the demo run against."""

from __future__ import annotations

import copy
import threading
from types import TracebackType
from typing import Any, Self

from loguru import logger

from perago.testing.conductor.auth import Auth
from perago.testing.conductor.clock import Clock, ManualClock, SystemClock
from perago.testing.conductor.engine import Engine
from perago.testing.conductor.routes import ROUTE_NAMES
from perago.testing.conductor.server import API_PREFIX, EmulatorHTTPServer
from perago.testing.conductor.traffic import Faults, Traffic

SWEEP_INTERVAL_S = 0.1


class ConductorEmulator:
    """A Conductor-compatible HTTP server on loopback, usable as a context manager.

    Args:
        host: Interface to bind (loopback by default).
        port: TCP port; 0 picks a free one (read it back from :attr:`url`).
        clock: None for real time with a background sweeper every ~100 ms; a :class:`ManualClock`
            for tests, which sweeps on every ``clock.advance(...)`` (or call :meth:`sweep`).
        auth: ``(key_id, key_secret)`` to require Orkes-style auth (``POST /api/token``, then an
            ``X-Authorization`` header on every call); None (default) serves openly like conductor-oss.
        faults: Random faults, lost answers and latency to inject (none by default; see :class:`Faults`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        *,
        auth: tuple[str, str] | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.engine = Engine(self.clock)
        self.traffic = Traffic()
        if faults is not None:
            self.traffic.configure(faults)
        self.auth = Auth(auth)
        self._address = (host, port)
        self._server: EmulatorHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind and serve in background threads; return self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = EmulatorHTTPServer(self._address, self.engine, self.traffic, self.auth)
        serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="conductor-emulator",
            daemon=True,
        )
        self._threads = [serve]
        if isinstance(self.clock, ManualClock):
            self.clock.on_advance(self.sweep)
        else:
            self._threads.append(threading.Thread(target=self._sweep_loop, name="conductor-sweeper", daemon=True))
        for thread in self._threads:
            thread.start()
        logger.debug("conductor emulator serving at {}", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        if isinstance(self.clock, ManualClock):
            self.clock.remove_listener(self.sweep)
        server.shutdown()
        server.server_close()
        server.close_connections()
        with self.engine.changed:
            self.engine.changed.notify_all()
        for thread in [*self._threads, *self.engine.executor.http_threads]:
            thread.join(timeout=5)
        self._threads = []

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _sweep_loop(self) -> None:
        while not self._stopping.wait(SWEEP_INTERVAL_S):
            try:
                self.sweep()
            except Exception:  # keep sweeping: one bad record must not stop all timers
                logger.exception("conductor emulator: sweep failed")

    # -- test helpers ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://HOST:PORT/api``: conductor-python's ``server_api_url``."""
        if self._server is None:
            raise RuntimeError("ConductorEmulator.url: the emulator is not started; use start() or `with`")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{API_PREFIX}"

    def sweep(self) -> None:
        """Re-evaluate open workflows now: timeouts, WAIT deadlines, joins, due retries and callbacks."""
        self.engine.sweep()

    def configure_faults(self, faults: Faults) -> None:
        """Change the random faults, lost answers and latency while serving."""
        self.traffic.configure(faults)

    def get_workflow(self, workflow_id: str) -> dict[str, Any]:
        """The workflow JSON (as ``GET /api/workflow/{id}?includeTasks=true``), a private copy."""
        return copy.deepcopy(self.engine.get_workflow(workflow_id))

    def wait_for_workflow(self, workflow_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Block (real time) until the workflow leaves RUNNING; return its JSON.

        Raises:
            TimeoutError: still RUNNING after ``timeout`` seconds (the message lists its tasks).
        """
        return copy.deepcopy(self.engine.wait_for_workflow(workflow_id, timeout))

    def get_task(self, task_id: str) -> dict[str, Any]:
        """The task JSON (as ``GET /api/tasks/{id}``), a private copy."""
        return copy.deepcopy(self.engine.get_task(task_id))

    def request_count(self, route: str | None = None) -> int:
        """Requests served on ``route`` (a name from ``ROUTE_NAMES``), or on all routes."""
        self._check_route(route)
        return self.traffic.count(route)

    def inject_fault(self, route: str, status: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` requests on ``route`` with an error of ``status``."""
        self._check_route(route)
        self.traffic.inject(route, status, times)

    @staticmethod
    def _check_route(route: str | None) -> None:
        if route is not None and route not in ROUTE_NAMES:
            raise ValueError(f"unknown emulator route {route!r}; known routes: {sorted(ROUTE_NAMES)}")
