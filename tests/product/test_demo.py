"""``python -m perago dev`` as a user runs it: a subprocess on the embedded emulators."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRITABLE = {"features_build", "lyrics_stats"}
COMMIT_RE = re.compile(r"^[0-9a-f]{64}$")


def run_demo(*args: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    summary = tmp_path / "summary.json"
    process = subprocess.run(
        [sys.executable, "-m", "perago", "dev", "--summary-json", str(summary), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    data = json.loads(summary.read_text()) if summary.exists() else {}
    return process, data


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return run_demo(tmp_path=tmp_path_factory.mktemp("demo"))


def test_demo_exits_zero_and_says_so(demo):
    process, _ = demo
    assert process.returncode == 0, process.stdout + process.stderr
    assert "demo completed: every task COMPLETED." in process.stdout


def test_every_task_of_both_workflows_completed(demo):
    process, data = demo
    workflows = data["workflows"]
    assert set(workflows) == {"songs_pipeline", "songs_fork", "songs_catalog"}
    expected = {
        "songs_pipeline": ["metadata_validate", "features_build", "report"],
        "songs_fork": ["metadata_validate", "features_build", "lyrics_stats", "report"],
        # songs_catalog's SWITCH, DO_WHILE, INLINE and JQ tasks are system tasks; its SUB_WORKFLOW shows its own
        "songs_catalog": ["catalog_check", "metadata_validate", "features_build", "report"],
    }
    for name, workflow in workflows.items():
        assert workflow["status"] == "COMPLETED"
        assert sorted(t["task"] for t in workflow["tasks"]) == sorted(expected[name])
        assert {t["status"] for t in workflow["tasks"]} == {"COMPLETED"}
        for task in workflow["tasks"]:
            assert f"[{name}] {task['reference']} ({task['task']}) COMPLETED" in process.stdout


def test_output_refs_are_pinned_commits_on_the_target_branch(demo):
    process, data = demo
    for workflow in data["workflows"].values():
        for task in workflow["tasks"]:
            if task["task"] == "metadata_validate":
                assert task["workspace"] is None
                continue
            workspace = task["workspace"]
            assert workspace["repository"] == "songs" and workspace["branch"] == workflow["branch"]
            assert workspace["ref_type"] == "commit" and COMMIT_RE.match(workspace["ref"])
            assert f"-> songs@{workspace['ref']} (branch {workflow['branch']})" in process.stdout


def test_one_merge_commit_per_writable_task_with_its_perago_metadata(demo):
    process, data = demo
    for name, workflow in data["workflows"].items():
        merges = [c for c in workflow["commits"] if len(c["parents"]) > 1]
        writable = [t for t in workflow["tasks"] if t["task"] in WRITABLE]
        assert sorted(m["metadata"]["perago.task"] for m in merges) == sorted(t["task"] for t in writable)
        for task in writable:
            [merge] = [m for m in merges if m["metadata"]["perago.task"] == task["task"]]
            assert merge["id"] == task["workspace"]["ref"]
            if name != "songs_catalog":  # songs_catalog builds in its songs_pipeline sub-workflow (another id)
                assert merge["metadata"]["perago.workflow_id"] == workflow["workflow_id"]
            assert merge["metadata"]["perago.poll_count"] == "1"
            assert f"perago.task = {task['task']}" in process.stdout
        report = next(t for t in workflow["tasks"] if t["task"] == "report")
        assert report["workspace"]["ref"] == workflow["commits"][0]["id"]  # read-only: the head it read
    assert "lakeFS log of songs/pipeline" in process.stdout and "lakeFS log of songs/fork" in process.stdout


def test_a_bad_param_fails_the_demo_with_the_validation_error(tmp_path):
    process, data = run_demo("--song-id", "", "--workflow", "songs_pipeline", tmp_path=tmp_path)

    assert process.returncode == 1, process.stdout + process.stderr
    [task] = [t for t in data["workflows"]["songs_pipeline"]["tasks"] if t["status"] != "COMPLETED"]
    assert (task["task"], task["status"]) == ("metadata_validate", "FAILED_WITH_TERMINAL_ERROR")
    assert task["reason"].startswith("ValidationError") and "song_id" in task["reason"]
    failure = "FAILED: workflow songs_pipeline FAILED: task validate (metadata_validate) FAILED_WITH_TERMINAL_ERROR"
    assert failure in process.stderr
    assert "song_id" in process.stderr.split(failure, 1)[1]
    assert "demo failed." in process.stdout


def test_unusable_params_option_is_one_clear_line(tmp_path):
    process, _ = run_demo("--params", "[1, 2]", tmp_path=tmp_path)

    assert process.returncode == 2
    last = process.stderr.strip().splitlines()[-1]
    assert last == "perago dev: --params must be a JSON object, e.g. '{\"year\": 1999}'"
