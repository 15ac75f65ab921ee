"""The ``songs_catalog`` workflow end to end on both emulators with perago's worker.

It checks the catalog (``catalog_check``), branches on the result (SWITCH), makes a card per song
(DO_WHILE over the songs with an INLINE body), counts songs per decade (JSON_JQ_TRANSFORM) and builds the
features and report in the ``songs_pipeline`` SUB_WORKFLOW; a broken catalog ends at a TERMINATE.
"""

from __future__ import annotations

import json
from pathlib import Path

from examples.songs import stack
from examples.songs.data import sample_files
from perago import discover_tasks
from perago.conductor import Worker
from perago.conductor.registration import register_task_definitions
from perago.settings import PeragoSettings
from perago.testing import ConductorEmulator, LakeFSEmulator

REPO = "songs"


def _settings(conductor: ConductorEmulator, lakefs: LakeFSEmulator, tmp_path: Path) -> PeragoSettings:
    return PeragoSettings(
        conductor_server_url=conductor.url,
        lakefs_endpoint=lakefs.endpoint,
        lakefs_access_key_id=lakefs.access_key_id,
        lakefs_secret_access_key=lakefs.secret_access_key,
        workspace_root=tmp_path / "attempts",
    )


def _run(conductor: ConductorEmulator, lakefs: LakeFSEmulator, tmp_path: Path, files: dict[str, bytes]) -> dict:
    lakefs.create_repository(REPO, default_branch="main")
    client = stack.lakefs_client(lakefs.endpoint, lakefs.access_key_id, lakefs.secret_access_key)
    stack.seed_repository(client, REPO, "local://songs", files)
    stack.create_branch(client, REPO, "catalog", "main")
    settings = _settings(conductor, lakefs, tmp_path)
    tasks = discover_tasks("examples.songs")
    register_task_definitions(tasks, settings)
    stack.register_workflows(conductor.url)
    song = json.loads(next(iter(files.values())))
    workflow_input = {
        "song": {k: song[k] for k in ("song_id", "title", "artist", "year", "genre")},
        "workspace": {"repository": REPO, "branch": "catalog", "ref_type": "branch", "ref": "catalog"},
        "features": {},
        "report": {},
    }
    workflow_id = conductor.engine.start_workflow({"name": "songs_catalog", "input": workflow_input})
    worker = Worker(tasks, settings)
    worker.start()
    try:
        return conductor.wait_for_workflow(workflow_id, timeout=60)
    finally:
        worker.stop(drain_timeout_s=10)


def test_a_clean_catalog_is_checked_looped_over_and_built(conductor_emulator, lakefs_emulator, tmp_path):
    workflow = _run(conductor_emulator, lakefs_emulator, tmp_path, sample_files(count=6))

    assert workflow["status"] == "COMPLETED", workflow["reasonForIncompletion"]
    tasks = {t["referenceTaskName"]: t for t in workflow["tasks"]}
    assert tasks["check"]["outputData"]["result"]["valid"] is True
    assert tasks["usable"]["outputData"] == {"evaluationResult": ["true"], "selectedCase": "true"}
    assert tasks["each_song"]["outputData"]["iteration"] == 6
    cards = [tasks[f"card__{i}"]["outputData"]["result"] for i in range(1, 7)]
    assert [c["id"] for c in cards] == [f"song-00{i}" for i in range(1, 7)]
    assert sum(workflow["output"]["by_decade"].values()) == 6
    child = conductor_emulator.get_workflow(tasks["build"]["subWorkflowId"])
    assert [t["taskType"] for t in child["tasks"]] == ["metadata_validate", "features_build", "report"]
    assert workflow["output"]["report"]["songs"] == 6
    assert workflow["output"]["workspace"]["branch"] == "catalog"
    assert workflow["output"]["workspace"]["ref_type"] == "commit"


def test_a_broken_catalog_ends_at_the_terminate_with_its_problems(conductor_emulator, lakefs_emulator, tmp_path):
    files = sample_files(count=3)
    broken = json.loads(files["raw/meta/song-002.json"]) | {"year": 1700}
    files["raw/meta/song-002.json"] = json.dumps(broken).encode()

    workflow = _run(conductor_emulator, lakefs_emulator, tmp_path, files)

    assert workflow["status"] == "FAILED"
    problem = "raw/meta/song-002.json: year 1700 is not between 1900 and 2100"
    assert workflow["reasonForIncompletion"] == f"the catalog is not usable: [{problem}]"
    assert workflow["output"] == {"problems": [problem]}
    assert [t["referenceTaskName"] for t in workflow["tasks"]] == ["check", "usable", "reject"]


def test_the_workflow_json_passes_the_servers_validation(conductor_emulator):
    definitions = {d["name"]: d for d in stack.workflow_definitions()}
    answer = conductor_emulator.engine.definitions.update_workflow_defs([definitions["songs_catalog"]], 0)
    assert answer["bulkSuccessfulResults"] == ["songs_catalog"]
