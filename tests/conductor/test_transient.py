"""A single 502 on any Conductor call an attempt makes is absorbed (issue 12, acceptance 3), and a result that
cannot be reported is logged as LOST together with what the attempt did.

Faults are injected per route by the emulator; the worker's retry waits go to an injected sleep (no real sleeps).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loguru import logger

from perago.conductor import Worker
from perago.conductor.client import ConductorApi
from perago.conductor.registration import register_task_definitions
from perago.eventlog import parse_log
from perago.settings import PeragoSettings
from perago.testing.conductor import ConductorEmulator
from perago.testing.lakefs import LakeFSEmulator
from tests.conductor import free_tasks
from tests.conductor.free_tasks import double
from tests.conductor.helpers import Gate, register_workflow, simple, start
from tests.conductor.test_client import FakeTime
from tests.conductor.test_pipeline import WORKSPACE, merges, seed, settings_for
from tests.conductor.test_worker import run_slow_workflow, tick_then_finish
from tests.conductor.ws_tasks import PIPELINE, build


def build_workflow(conductor: ConductorEmulator, lakefs: LakeFSEmulator, settings: PeragoSettings) -> str:
    seed(lakefs)
    register_task_definitions([build], settings)
    register_workflow(conductor, "build_only", [PIPELINE[1]])
    return start(conductor, "build_only", {"workspace": WORKSPACE})


def test_a_502_on_the_fence_read_is_absorbed(
    conductor_emulator: ConductorEmulator, lakefs_emulator: LakeFSEmulator, tmp_path: Path
) -> None:
    """The fence's GET /tasks/{id} (TaskResource.getTask) fails once with 502: the done work still publishes."""
    settings = settings_for(conductor_emulator, lakefs_emulator, tmp_path)
    workflow_id = build_workflow(conductor_emulator, lakefs_emulator, settings)
    time = FakeTime()
    api = ConductorApi(settings, sleep=time.sleep, clock=time.clock)
    conductor_emulator.inject_fault("get_task", 502, times=1)
    Worker([build], settings, api=api, lease_tick_s=3600).run_until_idle(idle_s=0.3)
    tasks = conductor_emulator.get_workflow(workflow_id)["tasks"]
    assert [(t["status"], t["pollCount"], t["retryCount"]) for t in tasks] == [("COMPLETED", 1, 0)]
    assert len(merges(lakefs_emulator)) == 1 and len(time.sleeps) == 1
    assert conductor_emulator.request_count("get_task") == 3  # the 502, then the fences before staging and merging


def test_a_502_on_the_lease_extension_is_absorbed(conductor_emulator_manual: ConductorEmulator, tmp_path: Path) -> None:
    """extendLease (POST /tasks, WorkflowExecutorOps.extendLease) fails once with 502: the extension is retried at
    once, so the response timeout (10 s from the last updateTime) never fires."""
    emu = conductor_emulator_manual
    free_tasks.GATE = Gate()
    time = FakeTime()
    api = ConductorApi(PeragoSettings(conductor_server_url=emu.url), sleep=time.sleep, clock=time.clock)
    worker, workflow_id = run_slow_workflow(emu, tmp_path, api)
    emu.inject_fault("update", 502, times=1)
    tasks = tick_then_finish(emu, worker, workflow_id, ticks=2)  # extended at 6 s and 12 s; 10 s response timeout
    assert [(t["status"], t["pollCount"]) for t in tasks] == [("COMPLETED", 1)]  # never timed out, never retried
    assert len(time.sleeps) == 1 and emu.request_count("update") == 3


def test_a_502_on_the_final_update_is_absorbed(conductor_emulator: ConductorEmulator, tmp_path: Path) -> None:
    """update-v2 (TaskResource.updateTaskV2) fails once with 502: the result is sent again and lands."""
    settings = PeragoSettings(conductor_server_url=conductor_emulator.url, workspace_root=tmp_path / "ws")  # type: ignore[call-arg]
    register_task_definitions([double], settings)
    register_workflow(
        conductor_emulator, "doubler", [simple("double", "d", {"params": {"x": 4}})], {"y": "${d.output.result.y}"}
    )
    workflow_id = start(conductor_emulator, "doubler", {})
    time = FakeTime()
    conductor_emulator.inject_fault("update_v2", 502, times=1)
    api = ConductorApi(settings, sleep=time.sleep, clock=time.clock)
    assert Worker([double], settings, api=api).run_until_idle(idle_s=0.3) == 1
    workflow = conductor_emulator.get_workflow(workflow_id)
    assert workflow["status"] == "COMPLETED" and workflow["output"] == {"y": 8}
    assert [t["pollCount"] for t in workflow["tasks"]] == [1]
    assert len(time.sleeps) == 1 and conductor_emulator.request_count("update_v2") == 2


def test_a_lost_result_is_logged_with_the_attempts_events(
    conductor_emulator: ConductorEmulator, lakefs_emulator: LakeFSEmulator, tmp_path: Path
) -> None:
    """A result Conductor refuses (400, not retryable) is LOST: the worker's log keeps the task log lines that never
    reached Conductor, including the merge commit the attempt published."""
    settings = settings_for(conductor_emulator, lakefs_emulator, tmp_path)
    workflow_id = build_workflow(conductor_emulator, lakefs_emulator, settings)
    conductor_emulator.inject_fault("update_v2", 400, times=1)
    errors: list[Any] = []
    logger.enable("perago")
    sink = logger.add(lambda m: errors.append(m.record["message"]), level="ERROR")
    try:
        Worker([build], settings, lease_tick_s=3600).run_until_idle(idle_s=0.3)
    finally:
        logger.remove(sink)
        logger.disable("perago")
    task = conductor_emulator.get_workflow(workflow_id)["tasks"][0]
    (merge,) = merges(lakefs_emulator)
    (lost,) = [e for e in errors if "LOST" in e]
    assert lost.startswith(f"result COMPLETED of task {task['taskId']} LOST: Conductor could not update task")
    assert "HTTP 400" in lost and "injected fault on route update_v2" in lost
    events, others = parse_log(line.removeprefix("  ") for line in lost.split("\n")[1:])
    assert others == []
    assert (events[0].phase, events[0].detail) == ("received", "poll 1, retry 0")
    assert ("published", f"merge commit {merge['id']} on main") in [(e.phase, e.detail) for e in events]
    assert lakefs_emulator.secret_access_key not in lost
