"""The worker's start-up checks: settings Conductor would refuse, missing task definitions, drift.

Server behaviours: ``MetadataMapperService.populateWorkflowTaskWithDefinition`` (an unregistered task type runs on
an ad-hoc ``new TaskDef(name)``: 3600 s response timeout, 3 retries, 60 s apart), ``MetadataServiceImpl``
(``GET /metadata/taskdefs/{name}`` 404, ``PUT`` updates), ``TaskDef`` and ``TaskTimeoutConstraint`` (what a
definition may hold), ``ExecutionService.poll`` (long-poll timeout at most 5000 ms).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from perago import task
from perago.conductor import Worker
from perago.conductor.client import ConductorApi
from perago.conductor.registration import register_task_definitions
from perago.conductor.startup import sync_task_definitions
from perago.errors import ConfigurationError, TaskDefinitionError
from perago.settings import PeragoSettings
from perago.testing.conductor import ConductorEmulator
from tests.conductor.free_tasks import double, slow
from tests.conductor.helpers import http, sigterm_when
from tests.conductor.test_worker import settings_for


def warnings_during(fn: Any) -> list[str]:
    lines: list[str] = []
    logger.enable("perago")
    sink = logger.add(lambda m: lines.append(m.record["message"]), level="WARNING")
    try:
        fn()
    finally:
        logger.remove(sink)
        logger.disable("perago")
    return lines


def test_missing_definitions_are_created_from_the_task_settings(
    conductor_emulator: ConductorEmulator, tmp_path: Path
) -> None:
    """Without this, MetadataMapperService would run `slow` on the ad-hoc defaults (3600 s, 3 retries, 60 s)."""
    api = ConductorApi(settings_for(conductor_emulator, tmp_path))
    assert api.get_task_def("slow") is None
    report = sync_task_definitions([double, slow], api)
    assert report == ["created task definition(s) double, slow from their @task settings"]
    stored = http("GET", f"{conductor_emulator.url}/metadata/taskdefs/slow")
    assert (stored["responseTimeoutSeconds"], stored["retryCount"], stored["retryDelaySeconds"]) == (10, 2, 0)
    assert sync_task_definitions([double, slow], api) == []  # nothing to do the second time


def test_drift_is_warned_field_by_field_and_register_updates_it(
    conductor_emulator: ConductorEmulator, tmp_path: Path
) -> None:
    """A definition someone else registered with the server's defaults: warned about, then fixed with --register."""
    api = ConductorApi(settings_for(conductor_emulator, tmp_path))
    register_task_definitions([slow], settings_for(conductor_emulator, tmp_path))
    edited = http("GET", f"{conductor_emulator.url}/metadata/taskdefs/slow")
    edited |= {"responseTimeoutSeconds": 3600, "retryCount": 3, "retryDelaySeconds": 60}
    http("PUT", f"{conductor_emulator.url}/metadata/taskdefs", edited)

    warned = warnings_during(lambda: sync_task_definitions([slow], api))
    assert warned == [
        "task definition slow on Conductor differs from its @task settings: "
        "responseTimeoutSeconds: 3600 on the server, 10 in @task; retryCount: 3 on the server, 2 in @task; "
        "retryDelaySeconds: 60 on the server, 0 in @task; "
        "Conductor runs it with the server's values (start the worker with --register to update it)"
    ]
    assert http("GET", f"{conductor_emulator.url}/metadata/taskdefs/slow")["responseTimeoutSeconds"] == 3600

    report = sync_task_definitions([slow], api, update=True)
    assert report == [
        "updated task definition slow: responseTimeoutSeconds: 3600 on the server, 10 in @task; "
        "retryCount: 3 on the server, 2 in @task; retryDelaySeconds: 60 on the server, 0 in @task"
    ]
    stored = http("GET", f"{conductor_emulator.url}/metadata/taskdefs/slow")
    assert (stored["responseTimeoutSeconds"], stored["retryCount"], stored["retryDelaySeconds"]) == (10, 2, 0)
    assert warnings_during(lambda: sync_task_definitions([slow], api)) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"response_timeout_s": 0}, r"response_timeout_s=0, but Conductor requires at least 1 second"),
        (
            {"response_timeout_s": 120, "timeout_s": 60},
            r"response_timeout_s=120 is above timeout_s=60, which Conductor refuses \(TaskTimeoutConstraint\)",
        ),
        ({"retry_count": -1}, r"retry_count=-1 and timeout_s=0 must not be negative"),
    ],
)
def test_settings_conductor_would_refuse_are_refused_when_the_task_is_defined(
    changes: dict[str, int], expected: str
) -> None:
    """TaskDef: responseTimeoutSeconds @Min(1), retryCount @Min(0); TaskTimeoutConstraint: response <= total —
    refused when the definition is made (``@task`` at import time), before any call to the server."""
    with pytest.raises(TaskDefinitionError, match=r"^task double \(tests.conductor.free_tasks\): " + expected):
        dataclasses.replace(double, **changes)
    with pytest.raises(TaskDefinitionError, match=expected):
        task(**changes)(double.fn)  # type: ignore[call-overload]
    dataclasses.replace(double, response_timeout_s=60, timeout_s=60)  # equal is allowed


def test_a_poll_timeout_above_the_servers_limit_is_refused() -> None:
    """ExecutionService.poll: "Long Poll Timeout value cannot be more than 5 seconds" (HTTP 400)."""
    Worker([double], PeragoSettings(poll_timeout_ms=5000))
    with pytest.raises(ConfigurationError, match="PERAGO_POLL_TIMEOUT_MS is 5001, but Conductor refuses"):
        Worker([double], PeragoSettings(poll_timeout_ms=5001))


def test_the_worker_command_creates_and_checks_definitions_at_start(conductor_emulator: ConductorEmulator) -> None:
    """`python -m perago.worker` with `slow` registered on the server's defaults and `double`, `divide` missing."""
    register_task_definitions([slow], PeragoSettings(conductor_server_url=conductor_emulator.url))
    edited = http("GET", f"{conductor_emulator.url}/metadata/taskdefs/slow") | {"responseTimeoutSeconds": 3600}
    http("PUT", f"{conductor_emulator.url}/metadata/taskdefs", edited)
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "perago.worker", "tests.conductor.free_tasks"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), "CONDUCTOR_SERVER_URL": conductor_emulator.url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = sigterm_when(process, lambda: conductor_emulator.request_count("batch_poll") > 1, "polling")
    assert process.returncode == 0, err
    assert "task slow v1 (workspace-free)" in out
    assert "created task definition(s) divide, double from their @task settings" in err
    assert "task definition slow on Conductor differs from its @task settings: " in err
    assert "responseTimeoutSeconds: 3600 on the server, 10 in @task;" in err
    assert http("GET", f"{conductor_emulator.url}/metadata/taskdefs/double")["retryCount"] == 0
    assert http("GET", f"{conductor_emulator.url}/metadata/taskdefs/slow")["responseTimeoutSeconds"] == 3600
