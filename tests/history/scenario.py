"""The attempt-history scenario on the emulators: a timeout, a retry after a failure, a success.

One workflow step, ``count_plays``: its first try runs in a real worker process that is SIGKILLed mid-attempt (after
its ``downloaded`` event reached Conductor's log); Conductor times it out (responseTimeoutSeconds: the emulator's
manual clock is advanced, or real time passes) and retries it; the second try fails; the third publishes.

``python -m tests.history.scenario`` runs it on real-time emulators and prints what the README shows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perago.conductor import Worker
from perago.conductor.records import ConductorRecords
from perago.conductor.registration import register_task_definitions
from perago.eventlog import parse_log
from perago.settings import PeragoSettings
from perago.testing.conductor import ConductorEmulator
from perago.testing.harness_repo import LakeFSRepository
from perago.testing.lakefs import LakeFSEmulator
from tests.conductor.helpers import register_workflow, simple, start, wait_until
from tests.history.tasks import count_plays

ROOT = Path(__file__).resolve().parents[2]
REPO = "songs"
PLAYS = {
    "raw/plays/song-1.csv": "day,plays\n1,3\n2,4\n",
    "raw/plays/song-2.csv": "day,plays\n1,5\n",
    "raw/plays/song-3.csv": "day,plays\n1,1\n2,1\n3,2\n",
}
WORKSPACE = {"repository": REPO, "branch": "main", "ref_type": "branch", "ref": "main"}


@dataclass(frozen=True)
class Scenario:
    """What the scenario left behind: the workflow, its first (killed) task, the commit the step read and its merge."""

    workflow_id: str
    killed_task_id: str
    input_commit: str
    commit: str
    settings: PeragoSettings


def settings_for(conductor_url: str, lakefs: LakeFSEmulator, root: Path) -> PeragoSettings:
    """Settings for both emulators, attempt directories under ``root``."""
    return PeragoSettings(
        conductor_server_url=conductor_url,
        lakefs_endpoint=lakefs.endpoint,
        lakefs_access_key_id=lakefs.access_key_id,
        lakefs_secret_access_key=lakefs.secret_access_key,
        workspace_root=root / "attempts",
    )


def repository(lakefs: LakeFSEmulator) -> LakeFSRepository:
    """The scenario's repository, created."""
    lakefs.create_repository(REPO, default_branch="main")
    endpoint = lakefs.endpoint.rstrip("/").removesuffix("/api/v1")
    return LakeFSRepository(REPO, endpoint, lakefs.access_key_id, lakefs.secret_access_key)


def lakefs_secret(settings: PeragoSettings) -> str:
    """The lakeFS secret of ``settings``."""
    assert settings.lakefs_secret_access_key is not None
    return settings.lakefs_secret_access_key.get_secret_value()


def kill_mid_attempt(settings: PeragoSettings, task_id: str, root: Path) -> None:
    """Serve the step from a worker process, and SIGKILL it once its ``downloaded`` event reached Conductor."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CONDUCTOR_SERVER_URL": settings.conductor_server_url,
        "LAKECTL_SERVER_ENDPOINT_URL": settings.lakefs_endpoint,
        "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": settings.lakefs_access_key_id or "",
        "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": lakefs_secret(settings),
        "PERAGO_WORKSPACE_ROOT": str(root / "killed"),
    }
    records = ConductorRecords(settings)
    args = [sys.executable, "-m", "perago.worker", "tests.history.tasks", "--log-level", "ERROR"]
    with subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL) as process:
        try:
            phases = lambda: [event.phase for event in parse_log(records.task_logs(task_id))[0]]  # noqa: E731
            wait_until(lambda: "downloaded" in phases(), timeout_s=60, what="the killed attempt's streamed events")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)


def run_scenario(
    conductor: ConductorEmulator, lakefs: LakeFSEmulator, root: Path, expire: Callable[[str], None]
) -> Scenario:
    """Run the scenario; ``expire(task_id)`` returns once Conductor has timed the killed attempt out."""
    settings = settings_for(conductor.url, lakefs, root)
    input_commit = repository(lakefs).put(PLAYS, message="daily plays")
    register_task_definitions([count_plays], settings)
    step = simple("count_plays", "count", {"workspace": WORKSPACE, "params": {"year": 2024}})
    register_workflow(conductor, "plays", [step])
    workflow_id = start(conductor, "plays", {})
    records = ConductorRecords(settings)
    first = _tasks(records, workflow_id)[0]["taskId"]
    kill_mid_attempt(settings, first, root)
    expire(first)
    worker = Worker([count_plays], settings)
    worker.start()
    try:
        workflow = conductor.wait_for_workflow(workflow_id, 60)
    finally:
        worker.stop()
    assert workflow["status"] == "COMPLETED", [(t["status"], t.get("reasonForIncompletion")) for t in workflow["tasks"]]
    commit = workflow["tasks"][-1]["outputData"]["workspace"]["ref"]
    return Scenario(workflow_id, first, input_commit, commit, settings)


def _tasks(records: ConductorRecords, workflow_id: str) -> list[dict[str, Any]]:
    return list((records.workflow(workflow_id) or {}).get("tasks") or [])


def main() -> None:
    """Run the scenario on real-time emulators and print the README's commands with their output."""
    import tempfile

    with ConductorEmulator() as conductor, LakeFSEmulator() as lakefs, tempfile.TemporaryDirectory() as tmp:
        os.environ["PERAGO_CACHE_DIR"] = f"{tmp}/cache"  # an empty content cache, as each test has (tests/conftest.py)
        records = ConductorRecords(settings_for(conductor.url, lakefs, Path(tmp)))

        def timed_out(task_id: str) -> None:
            wait_until(lambda: (records.task(task_id) or {}).get("status") == "TIMED_OUT", 30, "the timeout")

        scenario = run_scenario(conductor, lakefs, Path(tmp), timed_out)
        env = {**os.environ, "CONDUCTOR_SERVER_URL": conductor.url, "LAKECTL_SERVER_ENDPOINT_URL": lakefs.endpoint}
        env |= {"LAKECTL_CREDENTIALS_ACCESS_KEY_ID": lakefs.access_key_id}
        env |= {"LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": lakefs.secret_access_key}
        print("$ export CONDUCTOR_SERVER_URL=http://localhost:8080/api", flush=True)
        for command in (["history", scenario.workflow_id], ["explain", REPO, "main"]):
            print(f"$ .venv/bin/python -m perago {' '.join(command)}", flush=True)
            subprocess.run([sys.executable, "-m", "perago", *command], env=env, cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
