"""Issue 15, acceptance 2: a task that raises leaves its traceback — secrets redacted — in the worker's log at DEBUG,
in the failed attempt's Conductor task log, and on the harness's run object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loguru import logger

from perago.conductor import Worker
from perago.conductor.registration import register_task_definitions
from perago.eventlog import parse_log
from perago.settings import PeragoSettings
from perago.testing import TaskEnvironment
from perago.testing.conductor import ConductorEmulator
from tests.conductor.free_tasks import SECRET, divide
from tests.conductor.helpers import http, register_workflow, simple, start


def assert_is_the_traceback(text: str) -> None:
    assert text.startswith("Traceback (most recent call last):"), text
    assert 'free_tasks.py", line' in text and "in divide" in text
    assert text.rstrip().endswith("ZeroDivisionError: division by zero while holding ***")
    assert SECRET not in text


def test_traceback_in_worker_log_task_log_and_harness(conductor_emulator: ConductorEmulator, tmp_path: Path) -> None:
    settings = PeragoSettings(
        conductor_server_url=conductor_emulator.url,
        workspace_root=tmp_path / "ws",
        lakefs_secret_access_key=SECRET,  # a configured secret is redacted wherever it appears
    )
    register_task_definitions([divide], settings)
    register_workflow(conductor_emulator, "divider", [simple("divide", "d", {"params": {"x": "${workflow.input.x}"}})])
    workflow_id = start(conductor_emulator, "divider", {"x": 1})
    records: list[dict[str, Any]] = []
    logger.enable("perago")
    sink = logger.add(lambda m: records.append(m.record), level="DEBUG")
    try:
        Worker([divide], settings).run_until_idle(idle_s=0.3)
    finally:
        logger.remove(sink)
        logger.disable("perago")

    debug = [r["message"] for r in records if r["level"].name == "DEBUG" and "traceback" in r["message"]]
    assert len(debug) == 1
    assert_is_the_traceback(debug[0].split("\n", 1)[1])

    task = conductor_emulator.get_workflow(workflow_id)["tasks"][0]
    assert task["status"] == "FAILED"  # a user exception is retryable; retry_count=0 ends it there
    logs = http("GET", f"{conductor_emulator.url}/tasks/{task['taskId']}/log")
    events, _ = parse_log(entry["log"] for entry in logs)
    [failed] = [event for event in events if event.phase == "failed"]
    assert failed.detail.startswith("ZeroDivisionError"), failed
    assert_is_the_traceback("\n".join(failed.extra))  # the failed event's continuation lines
    assert all(entry["createdTime"] > 0 for entry in logs)

    run = TaskEnvironment(divide, settings=settings).run({"x": 1})
    assert run.status == "FAILED" and isinstance(run.exception, ZeroDivisionError)
    assert run.traceback is not None
    assert_is_the_traceback(run.traceback)
    assert run.logs[-1] == run.traceback
