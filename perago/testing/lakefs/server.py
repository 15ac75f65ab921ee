"""HTTP plumbing of the lakeFS emulator: routing by swagger path, Basic auth, faults, streaming replies.

Routes lakeFS has but the emulator does not serve answer 501 naming the request (docs/lakefs-emulator.md lists
what is emulated).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from perago.testing.httpbase import LoopbackHandler, TruncatedRequest
from perago.testing.lakefs.calls import ApiError, Call, Reply
from perago.testing.lakefs.faults import MESSAGES, Decision
from perago.testing.lakefs.presign import PRESIGNED_PATH

if TYPE_CHECKING:
    from perago.testing.lakefs.emulator import LakeFSEmulator

R = "/repositories/{repository}"
B = R + "/branches/{branch}"
ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/healthcheck", "healthCheck"),
    ("GET", "/config", "getConfig"),
    ("GET", "/config/storage", "getStorageConfig"),
    ("GET", "/config/version", "getLakeFSVersion"),
    ("GET", "/user", "getCurrentUser"),
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
    ("POST", B + "/commits", "commit"),
    ("GET", B, "getBranch"),
    ("DELETE", B, "deleteBranch"),
    ("PUT", B, "resetBranch"),
    ("POST", B + "/revert", "revertBranch"),
    ("POST", B + "/cherry-pick", "cherryPick"),
    ("POST", R + "/refs/{sourceRef}/merge/{destinationBranch}", "mergeIntoBranch"),
    ("GET", R + "/refs/{sourceRef}/merge/{destinationBranch}", "findMergeBase"),
    ("GET", B + "/diff", "diffBranch"),
    ("GET", R + "/refs/{leftRef}/diff/{rightRef}", "diffRefs"),
    ("GET", R + "/commits/{commitId}", "getCommit"),
    ("GET", R + "/refs/{ref}/objects", "getObject"),
    ("HEAD", R + "/refs/{ref}/objects", "headObject"),
    ("GET", B + "/staging/backing", "getPhysicalAddress"),
    ("PUT", B + "/staging/backing", "linkPhysicalAddress"),
    ("POST", B + "/staging/pmpu", "createPresignMultipartUpload"),
    ("PUT", B + "/staging/pmpu/{uploadId}", "completePresignMultipartUpload"),
    ("DELETE", B + "/staging/pmpu/{uploadId}", "abortPresignMultipartUpload"),
    ("PUT", B + "/staging/pmpu/{uploadId}/parts/{partNumber}", "uploadPart"),
    ("POST", B + "/objects", "uploadObject"),
    ("DELETE", B + "/objects", "deleteObject"),
    ("POST", B + "/objects/delete", "deleteObjects"),
    ("POST", B + "/objects/copy", "copyObject"),
    ("GET", R + "/refs/{ref}/objects/stat", "statObject"),
    ("PUT", B + "/objects/stat/user_metadata", "updateObjectUserMetadata"),
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

    def _send(self, reply: Reply, head_only: bool = False) -> None:
        body = reply.body
        if isinstance(body, (dict, list)):
            payload: Any = json.dumps(body).encode() + b"\n"  # Go's json.Encoder ends with a newline
        elif isinstance(body, str):
            payload = body.encode()
        elif body is None:
            payload = b""
        else:
            payload = body
        self.send_response(reply.status)
        if reply.status not in (204, 304) and (payload or reply.content_type != "application/json"):
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

    def _call(self, method: str, parsed: urllib.parse.SplitResult) -> Call:
        pairs = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
        lists: dict[str, list[str]] = {}
        for key, value in pairs:
            lists.setdefault(key, []).append(value)
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self.read_body() if method in ("POST", "PUT", "DELETE") else b""
        return Call({}, {k: v[0] for k, v in lists.items()}, headers, body, lists)

    def _drop(self) -> None:
        """Close the connection without an answer (the client sees a reset / remote disconnect)."""
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def _dispatch(self, method: str) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        try:
            call = self._call(method, parsed)
        except TruncatedRequest:  # the client died mid-request: nothing is applied, nobody to answer
            self.close_connection = True
            return
        presigned = parsed.path == PRESIGNED_PATH
        found = None if presigned else route(method, parsed.path)
        op = "presigned" if presigned else (found[0] if found else "unknown")
        decision = self.emulator.faults.decide(op, api=found is not None)
        if decision.latency_s:
            time.sleep(decision.latency_s)  # in this request's thread; sleeping releases the GIL
        if decision.drop:
            self._drop()
            return
        reply = self._answer(method, parsed.path, call, found, decision)
        if decision.lose:
            self._drop()
            return
        self._send(reply, head_only=method == "HEAD")

    def _answer(
        self,
        method: str,
        path: str,
        call: Call,
        found: tuple[str, dict[str, str]] | None,
        decision: Decision,
    ) -> Reply:
        try:
            if found is None and path == PRESIGNED_PATH:
                self.emulator.record(method, "presigned")
                if decision.status is not None:  # the object store's own refusal (an expired URL is a 403)
                    raise ApiError(decision.status, MESSAGES.get(decision.status, "Forbidden"))
                return self.emulator.api.serve_presigned(method, call)
            if found is None:
                raise ApiError(501, f"not emulated: {method} {path} (see docs/lakefs-emulator.md)")
            op, call.params = found
            self.emulator.record(method, op)
            if op != "healthCheck" and not self._authorized():
                raise ApiError(401, "error authenticating request")
            if decision.status is not None:
                raise ApiError(decision.status, MESSAGES.get(decision.status, f"HTTP {decision.status}"))
            reply: Reply = getattr(self.emulator.api, op)(call)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body, dict(exc.headers))
        if found is not None:
            self.emulator.remember(found[0], reply)
        return reply
