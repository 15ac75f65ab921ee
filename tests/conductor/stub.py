"""A scripted HTTP server for the Conductor answers the emulator does not give (405 from an old server, a 404 that
is a missing route rather than a missing task, a proxy's HTML page)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

UNSCRIPTED = (500, b'{"message":"unscripted"}', "application/json")


class StubConductor:
    """Answers each ``(method, path)`` from a queue of scripted replies; records every request."""

    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], list[tuple[int, bytes, str]]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                stub.requests.append((self.command, path, json.loads(raw) if raw else None))
                queue = stub.replies.get((self.command, path)) or [UNSCRIPTED]
                status, body, kind = queue.pop(0) if len(queue) > 1 else queue[0]
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    def reply(self, method: str, path: str, status: int, body: Any = None, *, text: str | None = None) -> None:
        """Queue a reply: JSON ``body``, or plain ``text`` (HTML when it starts with ``<``). The last one repeats."""
        if text is not None:
            payload, kind = text.encode(), "text/html" if text.startswith("<") else "text/plain"
        else:
            payload, kind = (b"" if body is None else json.dumps(body).encode()), "application/json"
        self.replies.setdefault((method, f"/api{path}"), []).append((status, payload, kind))

    def calls(self, method: str, path: str) -> list[Any]:
        """The bodies of the requests made to ``method`` ``/api<path>``."""
        return [body for m, p, body in self.requests if (m, p) == (method, f"/api{path}")]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api"

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
