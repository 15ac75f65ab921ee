"""Issue 14, acceptance 2: a retry writes byte-identical files, and its merge adds no change.

Two attempts of one call run through ``run_workspace_task_attempt`` and perago's lakeFS store on the emulator: the
first merges and dies before reporting (the kill point is injected); the retry — a new task id, retryCount 1, given
no earlier-work lookup, so nothing but the deterministic helpers keeps it from publishing different data — reads
the same pinned commit and draws the same random numbers, UUIDs and ``now()``. lakeFS then records a merge that
changes nothing (committedManager.Merge: identical changes on both sides are not a conflict). Another call draws
other values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from perago import current_task_context, run_workspace_task_attempt, task
from perago.lakefs.store import LakeFSWorkspaceStore
from perago.models import AttemptSnapshot
from tests.lakefs.conftest import REPO, Lake

STARTED_MS = 1_717_000_000_000


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: int = 4


class Sampled(BaseModel):
    run_id: str


@task(retry_count=2)
def sample(workspace_dir: Path, params: Sample) -> Sampled:
    """Writes a random sample with ids and a timestamp: everything a retry must reproduce."""
    ctx = current_task_context()
    rng = ctx.random()
    run_id = str(ctx.uuid4())
    lines = ["id,value,at"] + [f"{ctx.uuid4()},{rng.random():.17f},{ctx.now().isoformat()}" for _ in range(params.rows)]
    (workspace_dir / "sample").mkdir(exist_ok=True)
    (workspace_dir / "sample/rows.csv").write_text("\n".join(lines) + "\n")
    (workspace_dir / "sample/run.json").write_text(json.dumps({"run": run_id, "shuffled": rng.sample(range(50), 10)}))
    return Sampled(run_id=run_id)


class Killed(Exception):
    """Stands for SIGKILL right after the merge reached lakeFS."""


def attempt(lake: Lake, tmp_path: Path, task_id: str, input_commit: str, params: dict[str, Any], **extra: Any) -> Any:
    store = LakeFSWorkspaceStore.from_settings(lake.settings.model_copy(update={"workspace_root": tmp_path}))
    callbacks: dict[str, Callable[..., Any]] = dict(store.callbacks())
    merged: list[str] = []
    if extra.pop("die_after_merge", False):

        def publish_then_die(*args: Any) -> str:
            merged.append(store.publish_workspace(*args))
            raise Killed("killed after the merge reached lakeFS")

        callbacks["publish_workspace"] = publish_then_die
    retry = extra.pop("retried", None)
    polled = AttemptSnapshot(
        task_id, "wf-1", poll_count=1, retry_count=1 if retry else 0, worker_id="w", retried_task_id=retry
    )
    workspace = {"repository": REPO, "branch": "main", "ref_type": "commit", "ref": input_commit}
    result = run_workspace_task_attempt(
        sample,
        {"workspace": workspace, "params": params},
        polled,
        tmp_path,
        load_current_attempt=lambda a: a,
        failure_reason_max_length=500,
        chain_started_ms=lambda: STARTED_MS,
        **callbacks,
    )
    return merged[0] if merged else result


@pytest.mark.parametrize("lake", ["api"], indirect=True)
def test_a_retry_writes_byte_identical_files_and_its_merge_adds_no_change(lake: Lake, tmp_path: Path) -> None:
    seed = lake.put({"raw/in.csv": b"a\n"})
    first_merge = attempt(lake, tmp_path, "t-1", seed, {}, die_after_merge=True)
    written = {p: lake.read(first_merge, p) for p in ("sample/rows.csv", "sample/run.json")}

    retry = attempt(lake, tmp_path, "t-2", seed, {}, retried="t-1")
    assert retry.status == "COMPLETED", retry.reason_for_incompletion
    second_merge = retry.output_data["workspace"]["ref"]
    assert second_merge != first_merge, "the retry did merge (nothing told it the step was done)"
    assert lake.get(f"/repositories/{REPO}/commits/{second_merge}")["parents"][0] == first_merge
    assert lake.get(f"/repositories/{REPO}/refs/{first_merge}/diff/{second_merge}")["results"] == []
    assert {p: lake.read(second_merge, p) for p in written} == written, "byte-identical files"
    assert str(retry.output_data["result"]["run_id"]) in written["sample/run.json"].decode()
    assert b"2024-05-29T16:26:40+00:00" in written["sample/rows.csv"], "now(): when the chain started"

    other = attempt(lake, tmp_path, "t-9", second_merge, {"rows": 5})  # on the head: no conflict to hide it
    assert other.status == "COMPLETED"
    changed = lake.get(f"/repositories/{REPO}/refs/{second_merge}/diff/{other.output_data['workspace']['ref']}")
    assert {d["path"] for d in changed["results"]} == {"sample/rows.csv", "sample/run.json"}, "another call differs"
    assert lake.read(other.output_data["workspace"]["ref"], "sample/run.json") != written["sample/run.json"]
