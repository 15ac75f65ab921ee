"""What both emulators' request handlers share: HTTP/1.1 keep-alive, no Nagle delay, quiet logs, one dispatch."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any


class TruncatedRequest(Exception):
    """The client hung up before sending the whole body it announced."""


class LoopbackHandler(BaseHTTPRequestHandler):
    """A keep-alive handler that sends every method to ``_dispatch(method)``.

    Without HTTP/1.1 every request opens a connection, and without ``TCP_NODELAY`` small responses stall ~40 ms
    on delayed ACKs: together that is ~25 requests/s instead of thousands.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr lines of ``BaseHTTPRequestHandler``."""

    def read_body(self) -> bytes:
        """The whole request body (``Content-Length`` or chunked).

        Raises:
            TruncatedRequest: The connection ended before the body did (a client killed mid-request). A real
                server's read fails then (Go's net/http: "unexpected EOF") and the request is never applied, so an
                emulator must not hand a partial body to its handler either.
        """
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self._read_exactly(length)

    def _read_exactly(self, length: int) -> bytes:
        data = self.rfile.read(length) if length else b""
        if len(data) < length:
            raise TruncatedRequest(f"{len(data)} of {length} bytes")
        return data

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            line = self.rfile.readline()
            if not line.endswith(b"\n"):
                raise TruncatedRequest("the chunked body ended without its last chunk")
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            chunks.append(self._read_exactly(size))
            self.rfile.readline()

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
