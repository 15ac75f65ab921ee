"""What both emulators' request handlers share: HTTP/1.1 keep-alive, no Nagle delay, quiet logs, one dispatch."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any


class LoopbackHandler(BaseHTTPRequestHandler):
    """A keep-alive handler that sends every method to ``_dispatch(method)``.

    Without HTTP/1.1 every request opens a connection, and without ``TCP_NODELAY`` small responses stall ~40 ms
    on delayed ACKs: together that is ~25 requests/s instead of thousands.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr lines of ``BaseHTTPRequestHandler``."""

    def _dispatch(self, method: str) -> None:  # pragma: no cover - subclasses implement it
        raise NotImplementedError

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")
