"""HTTP plumbing of the lakeFS emulator: routing by swagger path, Basic auth, faults, streaming replies."""

from __future__ import annotations

import base64
import json
import re
import socket
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from perago.testing.httpbase import LoopbackHandler
from perago.testing.lakefs.calls import Call, Reply
from perago.testing.lakefs.presign import PRESIGNED_PATH
from perago.testing.lakefs.state import ApiError

if TYPE_CHECKING:
    from perago.testing.lakefs.emulator import LakeFSEmulator

R = "/repositories/{repository}"
ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/healthcheck", "healthCheck"),
    ("GET", "/config", "getConfig"),
    ("GET", "/config/storage", "getStorageConfig"),
    ("GET", "/config/version", "getLakeFSVersion"),
    ("GET", "/repositories", "listRepositories"),
    ("POST", "/repositories", "createRepository"),
    ("GET", R, "getRepository"),
    ("DELETE", R, "deleteRepository"),
    ("GET", R + "/metadata", "getRepositoryMetadata"),
    ("POST", R + "/metadata", "setRepositoryMetadata"),
    ("DELETE", R + "/metadata", "deleteRepositoryMetadata"),
    ("GET", R + "/tags", "listTags"),
    ("POST", R + "/tags", "createTag"),
    ("GET", R + "/tags/{tag}", "getTag"),
    ("DELETE", R + "/tags/{tag}", "deleteTag"),
    ("GET", R + "/branches", "listBranches"),
    ("POST", R + "/branches", "createBranch"),
    ("GET", R + "/refs/{ref}/commits", "logCommits"),
    ("POST", R + "/branches/{branch}/commits", "commit"),
    ("GET", R + "/branches/{branch}", "getBranch"),
    ("DELETE", R + "/branches/{branch}", "deleteBranch"),
    ("PUT", R + "/branches/{branch}", "resetBranch"),
    ("POST", R + "/branches/{branch}/revert", "revertBranch"),
    ("POST", R + "/branches/{branch}/cherry-pick", "cherryPick"),
    ("POST", R + "/refs/{sourceRef}/merge/{destinationBranch}", "mergeIntoBranch"),
    ("GET", R + "/refs/{sourceRef}/merge/{destinationBranch}", "findMergeBase"),
    ("GET", R + "/branches/{branch}/diff", "diffBranch"),
    ("GET", R + "/refs/{leftRef}/diff/{rightRef}", "diffRefs"),
    ("GET", R + "/commits/{commitId}", "getCommit"),
    ("GET", R + "/refs/{ref}/objects", "getObject"),
    ("HEAD", R + "/refs/{ref}/objects", "headObject"),
    ("GET", R + "/branches/{branch}/staging/backing", "getPhysicalAddress"),
    ("PUT", R + "/branches/{branch}/staging/backing", "linkPhysicalAddress"),
    ("POST", R + "/branches/{branch}/objects", "uploadObject"),
    ("DELETE", R + "/branches/{branch}/objects", "deleteObject"),
    ("POST", R + "/branches/{branch}/objects/delete", "deleteObjects"),
    ("POST", R + "/branches/{branch}/objects/copy", "copyObject"),
    ("GET", R + "/refs/{ref}/objects/stat", "statObject"),
    ("PUT", R + "/branches/{branch}/objects/stat/user_metadata", "updateObjectUserMetadata"),
    ("GET", R + "/refs/{ref}/objects/ls", "listObjects"),
]
OPERATION_IDS = sorted({op for _, _, op in ROUTES})


def _compile(path: str) -> re.Pattern[str]:
    return re.compile("^/api/v1" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")


_TABLE = [(method, _compile(path), op) for method, path, op in ROUTES]
_CHUNK = 1024 * 1024


def route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """(operationId, path params) for a request path, or None."""
    for verb, pattern, op in _TABLE:
        if verb == method:
            match = pattern.match(path)
            if match:
                return op, {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
    return None


class Handler(LoopbackHandler):
    """One HTTP/1.1 keep-alive connection to the emulator."""

    emulator: LakeFSEmulator

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, reply: Reply, head_only: bool = False) -> None:
        body = reply.body
        if isinstance(body, (dict, list)):
            payload: Any = json.dumps(body).encode()
        elif isinstance(body, str):
            payload = body.encode()
        elif body is None:
            payload = b""
        else:
            payload = body
        self.send_response(reply.status)
        if reply.status != 204:
            self.send_header("Content-Type", reply.content_type)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        if "Content-Length" not in reply.headers:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if head_only:
            return
        view = memoryview(payload)
        for start in range(0, len(view), _CHUNK):
            self.wfile.write(view[start : start + _CHUNK])

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == (self.emulator.access_key_id, self.emulator.secret_access_key)

    def _dispatch(self, method: str) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body() if method in ("POST", "PUT", "DELETE") else b""
        call = Call({}, query, headers, body)
        found = None
        try:
            if parsed.path == PRESIGNED_PATH:
                self._send(self.emulator.serve_presigned(method, call))
                return
            found = route(method, parsed.path)
            if found is None:
                raise ApiError(404, f"no route for {method} {parsed.path}")
            op, call.params = found
            self.emulator.record(method, op, parsed.path)
            if op != "healthCheck" and not self._authorized():
                raise ApiError(401, "error authenticating request")
            fault = self.emulator.take_fault(op)
            if fault == "drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if isinstance(fault, int):
                raise ApiError(fault, f"injected fault: HTTP {fault}")
            delay = self.emulator.latency.get(op)
            if delay:
                time.sleep(delay)
            reply = getattr(self.emulator.api, op)(call)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body)
        if found is not None:
            self.emulator.remember(found[0], reply)
        self._send(reply, head_only=method == "HEAD")
