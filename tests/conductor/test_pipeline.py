"""End to end in-process with both emulators: chaining, one merge per writable attempt, the fence under retries."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from perago.conductor import Worker
from perago.conductor.registration import register_task_definitions
from perago.lakefs.store import LakeFSWorkspaceStore
from perago.settings import PeragoSettings
from perago.testing.conductor import ConductorEmulator
from perago.testing.lakefs import LakeFSEmulator
from tests.conductor.helpers import http, register_workflow, start, wait_until
from tests.conductor.ws_tasks import PIPELINE, RAW, build, report, validate

REPO = "songs"


def lakefs_get(emu: LakeFSEmulator, route: str) -> Any:
    token = base64.b64encode(f"{emu.access_key_id}:{emu.secret_access_key}".encode()).decode()
    request = urllib.request.Request(f"{emu.endpoint}/api/v1{route}", headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # loopback emulator
        return json.loads(response.read())


def seed(emu: LakeFSEmulator) -> None:
    emu.create_repository(REPO, default_branch="main")
    token = base64.b64encode(f"{emu.access_key_id}:{emu.secret_access_key}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "application/octet-stream"}
    for path, text in RAW.items():
        url = f"{emu.endpoint}/api/v1/repositories/{REPO}/branches/main/objects?path={path}"
        urllib.request.urlopen(
            urllib.request.Request(url, data=text.encode(), headers=headers, method="POST"), timeout=10
        )
    commit = json.dumps({"message": "raw data"}).encode()
    headers["Content-Type"] = "application/json"
    url = f"{emu.endpoint}/api/v1/repositories/{REPO}/branches/main/commits"
    urllib.request.urlopen(urllib.request.Request(url, data=commit, headers=headers, method="POST"), timeout=10)


def merges(emu: LakeFSEmulator) -> list[dict[str, Any]]:
    log = lakefs_get(emu, f"/repositories/{REPO}/refs/main/commits?amount=100")["results"]
    return [c for c in log if len(c["parents"]) == 2]


def staging_branches(emu: LakeFSEmulator) -> list[str]:
    branches = lakefs_get(emu, f"/repositories/{REPO}/branches?show_hidden=true&amount=1000")["results"]
    return [b["id"] for b in branches if b["id"].startswith("perago-stg-")]


def settings_for(conductor: ConductorEmulator, lakefs: LakeFSEmulator, tmp_path: Path) -> PeragoSettings:
    return PeragoSettings(
        conductor_server_url=conductor.url,
        lakefs_endpoint=lakefs.endpoint,
        lakefs_access_key_id=lakefs.access_key_id,
        lakefs_secret_access_key=lakefs.secret_access_key,
        workspace_root=tmp_path / "attempts",
    )


WORKSPACE = {"repository": REPO, "branch": "main", "ref_type": "branch", "ref": "main"}


def test_three_task_workflow_chains_workspaces(
    conductor_emulator: ConductorEmulator, lakefs_emulator: LakeFSEmulator, tmp_path: Path
) -> None:
    seed(lakefs_emulator)
    settings = settings_for(conductor_emulator, lakefs_emulator, tmp_path)
    register_task_definitions([validate, build, report], settings)
    register_workflow(conductor_emulator, "songs", PIPELINE, {"report": "${report.output.result}"})
    workflow_id = start(conductor_emulator, "songs", {"song_id": "song-001", "plays": 3, "workspace": WORKSPACE})
    worker = Worker([validate, build, report], settings)
    worker.run_until_idle(idle_s=0.5)
    workflow = conductor_emulator.get_workflow(workflow_id)
    assert workflow["status"] == "COMPLETED", workflow.get("reasonForIncompletion")
    tasks = {t["referenceTaskName"]: t for t in workflow["tasks"]}
    built = tasks["build"]["outputData"]
    assert built["result"] == {"rows": 2} and built["workspace"]["ref_type"] == "commit"
    assert tasks["report"]["inputData"]["workspace"] == built["workspace"]
    assert tasks["report"]["outputData"]["workspace"] == built["workspace"]
    assert workflow["output"] == {"report": {"songs": 2, "top": "song-003"}}
    merge_commits = merges(lakefs_emulator)
    assert len(merge_commits) == 1 and merge_commits[0]["id"] == built["workspace"]["ref"]
    meta = merge_commits[0]["metadata"]
    assert meta["perago.task"] == "build" and meta["perago.task_id"] == tasks["build"]["taskId"]
    assert meta["perago.worker_id"] == worker.worker_id and meta["perago.poll_count"] == "1"
    assert staging_branches(lakefs_emulator) == []
    assert not any((tmp_path / "attempts").iterdir())
    assert worker.metrics.value("perago_files_transferred_total", task="build", direction="upload") == 1


@pytest.mark.parametrize("how", ["response_timeout", "terminated"])
def test_stale_attempt_is_fenced_after_staging(
    conductor_emulator_manual: ConductorEmulator, lakefs_emulator: LakeFSEmulator, tmp_path: Path, how: str
) -> None:
    conductor = conductor_emulator_manual
    seed(lakefs_emulator)
    settings = settings_for(conductor, lakefs_emulator, tmp_path)
    register_task_definitions([build], settings)
    register_workflow(conductor, "build_only", [PIPELINE[1]])
    workflow_id = start(conductor, "build_only", {"workspace": WORKSPACE})
    real = LakeFSWorkspaceStore.from_settings(settings).callbacks()
    retry_worker = Worker([build], settings, worker_id="retry-worker", lease_tick_s=3600)
    staged_by_stale: list[str] = []

    def stage_then_go_stale(workspace_dir: Path, workspace_input: Any, spec: Any, execution: Any) -> Any:
        staged = real["stage_workspace"](workspace_dir, workspace_input, spec, execution)
        staged_by_stale.append(staged.branch)
        if how == "terminated":
            http("DELETE", f"{conductor.url}/workflow/{workflow_id}?reason=test")
            return staged
        conductor.clock.advance(11)  # type: ignore[attr-defined]  # response timeout -> TIMED_OUT, retry
        retry_worker.start()
        wait_until(lambda: conductor.get_workflow(workflow_id)["status"] == "COMPLETED", what="retry publication")
        return staged

    class StaleStore:
        def callbacks(self) -> dict[str, Any]:
            return real | {"stage_workspace": stage_then_go_stale}

    stale_worker = Worker([build], settings, store=StaleStore(), worker_id="stale-worker", lease_tick_s=3600)
    stale_worker.start()
    wait_until(lambda: len(staged_by_stale) == 1, what="the stale attempt to stage")
    wait_until(
        lambda: stale_worker.metrics.value("perago_stale_attempts_fenced_total", task="build") == 1, what="fencing"
    )
    stale_worker.stop(drain_timeout_s=5)
    retry_worker.stop(drain_timeout_s=5)
    workflow = conductor.get_workflow(workflow_id)
    expected_merges = 0 if how == "terminated" else 1
    assert len(merges(lakefs_emulator)) == expected_merges
    if how == "response_timeout":
        assert [t["status"] for t in workflow["tasks"]] == ["TIMED_OUT", "COMPLETED"]
        assert merges(lakefs_emulator)[0]["metadata"]["perago.worker_id"] == "retry-worker"
    else:
        assert workflow["status"] == "TERMINATED"
    assert staging_branches(lakefs_emulator) == []
    assert not any((tmp_path / "attempts").iterdir())
