"""Scenario 6: throughput of workspace-free no-op tasks: perago's Worker vs conductor-python's TaskHandler.

The Conductor emulator runs in its own process, and so does each worker (perago's CLI, TaskHandler's spawned
process), each with the same number of threads. All workflows are started first;
throughput is measured from the server's own task timestamps (first task start to last task end), so neither the
TaskHandler's process spawning nor perago's thread start is counted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bench.common import ROOT, Report, Row, Target, scratch
from perago.task import task

THREADS = 4


class Params(BaseModel):
    x: int = 0


class Out(BaseModel):
    y: int = 0


@task(name="bench_noop", retry_count=0)
def bench_noop(params: Params) -> Out:
    """Does nothing."""
    return Out(y=params.x)


def handler_fn(task: Any) -> dict[str, Any]:
    return {"result": {"y": 0}}


@contextmanager
def conductor_process() -> Iterator[str]:
    args = [sys.executable, "-m", "perago.testing", "conductor", "--port", "0", "--log-level", "ERROR"]
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT) as process:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        try:
            yield url
        finally:
            process.terminate()
            process.wait(10)


def _prepare(url: str, count: int) -> list[str]:
    from perago.conductor.registration import register_task_definitions
    from perago.settings import PeragoSettings
    from tests.conductor.helpers import http, simple

    register_task_definitions([bench_noop], PeragoSettings(conductor_server_url=url))
    flow = {
        "name": "bench_flow",
        "version": 1,
        "schemaVersion": 2,
        "ownerEmail": "bench@perago.local",
        "tasks": [simple("bench_noop", "n", {"params": {"x": "${workflow.input.x}"}})],
    }
    http("POST", f"{url}/metadata/workflow?overwrite=true", flow)
    return [str(http("POST", f"{url}/workflow/bench_flow", {"x": i})).strip('"') for i in range(count)]


def _span(url: str, ids: list[str], timeout_s: float = 120) -> float:
    """Seconds from the first task's start to the last task's end, once every workflow completed."""
    from tests.conductor.helpers import http

    deadline, tasks = time.monotonic() + timeout_s, []
    for workflow_id in ids:
        while (workflow := http("GET", f"{url}/workflow/{workflow_id}?includeTasks=true"))["status"] != "COMPLETED":
            if time.monotonic() > deadline:
                raise RuntimeError(f"workflow {workflow_id} did not complete: {workflow['status']}")
            time.sleep(0.02)
        tasks.append(workflow["tasks"][0])
    return (max(t["endTime"] for t in tasks) - min(t["startTime"] for t in tasks)) / 1000


def _perago(url: str, ids: list[str], root: Path) -> float:
    """perago's worker as deployed: ``python -m perago.worker`` in its own process, like TaskHandler's."""
    args = [
        sys.executable,
        "-m",
        "perago.worker",
        "bench.worker",
        "--conductor-url",
        url,
        "--concurrency",
        str(THREADS),
        "--workspace-root",
        str(root),
        "--log-level",
        "ERROR",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as process:
        try:
            return _span(url, ids)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


def _task_handler(url: str, ids: list[str]) -> float:
    from conductor.client.automator.task_handler import TaskHandler
    from conductor.client.configuration.configuration import Configuration
    from conductor.client.worker.worker import Worker as ConductorWorker

    worker = ConductorWorker("bench_noop", handler_fn, poll_interval=100, thread_count=THREADS)
    handler = TaskHandler(
        workers=[worker], configuration=Configuration(server_api_url=url), scan_for_annotated_workers=False
    )
    handler.start_processes()
    try:
        return _span(url, ids)
    finally:
        handler.stop_processes()


def run(smoke: bool) -> Report:
    count = 50 if smoke else 500
    report = Report("6. Worker throughput")
    results: dict[str, list[float]] = {"perago": [], "handler": []}
    for _ in range(1 if smoke else 3):
        for name in ("perago", "handler"):
            with conductor_process() as url, scratch() as root:
                ids = _prepare(url, count)
                span = _perago(url, ids, root) if name == "perago" else _task_handler(url, ids)
                results[name].append(count / span)
    ours, theirs = (sorted(v)[len(v) // 2] for v in (results["perago"], results["handler"]))
    report.rows.append(
        Row(f"{count} no-op tasks, {THREADS} threads", ours, theirs, "tasks/s", "conductor-python TaskHandler")
    )
    report.targets.append(Target("throughput relative to TaskHandler", ours / theirs, 1.0))
    report.notes.append("emulator in its own process; throughput from the server's task timestamps; median of runs")
    return report
