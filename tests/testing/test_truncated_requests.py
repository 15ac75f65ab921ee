"""Both emulators refuse a request whose body ends before its Content-Length, as a real server does (Go's net/http
body read fails with "unexpected EOF", so lakeFS's and Conductor's handlers never run): a client killed in the
middle of sending a merge must not have it applied with an empty body (the soak found merges without metadata)."""

from __future__ import annotations

import base64
import json
import socket
import urllib.error
import urllib.parse
import urllib.request

import pytest

from perago.testing.conductor import ConductorEmulator
from perago.testing.lakefs import LakeFSEmulator


def send_half(url: str, path: str, body: bytes, headers: dict[str, str]) -> None:
    """Send the headers and half the body, then hang up (as a SIGKILLed client does)."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as conn:
        lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body[: len(body) // 2])
        conn.shutdown(socket.SHUT_WR)
        assert conn.recv(1024) == b"", "no answer: the request was never handled"


def test_lakefs_never_applies_a_truncated_commit() -> None:
    with LakeFSEmulator() as emu:
        repo = emu.create_repository("cut-short", default_branch="main")
        before = repo.branches["main"].head
        repo.branches["main"].staging["a.txt"] = emu.api.store(repo, b"a", {}, "application/octet-stream")
        token = base64.b64encode(f"{emu.access_key_id}:{emu.secret_access_key}".encode()).decode()
        body = json.dumps({"message": "cut short", "metadata": {"perago.task": "x"}}).encode()
        headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        send_half(emu.endpoint, "/api/v1/repositories/cut-short/branches/main/commits", body, headers)
        assert repo.branches["main"].head == before, "nothing was committed"


def test_conductor_never_applies_a_truncated_start() -> None:
    with ConductorEmulator() as emu:
        body = json.dumps({"name": "nothing", "version": 1, "tasks": []}).encode()
        send_half(emu.url, "/api/metadata/workflow", body, {"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{emu.url}/metadata/workflow/nothing", timeout=5)
        assert missing.value.code == 404, "the definition was never registered"
        missing.value.close()
