"""Shared helpers for the worker tests: workflow definitions and starting workflows over HTTP."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from perago.testing.conductor import ConductorEmulator


def http(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read().decode()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw


def register_workflow(
    emu: ConductorEmulator, name: str, tasks: list[dict[str, Any]], output: dict[str, Any] | None = None
) -> None:
    definition = {
        "name": name,
        "version": 1,
        "schemaVersion": 2,
        "ownerEmail": "tests@perago.local",
        "tasks": tasks,
        "outputParameters": output or {},
    }
    http("POST", f"{emu.url}/metadata/workflow?overwrite=true", definition)


def simple(name: str, ref: str, inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "taskReferenceName": ref, "type": "SIMPLE", "inputParameters": inputs, **extra}


def start(emu: ConductorEmulator, name: str, workflow_input: dict[str, Any]) -> str:
    result: str = http("POST", f"{emu.url}/workflow/{name}", workflow_input)
    return result.strip('"')


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def sigterm_when(process: subprocess.Popen[str], ready: Callable[[], bool], what: str) -> tuple[str, str]:
    """Wait (up to 30 s) until ``ready()``, SIGTERM the worker process, and return its stdout and stderr."""
    try:
        wait_until(ready, timeout_s=30, what=what)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    return out, err


class Gate:
    """Lets a task body block until the test opens it; records that the body started."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.opened = threading.Event()

    def wait(self) -> None:
        self.started.set()
        if not self.opened.wait(20):
            raise AssertionError("gate never opened")


def task_log_events(conductor_url: str, task_id: str) -> list[str]:
    """A task's perago events as ``"<phase>: <detail>"`` lines, read back from its Conductor task log."""
    from perago.eventlog import parse_log

    entries = [entry["log"] for entry in http("GET", f"{conductor_url}/tasks/{task_id}/log") or []]
    events, _ = parse_log(entries)
    return [f"{event.phase}: {event.detail}" if event.detail else event.phase for event in events]
