"""``python -m perago.worker``: graceful shutdown on SIGTERM mid-attempt (long drain; short drain hands it back)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from perago.conductor.registration import register_task_definitions
from perago.testing.conductor import ConductorEmulator
from perago.testing.lakefs import LakeFSEmulator
from tests.conductor.helpers import register_workflow, sigterm_when, simple, start, wait_until
from tests.conductor.shutdown_tasks import linger
from tests.conductor.test_pipeline import WORKSPACE, merges, seed, settings_for, staging_branches

ROOT = Path(__file__).resolve().parents[2]


def worker_process(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "perago.worker", "tests.conductor.shutdown_tasks", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def env_for(conductor: ConductorEmulator, lakefs: LakeFSEmulator, tmp_path: Path, started: Path) -> dict[str, str]:
    return {
        "CONDUCTOR_SERVER_URL": conductor.url,
        "LAKECTL_SERVER_ENDPOINT_URL": lakefs.endpoint,
        "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": lakefs.access_key_id,
        "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": lakefs.secret_access_key,
        "PERAGO_WORKSPACE_ROOT": str(tmp_path / "attempts"),
        "PERAGO_TEST_STARTED": str(started),
    }


@pytest.mark.parametrize("drain", ["long", "short"])
def test_sigterm_mid_attempt(
    conductor_emulator: ConductorEmulator, lakefs_emulator: LakeFSEmulator, tmp_path: Path, drain: str
) -> None:
    seed(lakefs_emulator)
    register_task_definitions([linger], settings_for(conductor_emulator, lakefs_emulator, tmp_path))
    register_workflow(
        conductor_emulator,
        "linger_flow",
        [simple("linger", "linger", {"workspace": "${workflow.input.workspace}", "params": {"seconds": 1.5}})],
    )
    workflow_id = start(conductor_emulator, "linger_flow", {"workspace": WORKSPACE})
    started = tmp_path / "started"
    env = env_for(conductor_emulator, lakefs_emulator, tmp_path, started)
    first = worker_process(env, "--drain-timeout", "30" if drain == "long" else "0.2")
    out, err = sigterm_when(first, started.exists, "the attempt to start")
    assert first.returncode == 0, err
    assert "SIGTERM received, draining" in err
    assert f"conductor: {conductor_emulator.url}" in out and "task linger v" in out and "(writable)" in out
    assert lakefs_emulator.secret_access_key not in out + err
    tasks = conductor_emulator.get_workflow(workflow_id)["tasks"]
    if drain == "long":
        assert [t["status"] for t in tasks] == ["COMPLETED"]
    else:
        # handed back, not failed (WorkflowExecutorOps.updateTask: IN_PROGRESS -> SCHEDULED, same task id)
        assert [(t["status"], t["retryCount"]) for t in tasks] == [("SCHEDULED", 0)]
        assert "handing back task" in err
        started.unlink()
        second = worker_process(env)
        sigterm_when(
            second, lambda: conductor_emulator.get_workflow(workflow_id)["status"] == "COMPLETED", "re-delivery"
        )
        redelivered = conductor_emulator.get_workflow(workflow_id)["tasks"]
        assert [(t["taskId"], t["pollCount"]) for t in redelivered] == [(tasks[0]["taskId"], 2)]  # no retry spent
    assert conductor_emulator.get_workflow(workflow_id)["status"] == "COMPLETED"
    assert len(merges(lakefs_emulator)) == 1
    assert staging_branches(lakefs_emulator) == []
    assert not any((tmp_path / "attempts").iterdir())


def test_second_signal_exits_at_once(
    conductor_emulator: ConductorEmulator, lakefs_emulator: LakeFSEmulator, tmp_path: Path
) -> None:
    seed(lakefs_emulator)
    register_task_definitions([linger], settings_for(conductor_emulator, lakefs_emulator, tmp_path))
    register_workflow(
        conductor_emulator,
        "linger_flow",
        [simple("linger", "linger", {"workspace": "${workflow.input.workspace}", "params": {"seconds": 60}})],
    )
    start(conductor_emulator, "linger_flow", {"workspace": WORKSPACE})
    started = tmp_path / "started"
    worker = worker_process(env_for(conductor_emulator, lakefs_emulator, tmp_path, started), "--drain-timeout", "60")
    try:
        wait_until(started.exists, timeout_s=30, what="the attempt to start")
        worker.send_signal(signal.SIGTERM)
        wait_until(lambda: worker.stderr is not None and "draining" in worker.stderr.readline(), what="draining")
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=30)  # far less than the 60 s drain (a loaded machine can take seconds)
    finally:
        worker.kill()
    assert worker.returncode == 130


def test_first_signal_says_a_second_one_exits_at_once(capsys, monkeypatch) -> None:
    from perago.worker import signal_handler

    stops: list[bool] = []
    exits: list[int] = []

    def exit_now(code: int) -> None:
        exits.append(code)
        raise SystemExit(code)

    monkeypatch.setattr("perago.worker.os._exit", exit_now)
    handler = signal_handler(lambda: stops.append(True), drain_timeout_s=30)

    handler(signal.SIGINT, None)
    assert capsys.readouterr().err == (
        "perago worker: SIGINT received, draining: running attempts may finish for up to 30s; "
        "press Ctrl-C again (or send another SIGTERM) to exit at once\n"
    )
    assert stops == [True] and exits == []

    with pytest.raises(SystemExit):
        handler(signal.SIGINT, None)
    assert exits == [130] and stops == [True]
