"""The runtime's ``find_earlier_result`` hook (DESIGN §2 "Exactly-once effect"): work an earlier attempt of the same
step already published completes this attempt — before anything runs, or instead of merging — and the result that
makes that possible travels in the merge metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from perago import EarlierResult, WorkspaceSpec, run_workspace_task_attempt, task
from perago.metadata import RESULT_METADATA_MAX_BYTES
from tests.core.conftest import MERGE, WORKSPACE, Recorder, make_attempt
from tests.core.tasks import writer

EARLIER = EarlierResult(ref="e" * 64, result={"files": 41}, source="retry chain: task t-0 already published it")


def run(recorder: Recorder, root: Path, find: Any, task_def: Any = writer) -> Any:
    return run_workspace_task_attempt(
        task_def,
        {"workspace": WORKSPACE, "params": {}},
        make_attempt(),
        root,
        **recorder.callbacks(),
        failure_reason_max_length=500,
        find_earlier_result=find,
    )


def test_earlier_work_completes_the_attempt_without_download_or_body(recorder: Recorder, tmp_path: Path) -> None:
    asked: list[str] = []

    def find(workspace_input: Any, workspace_spec: Any, execution: Any) -> EarlierResult:
        asked.append(execution.task_id)
        return EARLIER

    result = run(recorder, tmp_path, find)
    assert result.status == "COMPLETED"
    assert result.output_data == {
        "workspace": {**WORKSPACE, "ref_type": "commit", "ref": "e" * 64},
        "result": {"files": 41},
    }
    assert recorder.calls == [] and asked == ["t-1"]
    assert "reused: retry chain: task t-0 already published it: completed with " + "e" * 64 + " without running" in (
        result.logs
    )
    assert list(tmp_path.iterdir()) == [], "no attempt directory was even made"


def test_earlier_work_that_lands_while_the_attempt_runs_replaces_its_merge(recorder: Recorder, tmp_path: Path) -> None:
    """Looked for again right before merging: a predecessor's delayed merge is not doubled."""
    answers = [None, EARLIER]
    result = run(recorder, tmp_path, lambda *args: answers.pop(0))
    assert result.status == "COMPLETED" and result.output_data["workspace"]["ref"] == "e" * 64
    assert result.output_data["result"] == {"files": 41}, "the published step's result, not this attempt's"
    assert recorder.calls == ["download", "fence", "stage", "fence", "cleanup"], "no publish; staging cleaned"


def test_nothing_earlier_publishes_with_the_result_in_the_metadata(recorder: Recorder, tmp_path: Path) -> None:
    result = run(recorder, tmp_path, lambda *args: None)
    assert result.status == "COMPLETED" and result.output_data["workspace"]["ref"] == MERGE
    metadata = recorder.executions[-1].metadata
    assert json.loads(metadata["perago.result"]) == result.output_data["result"]
    assert metadata["perago.retried_task_id"] == "" and metadata["perago.task_ref"] == "write_step"


class Big(BaseModel):
    blob: str


class NoParams(BaseModel):
    pass


@task(workspace=WorkspaceSpec())
def big_result(workspace_dir: Path, params: NoParams) -> Big:
    (workspace_dir / "x").write_text("x")
    return Big(blob="x" * RESULT_METADATA_MAX_BYTES)


def test_a_result_too_large_for_the_merge_metadata_is_refused_before_staging(
    recorder: Recorder, tmp_path: Path
) -> None:
    result = run(recorder, tmp_path, None, big_result)
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert result.reason_for_incompletion.startswith("TaskOutputError: the result of task big_result is 262155 bytes")
    assert "write large data into the workspace and return its path" in result.reason_for_incompletion
    assert recorder.calls == ["download"]
