"""The worker with workspace-free tasks: throughput path, lease keeping, stale attempts, registration."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import pytest

from perago.attempt import assert_current_attempt_snapshot
from perago.conductor import Worker
from perago.conductor.attempt import execution_id_for, to_task_result
from perago.conductor.client import ConductorApi
from perago.conductor.registration import register_task_definitions, task_def_for
from perago.errors import StaleAttemptError
from perago.execution import AttemptEvent
from perago.result import completed_result
from perago.settings import PeragoSettings
from perago.testing.conductor import ConductorEmulator
from tests.conductor import free_tasks
from tests.conductor.free_tasks import double, slow
from tests.conductor.helpers import Gate, http, register_workflow, simple, start, wait_until


def settings_for(emu: ConductorEmulator, tmp_path: Path, **extra: object) -> PeragoSettings:
    return PeragoSettings(conductor_server_url=emu.url, workspace_root=tmp_path / "ws", **extra)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def fresh_gate() -> None:
    free_tasks.GATE = Gate()


def test_burst_mode_completes_many_workflows(conductor_emulator: ConductorEmulator, tmp_path: Path) -> None:
    settings = settings_for(conductor_emulator, tmp_path, concurrency=4)
    register_task_definitions([double], settings)
    register_workflow(
        conductor_emulator,
        "doubler",
        [simple("double", "d", {"params": {"x": "${workflow.input.x}"}})],
        {"y": "${d.output.result.y}"},
    )
    ids = [start(conductor_emulator, "doubler", {"x": i}) for i in range(60)]
    worker = Worker([double], settings)
    assert worker.run_until_idle(idle_s=0.3) == 60
    for i, workflow_id in enumerate(ids):
        workflow = conductor_emulator.get_workflow(workflow_id)
        assert workflow["status"] == "COMPLETED" and workflow["output"] == {"y": 2 * i}
        assert workflow["tasks"][0]["workerId"] == worker.worker_id
    assert worker.metrics.value("perago_attempts_total", task="double", outcome="completed") == 60


def test_bad_params_fail_terminally_with_the_validation_error(
    conductor_emulator: ConductorEmulator, tmp_path: Path
) -> None:
    settings = settings_for(conductor_emulator, tmp_path)
    register_task_definitions([double], settings)
    register_workflow(
        conductor_emulator, "doubler", [simple("double", "d", {"params": {"x": "${workflow.input.x}", "z": 1}})]
    )
    workflow_id = start(conductor_emulator, "doubler", {"x": 1})
    Worker([double], settings).run_until_idle(idle_s=0.3)
    task = conductor_emulator.get_workflow(workflow_id)["tasks"][0]
    assert task["status"] == "FAILED_WITH_TERMINAL_ERROR"
    reason = task["reasonForIncompletion"]
    assert reason.startswith("ValidationError: 1 validation error(s) for Numbers: z: Extra inputs are not permitted")
    assert "in the params of task double: fix the workflow's inputParameters" in reason


def run_slow_workflow(emu: ConductorEmulator, tmp_path: Path, api: ConductorApi | None = None) -> tuple[Worker, str]:
    """The `slow` task started on a worker whose lease keeper only ticks when the test says so."""
    settings = settings_for(emu, tmp_path)
    register_task_definitions([slow], settings)
    register_workflow(emu, "slowflow", [simple("slow", "s", {"params": {"x": "${workflow.input.x}"}})])
    workflow_id = start(emu, "slowflow", {"x": 7})
    worker = Worker([slow], settings, api=api, clock=emu.clock.now, lease_tick_s=3600)  # type: ignore[attr-defined]
    worker.start()
    assert free_tasks.GATE.started.wait(10)
    return worker, workflow_id


def tick_then_finish(emu: ConductorEmulator, worker: Worker, workflow_id: str, ticks: int) -> list[dict[str, Any]]:
    """Advance the clock 6 s and run the lease keeper, ``ticks`` times; then let `slow` finish; the tasks."""
    for _ in range(ticks):
        emu.clock.advance(6)  # type: ignore[attr-defined]
        worker.lease.tick()
    free_tasks.GATE.opened.set()
    wait_until(lambda: emu.get_workflow(workflow_id)["status"] == "COMPLETED", what="workflow completion")
    worker.stop(drain_timeout_s=5)
    tasks: list[dict[str, Any]] = emu.get_workflow(workflow_id)["tasks"]
    return tasks


def test_lease_keeping_outlives_the_response_timeout(
    conductor_emulator_manual: ConductorEmulator, tmp_path: Path
) -> None:
    emu = conductor_emulator_manual
    worker, workflow_id = run_slow_workflow(emu, tmp_path)
    tasks = tick_then_finish(emu, worker, workflow_id, ticks=6)  # 36 s of running with a 10 s response timeout
    assert [t["status"] for t in tasks] == ["COMPLETED"]  # never rescheduled


def test_timed_out_attempt_is_fenced_and_the_retry_completes(
    conductor_emulator_manual: ConductorEmulator, tmp_path: Path
) -> None:
    emu = conductor_emulator_manual
    worker, workflow_id = run_slow_workflow(emu, tmp_path)
    emu.clock.advance(11)  # type: ignore[attr-defined]  # response timeout: TIMED_OUT, retry scheduled
    worker.lease.tick()  # the keeper finds the task TIMED_OUT and cancels the attempt
    free_tasks.GATE.opened.set()
    wait_until(lambda: emu.get_workflow(workflow_id)["status"] == "COMPLETED", what="workflow completion")
    worker.stop(drain_timeout_s=5)
    tasks = emu.get_workflow(workflow_id)["tasks"]
    assert [t["status"] for t in tasks] == ["TIMED_OUT", "COMPLETED"]
    assert tasks[1]["retriedTaskId"] == tasks[0]["taskId"] and tasks[1]["retryCount"] == 1
    assert worker.metrics.value("perago_stale_attempts_fenced_total", task="slow") == 1


def test_terminated_workflow_cancels_the_attempt(conductor_emulator_manual: ConductorEmulator, tmp_path: Path) -> None:
    emu = conductor_emulator_manual
    worker, workflow_id = run_slow_workflow(emu, tmp_path)
    http("DELETE", f"{emu.url}/workflow/{workflow_id}?reason=test")
    emu.clock.advance(6)  # type: ignore[attr-defined]
    worker.lease.tick()
    free_tasks.GATE.opened.set()
    worker.stop(drain_timeout_s=5)
    workflow = emu.get_workflow(workflow_id)
    assert workflow["status"] == "TERMINATED" and workflow["tasks"][0]["status"] == "CANCELED"
    assert worker.metrics.value("perago_stale_attempts_fenced_total", task="slow") == 1


def test_short_drain_hands_the_attempt_back_without_spending_a_retry(
    conductor_emulator: ConductorEmulator, tmp_path: Path
) -> None:
    """WorkflowExecutorOps.updateTask: a worker task's IN_PROGRESS result goes back to SCHEDULED, same task id."""
    worker, workflow_id = run_slow_workflow(conductor_emulator, tmp_path)
    stopper = threading.Thread(target=worker.stop, kwargs={"drain_timeout_s": 0.2, "cleanup_grace_s": 5})
    stopper.start()

    def first() -> dict[str, Any]:
        return conductor_emulator.get_workflow(workflow_id)["tasks"][0]

    wait_until(lambda: first()["status"] == "SCHEDULED", what="the hand-back")
    free_tasks.GATE.opened.set()  # the old attempt runs on until it notices its cancel flag, and reports nothing
    stopper.join(10)
    assert not stopper.is_alive()
    assert first()["status"] == "SCHEDULED" and first()["retryCount"] == 0
    assert worker.metrics.value("perago_attempts_total", task="slow", outcome="abandoned") == 1
    Worker([slow], settings_for(conductor_emulator, tmp_path)).run_until_idle(idle_s=0.3)
    tasks = conductor_emulator.get_workflow(workflow_id)["tasks"]
    assert [(t["status"], t["pollCount"], t["retryCount"]) for t in tasks] == [("COMPLETED", 2, 0)]


def test_a_handed_back_attempt_is_fenced_before_and_after_redelivery(
    conductor_emulator: ConductorEmulator, tmp_path: Path
) -> None:
    """After the hand-back the task is SCHEDULED (WorkflowExecutorOps.updateTask); after re-delivery its pollCount
    has moved on (ExecutionService.poll): either way the old attempt's fence refuses to publish."""
    settings = settings_for(conductor_emulator, tmp_path)
    register_task_definitions([double], settings)
    register_workflow(conductor_emulator, "doubler", [simple("double", "d", {"params": {"x": 1}})])
    start(conductor_emulator, "doubler", {})
    api = ConductorApi(settings)
    (old,) = api.batch_poll("double", "old-worker", 1, 100, None)
    api.release(old, "old-worker")
    with pytest.raises(StaleAttemptError, match="status: expected 'IN_PROGRESS', found 'SCHEDULED'"):
        assert_current_attempt_snapshot(old, api.get_task(old.task_id))
    (new,) = api.batch_poll("double", "new-worker", 1, 100, None)
    assert new.task_id == old.task_id and new.poll_count == old.poll_count + 1
    with pytest.raises(StaleAttemptError, match="poll_count: expected 1, found 2"):
        assert_current_attempt_snapshot(old, api.get_task(old.task_id))


def test_registration_carries_timeouts_retries_and_schemas(
    conductor_emulator: ConductorEmulator, tmp_path: Path
) -> None:
    definition = task_def_for(slow)
    assert (
        definition.response_timeout_seconds == 10
        and definition.retry_count == 2
        and definition.retry_delay_seconds == 0
    )
    assert definition.input_keys == ["params"] and definition.output_keys == ["result"]
    assert definition.input_schema.data["properties"]["params"]["$ref"].endswith("Numbers")
    register_task_definitions([slow], settings_for(conductor_emulator, tmp_path))
    stored = http("GET", f"{conductor_emulator.url}/metadata/taskdefs/slow")
    assert stored["responseTimeoutSeconds"] == 10 and stored["retryCount"] == 2 and stored["inputKeys"] == ["params"]


def test_task_result_and_execution_id() -> None:
    from conductor.client.http.models.task import Task

    task = Task(task_id="abc/def", workflow_instance_id="wf", poll_count=3)
    assert execution_id_for(task) == "abc_def-p3"
    # the scheduled time tells a rerun's deliveries (same task id, poll count from 1 again) from the earlier ones
    rerun = Task(task_id="abc/def", workflow_instance_id="wf", poll_count=1, scheduled_time=1_700_000_000_123)
    assert execution_id_for(rerun) == "abc_def-s1700000000123-p1"
    result = to_task_result(task, "w-1", completed_result({"result": {}}, ["line"]))
    assert result.status == "COMPLETED" and result.worker_id == "w-1" and result.logs[0].log == "line"
    assert result.logs[0].created_time > 0


def test_task_log_entries_carry_the_time_of_their_event() -> None:
    """Conductor drops TaskExecLog entries without createdTime: each carries its attempt event's time (ms)."""
    from conductor.client.http.models.task import Task

    events = (
        AttemptEvent("received", "poll 1, retry 0", at=1_700_000_000.25),
        AttemptEvent("failed", "boom", at=1_700_000_001.5, fields={"traceback": "Traceback ..."}),
    )
    runtime_result = dataclasses.replace(completed_result({"result": {}}), events=events)
    result = to_task_result(Task(task_id="t1", workflow_instance_id="wf"), "w-1", runtime_result)
    wire = ConductorApi(PeragoSettings()).to_json(result)
    assert wire["logs"] == [
        {"log": "received: poll 1, retry 0", "taskId": "t1", "createdTime": 1_700_000_000_250},
        {"log": "failed: boom", "taskId": "t1", "createdTime": 1_700_000_001_500},
        {"log": "Traceback ...", "taskId": "t1", "createdTime": 1_700_000_001_500},
    ]


def test_metrics_endpoint_serves_healthz_and_metrics() -> None:
    import urllib.error
    import urllib.request

    from perago.conductor.metrics import WorkerMetrics, serve_metrics

    metrics = WorkerMetrics()
    metrics.attempts.labels(task="double", outcome="completed").inc(3)
    server = serve_metrics(metrics, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            assert response.status == 200 and response.read() == b"ok\n"
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
            assert 'perago_attempts_total{outcome="completed",task="double"} 3.0' in response.read().decode()
        try:
            urllib.request.urlopen(f"{base}/other", timeout=5)
            raise AssertionError("expected 404")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_register_command(conductor_emulator: ConductorEmulator) -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    cmd = [
        sys.executable,
        "-m",
        "perago",
        "register",
        "tests.conductor.free_tasks",
        "--conductor-url",
        conductor_emulator.url,
    ]
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "registered 3 task definition(s)" in result.stdout and "divide, double, slow" in result.stdout
    assert http("GET", f"{conductor_emulator.url}/metadata/taskdefs/double")["name"] == "double"
    bad = subprocess.run([*cmd[:4], "nope.nothing"], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "perago register: error: cannot import 'nope.nothing'" in bad.stderr
