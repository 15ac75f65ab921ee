"""The janitor, and whole attempts through the runtime with the real store."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from perago import AttemptSnapshot, WorkspaceSpec, run_workspace_task_attempt, task
from perago.lakefs.janitor import expire_staging_branches, parse_duration
from perago.lakefs.naming import staging_branch_name, staging_branch_time
from tests.lakefs.conftest import REPO, Lake

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def make_branch(lake: Lake, name: str) -> None:
    body = json.dumps({"name": name, "source": "main", "hidden": True}).encode()
    lake._request("POST", f"/repositories/{REPO}/branches", body)


def test_branch_names_are_valid_and_carry_their_time() -> None:
    name = staging_branch_name("wf/with:odd chars", "build.features", "task-1-p2", NOW)
    assert name.startswith("perago-stg-20261123T120000Z-wf_with_odd_chars-build_features-task-1-p2")
    assert staging_branch_time(name) == NOW
    assert staging_branch_time("main") is None and staging_branch_time("perago-stg-garbage") is None
    assert len(staging_branch_name("w" * 500, "t" * 500, "e" * 500, NOW)) <= 200


def test_janitor_removes_only_expired_staging_branches(lake: Lake) -> None:
    old = staging_branch_name("wf", "t", "old", NOW - timedelta(hours=7))
    fresh = staging_branch_name("wf", "t", "fresh", NOW - timedelta(hours=1))
    for name in (old, fresh, "perago-stg-not-a-time", "feature-x"):
        make_branch(lake, name)
    assert expire_staging_branches(lake.store.conn, REPO, timedelta(hours=6), now=NOW, dry_run=True) == [old]
    assert old in lake.branches()
    assert expire_staging_branches(lake.store.conn, REPO, timedelta(hours=6), now=NOW) == [old]
    assert sorted(lake.branches()) == sorted(["main", fresh, "perago-stg-not-a-time", "feature-x"])


def test_janitor_cli(lake: Lake) -> None:
    old = staging_branch_name("wf", "t", "old", datetime.now(UTC) - timedelta(days=2))
    make_branch(lake, old)
    env = {
        **os.environ,
        "LAKECTL_SERVER_ENDPOINT_URL": lake.emu.endpoint,
        "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": lake.emu.access_key_id,
        "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": lake.emu.secret_access_key,
    }
    cmd = [sys.executable, "-m", "perago", "janitor", "--repository", REPO, "--older-than", "1d"]
    dry = subprocess.run([*cmd, "--dry-run"], env=env, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0 and f"would delete {REPO}/{old}" in dry.stdout and old in lake.branches()
    real = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert real.returncode == 0 and f"deleted {REPO}/{old}" in real.stdout and old not in lake.branches()
    bad = subprocess.run([*cmd[:-1], "soon"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "invalid duration 'soon'" in bad.stderr


def test_parse_duration() -> None:
    assert parse_duration("90s") == timedelta(seconds=90) and parse_duration("2d") == timedelta(days=2)


class P(BaseModel):
    mode: str


class R(BaseModel):
    files: int


@task(workspace=WorkspaceSpec())
def edit(workspace_dir: Path, params: P) -> R:
    """Adds a file unless asked for a no-op."""
    if params.mode == "write":
        (workspace_dir / "out.txt").write_text("written")
    return R(files=1)


@task(workspace=WorkspaceSpec(read_only=True))
def look(workspace_dir: Path, params: P) -> R:
    """Reads only."""
    return R(files=len(list((workspace_dir / "raw").iterdir())))


@pytest.mark.parametrize(("definition", "mode", "merges"), [(edit, "write", 1), (edit, "noop", 0), (look, "read", 0)])
def test_attempts_through_the_runtime(lake: Lake, tmp_path: Path, definition: object, mode: str, merges: int) -> None:
    seed = lake.put({"raw/a.csv": b"1", "raw/b.csv": b"2"})
    attempt = AttemptSnapshot(task_id="t-9", workflow_id="wf-9", poll_count=1, retry_count=0, worker_id="w")
    workspace = {"repository": REPO, "branch": "main", "ref_type": "branch", "ref": "main"}
    result = run_workspace_task_attempt(
        definition,  # type: ignore[arg-type]
        {"workspace": workspace, "params": {"mode": mode}},
        attempt,
        tmp_path,
        **lake.store.callbacks(),
        load_current_attempt=lambda a: a,
        owner_worker_id="w",
        execution_id="exec-9",
        failure_reason_max_length=500,
    )
    assert result.status == "COMPLETED", result.reason_for_incompletion
    out = result.output_data["workspace"]
    assert out["repository"] == REPO and out["branch"] == "main" and out["ref_type"] == "commit"
    merge_commits = [c for c in lake.log() if len(c["parents"]) == 2]
    assert len(merge_commits) == merges
    if merges:
        assert out["ref"] == merge_commits[0]["id"]
        assert merge_commits[0]["metadata"]["perago.input_commit"] == seed
        assert merge_commits[0]["metadata"]["perago.task_id"] == "t-9"
    else:
        assert out["ref"] == seed
    assert [b for b in lake.branches() if b.startswith("perago-stg-")] == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("failure", ["conflict", "fence"])
def test_staging_branch_is_removed_after_a_failed_publication(lake: Lake, tmp_path: Path, failure: str) -> None:
    lake.put({"out.txt": b"base"})
    attempt = AttemptSnapshot(task_id="t-7", workflow_id="wf-7", poll_count=1, retry_count=0, worker_id="w")
    callbacks = dict(lake.store.callbacks())
    stage = callbacks["stage_workspace"]
    fences: list[int] = []

    def stage_then_race(workspace_dir: Path, workspace_input: object, spec: object, execution: object) -> object:
        staged = stage(workspace_dir, workspace_input, spec, execution)
        lake.put({"out.txt": b"someone else"}, message="concurrent writer")  # makes the merge conflict
        return staged

    def load_current(current: AttemptSnapshot) -> AttemptSnapshot:
        fences.append(1)
        stale = failure == "fence" and len(fences) == 2
        return dataclasses.replace(current, poll_count=2) if stale else current

    if failure == "conflict":
        callbacks["stage_workspace"] = stage_then_race
    result = run_workspace_task_attempt(
        edit,
        {
            "workspace": {"repository": REPO, "branch": "main", "ref_type": "branch", "ref": "main"},
            "params": {"mode": "write"},
        },
        attempt,
        tmp_path,
        **callbacks,
        load_current_attempt=load_current,
        owner_worker_id="w",
        execution_id="exec-7",
        failure_reason_max_length=500,
    )
    assert result.status == "FAILED"
    expected = "PublishConflictError" if failure == "conflict" else "StaleAttemptError"
    assert result.reason_for_incompletion.startswith(expected), result.reason_for_incompletion
    assert [b for b in lake.branches() if b.startswith("perago-stg-")] == []
    assert not [c for c in lake.log() if len(c["parents"]) == 2]
    assert list(tmp_path.iterdir()) == []
