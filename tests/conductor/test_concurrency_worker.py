"""Issue 14, acceptance 3 (through the worker): ``@task(concurrency_key=...)`` across threads and processes.

Recorded body intervals never overlap for one key, different keys run in parallel, a blocked attempt is handed
back (IN_PROGRESS, same task id, pollCount + 1) and spends no retry, and a key whose holder died frees itself once
the holder's lease has run out (the worker's lock clock is injected).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from perago.conductor import Worker
from perago.conductor.registration import register_task_definitions
from perago.lakefs.client import LakeFSConnection
from perago.lakefs.locks import LakeFSLocks, Lease
from perago.settings import PeragoSettings
from perago.task import TaskDefinition
from perago.testing.conductor import ConductorEmulator
from perago.testing.lakefs import LakeFSEmulator
from tests.conductor.helpers import register_workflow, simple, start, task_log_events, wait_until
from tests.conductor.lock_tasks import guarded, on_branch
from tests.conductor.test_pipeline import REPO, WORKSPACE, merges, seed, settings_for
from tests.lakefs.test_locks import cross_overlap, overlaps

ROOT = Path(__file__).resolve().parents[2]


class Bench:
    def __init__(self, conductor: ConductorEmulator, lakefs: LakeFSEmulator, tmp_path: Path) -> None:
        seed(lakefs)
        self.conductor, self.lakefs, self.log = conductor, lakefs, tmp_path / "intervals.jsonl"
        self.settings = settings_for(conductor, lakefs, tmp_path).model_copy(
            update={"lock_repository": REPO, "blocked_callback_s": 0}
        )

    def start(self, definition: TaskDefinition, inputs: list[dict[str, Any]]) -> list[str]:
        register_task_definitions([definition], self.settings)
        step = {"params": "${workflow.input.params}"}
        if definition.workspace is not None:
            step["workspace"] = "${workflow.input.workspace}"
        register_workflow(self.conductor, f"flow_{definition.name}", [simple(definition.name, "step", step)])
        return [start(self.conductor, f"flow_{definition.name}", body) for body in inputs]

    def keyed(self, keys: str) -> list[dict[str, Any]]:
        return [{"params": {"key": key, "log": str(self.log)}} for key in keys]

    def steps(self, workflow_ids: list[str]) -> list[dict[str, Any]]:
        workflows = [self.conductor.get_workflow(w) for w in workflow_ids]
        assert all(w["status"] == "COMPLETED" for w in workflows), [w.get("reasonForIncompletion") for w in workflows]
        assert all(len(w["tasks"]) == 1 for w in workflows), "one task per step: no retry was scheduled"
        return [w["tasks"][0] for w in workflows]

    def intervals(self) -> dict[str, list[tuple[float, float]]]:
        found: dict[str, list[tuple[float, float]]] = {}
        for line in self.log.read_text().splitlines():
            record = json.loads(line)
            found.setdefault(record["key"], []).append((record["start"], record["end"]))
        return found

    def logs(self, task_id: str) -> list[str]:
        return task_log_events(self.conductor.url, task_id)


@pytest.fixture
def bench(conductor_emulator: ConductorEmulator, lakefs_emulator: LakeFSEmulator, tmp_path: Path) -> Bench:
    return Bench(conductor_emulator, lakefs_emulator, tmp_path)


def test_k_threads_run_one_body_per_key_and_blocked_attempts_spend_no_retry(bench: Bench) -> None:
    workflow_ids = bench.start(guarded, [{"params": p["params"] | {"body_s": 0.2}} for p in bench.keyed("AAAABBBB")])
    Worker([guarded], bench.settings.model_copy(update={"concurrency": 4})).run_until_idle(idle_s=0.5)
    steps = bench.steps(workflow_ids)
    assert all(s["retryCount"] == 0 for s in steps), "no retry spent"
    intervals = bench.intervals()
    assert sorted(len(v) for v in intervals.values()) == [4, 4], "every body ran once"
    assert not overlaps(intervals["A"]) and not overlaps(intervals["B"])
    assert cross_overlap(intervals["A"], intervals["B"]), "A and B ran in parallel"
    waited = [s for s in steps if s["pollCount"] > 1]
    assert waited, "some attempts found their key held and were handed back"
    assert any(line.startswith("handed back: concurrency key") for line in bench.logs(waited[0]["taskId"]))


def test_the_target_branch_as_the_key_serializes_writers_of_one_branch(bench: Bench) -> None:
    inputs = [{"workspace": WORKSPACE, "params": {"name": n, "log": str(bench.log)}} for n in ("one", "two", "three")]
    workflow_ids = bench.start(on_branch, inputs)
    Worker([on_branch], bench.settings.model_copy(update={"concurrency": 3})).run_until_idle(idle_s=0.5)
    assert all(s["retryCount"] == 0 for s in bench.steps(workflow_ids))
    assert len(bench.intervals()["branch"]) == 3 and not overlaps(bench.intervals()["branch"])
    assert len(merges(bench.lakefs)) == 3, "each writer merged, one after the other"


def test_a_key_held_by_a_dead_worker_frees_itself_once_its_lease_ran_out(bench: Bench) -> None:
    now = [1_000_000.0]
    dead = LakeFSLocks(LakeFSConnection(bench.settings), clock=lambda: now[0])
    assert guarded.concurrency_key is not None
    key = guarded.concurrency_key.lock_key("guarded", {"key": "A", "log": "other", "body_s": 1.0}, None)
    assert isinstance(dead.acquire(REPO, key, "dead-worker/attempt", 30), Lease)  # then the worker was SIGKILLed
    (workflow_id,) = bench.start(guarded, bench.keyed("A"))
    worker = Worker([guarded], bench.settings)
    worker.gate_services.locks.clock = lambda: now[0]
    worker.start()
    try:
        wait_until(lambda: bench.conductor.get_workflow(workflow_id)["tasks"][0]["pollCount"] >= 3, what="hand-backs")
        assert bench.conductor.get_workflow(workflow_id)["status"] == "RUNNING"
        now[0] += 30.5  # the dead holder's lease runs out
        wait_until(lambda: bench.conductor.get_workflow(workflow_id)["status"] == "COMPLETED", what="the attempt")
    finally:
        worker.stop(drain_timeout_s=5)
    (step,) = bench.steps([workflow_id])
    assert step["retryCount"] == 0 and step["pollCount"] >= 3
    assert "held by dead-worker/attempt" in "\n".join(bench.logs(step["taskId"]))


def test_a_workspace_free_key_needs_a_lock_repository(bench: Bench) -> None:
    (workflow_id,) = bench.start(guarded, bench.keyed("A"))
    Worker([guarded], bench.settings.model_copy(update={"lock_repository": None})).run_until_idle(idle_s=0.3)
    workflow = bench.conductor.get_workflow(workflow_id)
    assert workflow["tasks"][0]["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert "set PERAGO_LOCK_REPOSITORY" in workflow["tasks"][0]["reasonForIncompletion"]


def worker_env(settings: PeragoSettings) -> dict[str, str]:
    assert settings.lakefs_secret_access_key is not None and settings.lakefs_access_key_id is not None
    return os.environ | {
        "PYTHONPATH": str(ROOT),
        "CONDUCTOR_SERVER_URL": settings.conductor_server_url,
        "LAKECTL_SERVER_ENDPOINT_URL": settings.lakefs_endpoint,
        "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": settings.lakefs_access_key_id,
        "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": settings.lakefs_secret_access_key.get_secret_value(),
        "PERAGO_WORKSPACE_ROOT": str(settings.workspace_root),
        "PERAGO_LOCK_REPOSITORY": REPO,
        "PERAGO_BLOCKED_CALLBACK_S": "0",
        "PERAGO_CONCURRENCY": "2",
    }


def test_three_worker_processes_run_one_body_per_key(bench: Bench) -> None:
    workflow_ids = bench.start(guarded, [{"params": p["params"] | {"body_s": 0.2}} for p in bench.keyed("ABABABAB")])
    argv = [sys.executable, "-m", "perago.worker", "tests.conductor.lock_tasks"]
    procs = [
        subprocess.Popen(
            argv, cwd=ROOT, env=worker_env(bench.settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    try:
        wait_until(
            lambda: all(bench.conductor.get_workflow(w)["status"] == "COMPLETED" for w in workflow_ids),
            timeout_s=90,
            what="every workflow",
        )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(30)
            assert proc.stderr is not None
            proc.stderr.close()
    steps = bench.steps(workflow_ids)
    assert all(s["retryCount"] == 0 for s in steps)
    records = [json.loads(line) for line in bench.log.read_text().splitlines()]
    intervals = bench.intervals()
    assert sorted(len(v) for v in intervals.values()) == [4, 4]
    assert not overlaps(intervals["A"]) and not overlaps(intervals["B"])
    assert cross_overlap(intervals["A"], intervals["B"]), "A and B ran in parallel"
    assert len({r["pid"] for r in records}) >= 2, "the bodies ran in several processes"
