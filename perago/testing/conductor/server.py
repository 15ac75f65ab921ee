"""HTTP/1.1 keep-alive server for the emulator (stdlib ``ThreadingHTTPServer``, one thread a connection)."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from loguru import logger

from perago.testing.conductor.api import Request, Response
from perago.testing.conductor.auth import Auth
from perago.testing.conductor.engine import Engine
from perago.testing.conductor.errors import ApiError, not_found
from perago.testing.conductor.routes import UPDATE_ROUTES, match
from perago.testing.conductor.traffic import Traffic
from perago.testing.httpbase import LoopbackHandler, TruncatedRequest

API_PREFIX = "/api"


class EmulatorHTTPServer(ThreadingHTTPServer):
    """The listening server; handlers reach the engine and the traffic counters through it."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], engine: Engine, traffic: Traffic, auth: Auth) -> None:
        super().__init__(address, EmulatorHandler)
        self.engine = engine
        self.traffic = traffic
        self.auth = auth
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection so :meth:`close_connections` can end idle keep-alive threads."""
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection once its handler thread is done with it."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open client connection (their handler threads then exit)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up mid-response (a worker stopped during a long poll); log the rest."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            return
        logger.opt(exception=error).warning("emulator: connection from {} failed", client_address)


class EmulatorHandler(LoopbackHandler):
    """Routes ``/api/...`` requests to the engine and writes JSON/text responses."""

    server: EmulatorHTTPServer

    def _dispatch(self, method: str) -> None:
        try:
            body = self.read_body()
        except TruncatedRequest:  # the client died mid-request: nothing is applied, nobody to answer
            self.close_connection = True
            return
        url = urlsplit(self.path)
        try:
            response = self._handle(method, url.path, dict(parse_qsl(url.query)), body)
        except ApiError as exc:
            response = Response(exc.status, json_body=exc.body())
        except Exception as exc:  # an emulator bug must surface as a 500, not a dropped connection
            logger.exception("emulator: {} {} failed", method, self.path)
            response = Response(500, json_body=ApiError(500, f"emulator error: {exc!r}").body())
        if response is None:  # an applied update whose answer is lost: hang up without answering
            self.close_connection = True
            return
        self._send(response)

    def _handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> Response | None:
        if path == "/health":  # Conductor serves its health check at /health and /api/health
            path = API_PREFIX + path
        if not path.startswith(API_PREFIX + "/"):
            raise not_found(f"{method} {path}: the emulator serves only {API_PREFIX}/...")
        found = match(method, path[len(API_PREFIX) :])
        if found is None:
            raise not_found(f"{method} {path}: no such route in the perago Conductor emulator")
        name, handler, params = found
        traffic = self.server.traffic
        traffic.delay()
        fault = traffic.record(name)
        if fault is not None:
            raise ApiError(fault, f"injected fault on route {name}", retryable=fault >= 500)
        self.server.auth.check(name, self.headers.get("X-Authorization"))
        request = Request({k: unquote(v) for k, v in params.items()}, query, body)
        if name == "token" and self.server.auth.enabled:
            return Response(200, json_body=self.server.auth.issue(request.json()))
        response = handler(self.server.engine, request)
        lost = traffic.lose_answer(name, UPDATE_ROUTES)
        if lost == "drop":
            return None
        if lost == "502":
            return Response(
                502, json_body=ApiError(502, f"injected: the answer to {name} was lost", retryable=True).body()
            )
        return response

    def _send(self, response: Response) -> None:
        if response.text is not None:
            payload, content_type = response.text.encode(), "text/plain;charset=UTF-8"
        elif response.json_body is not None:
            payload = json.dumps(response.json_body, separators=(",", ":")).encode()
            content_type = "application/json"
        else:
            payload, content_type = b"", ""
        self.send_response(response.status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)
