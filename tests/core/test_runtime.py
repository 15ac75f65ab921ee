"""The attempt flow of DESIGN §1 with plain-function callbacks: results, callback order, cleanup."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from perago import run_workspace_free_task_attempt, run_workspace_task_attempt
from perago.errors import LakeFSError
from perago.workspace import active_workspace_owners
from tests.core.conftest import ATTEMPT, COMMIT, MERGE, WORKSPACE, Recorder
from tests.core.tasks import greet, needs_missing, reader, writer


def run(recorder: Recorder, root: Path, task: Any = writer, params: Any = None, noop: bool = True, **extra: Any):
    input_data = extra.pop("input_data", {"workspace": WORKSPACE, "params": params or {}})
    result = run_workspace_task_attempt(
        task,
        input_data,
        ATTEMPT,
        root,
        owner_worker_id="w-1",
        execution_id="exec-1",
        failure_reason_max_length=300,
        **recorder.callbacks(noop=noop),
        **extra,
    )
    # Acceptance 3: after every outcome the attempt directory is gone and the owner unregistered.
    assert not (root / "exec-1").exists()
    assert all(o.execution_id != "exec-1" for o in active_workspace_owners())
    return result


def test_read_only_success_outputs_the_pinned_commit(recorder: Recorder, tmp_path: Path) -> None:
    result = run(recorder, tmp_path, reader)
    assert result.status == "COMPLETED"
    assert result.output_data == {
        "workspace": {"repository": "songs", "branch": "main", "ref_type": "commit", "ref": COMMIT},
        "result": {"files": 2},
    }
    assert recorder.calls == ["download"]


def test_writable_with_changes_fences_stages_fences_publishes(recorder: Recorder, tmp_path: Path) -> None:
    result = run(recorder, tmp_path)
    assert result.status == "COMPLETED"
    assert result.output_data["workspace"] == {**WORKSPACE, "ref_type": "commit", "ref": MERGE}
    assert recorder.calls == ["download", "fence", "stage", "fence", "publish", "cleanup"]
    request = recorder.staged[0]
    assert request.diff.added == ("out/result.txt",) and not request.diff.changed and not request.diff.removed
    assert request.workspace.ref == COMMIT and request.workspace.ref_type == "commit"
    meta = recorder.metadata[0]
    assert meta["perago.task"] == "writer" and meta["perago.input_commit"] == COMMIT
    assert meta["perago.task_id"] == "t-1" and meta["perago.poll_count"] == "1" and meta["perago.worker_id"] == "w-1"
    assert meta == dict(request.metadata)
    assert len(meta["perago.params_sha256"]) == 64


def test_writable_noop_fences_then_completes_with_the_input_commit(recorder: Recorder, tmp_path: Path) -> None:
    result = run(recorder, tmp_path, params={"mode": "nothing"})
    assert result.status == "COMPLETED"
    assert result.output_data["workspace"]["ref"] == COMMIT
    assert recorder.calls == ["download", "fence", "noop"]


def test_writable_noop_without_callback_fails_closed(recorder: Recorder, tmp_path: Path) -> None:
    result = run(recorder, tmp_path, params={"mode": "nothing"}, noop=False)
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert "complete_noop_workspace" in (result.reason_for_incompletion or "")
    assert recorder.calls == ["download"]


def test_fence_failing_before_staging_publishes_nothing(recorder: Recorder, tmp_path: Path) -> None:
    recorder.current = [dataclasses.replace(ATTEMPT, status="TIMED_OUT")]
    result = run(recorder, tmp_path)
    assert result.status == "FAILED"
    assert result.reason_for_incompletion.startswith("StaleAttemptError: ")
    assert "status: expected 'IN_PROGRESS', found 'TIMED_OUT'" in result.reason_for_incompletion
    assert recorder.calls == ["download", "fence"]


def test_fence_failing_after_staging_cleans_staging_without_publishing(recorder: Recorder, tmp_path: Path) -> None:
    recorder.current = [ATTEMPT, dataclasses.replace(ATTEMPT, poll_count=2, worker_id="w-2")]
    result = run(recorder, tmp_path)
    assert result.status == "FAILED" and result.is_stale
    assert "poll_count: expected 1, found 2" in result.reason_for_incompletion
    assert "worker_id: expected 'w-1', found 'w-2'" in result.reason_for_incompletion
    assert recorder.calls == ["download", "fence", "stage", "fence", "cleanup"]


def test_fence_with_missing_task(recorder: Recorder, tmp_path: Path) -> None:
    recorder.current = [None]
    result = run(recorder, tmp_path)
    assert "no longer exists" in result.reason_for_incompletion
    assert recorder.calls == ["download", "fence"]


def test_publish_failing_still_cleans_up(recorder: Recorder, tmp_path: Path) -> None:
    recorder.fail["publish"] = LakeFSError("merge failed: HTTP 503", retryable=True, status=503)
    result = run(recorder, tmp_path)
    assert result.status == "FAILED"
    assert result.reason_for_incompletion == "LakeFSError: merge failed: HTTP 503"
    assert recorder.calls == ["download", "fence", "stage", "fence", "publish", "cleanup"]


def test_cleanup_failing_keeps_the_result_and_logs(recorder: Recorder, tmp_path: Path) -> None:
    recorder.fail["cleanup"] = RuntimeError("lakeFS down")
    lines: list[str] = []
    logger.enable("perago")
    sink = logger.add(lambda m: lines.append(str(m)), level="ERROR")
    try:
        result = run(recorder, tmp_path)
    finally:
        logger.remove(sink)
        logger.disable("perago")
    assert result.status == "COMPLETED" and result.output_data["workspace"]["ref"] == MERGE
    assert any("could not delete staging branch perago-stg-x" in line for line in lines)


def test_download_failing(recorder: Recorder, tmp_path: Path) -> None:
    recorder.fail["download"] = LakeFSError("ref main not found", retryable=False, status=404)
    result = run(recorder, tmp_path)
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert recorder.calls == ["download"]


@pytest.mark.parametrize(
    "input_data",
    [{"params": {}}, {"workspace": WORKSPACE, "params": {}, "extra": 1}, ["workspace", "params"]],
)
def test_bad_input_shape_is_terminal(recorder: Recorder, tmp_path: Path, input_data: Any) -> None:
    result = run(recorder, tmp_path, input_data=input_data)
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert result.reason_for_incompletion.startswith("TaskInputError: workspace task input must be exactly")
    assert recorder.calls == []


def test_invalid_workspace_is_terminal(recorder: Recorder, tmp_path: Path) -> None:
    bad = {**WORKSPACE, "branch": "feature/x"}
    result = run(recorder, tmp_path, input_data={"workspace": bad, "params": {}})
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert "ValidationError" in result.reason_for_incompletion and "no slashes" in result.reason_for_incompletion
    assert recorder.calls == []


def test_extra_params_keys_are_refused(recorder: Recorder, tmp_path: Path) -> None:
    result = run(recorder, tmp_path, params={"mode": "write", "moed": "typo"})
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert "'moed'" in result.reason_for_incompletion
    assert recorder.calls == ["download"]


def test_invalid_output_is_terminal(recorder: Recorder, tmp_path: Path) -> None:
    result = run(recorder, tmp_path, params={"mode": "badoutput"})
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert result.reason_for_incompletion.startswith("TaskOutputError: task writer returned an invalid Out")
    assert recorder.calls == ["download"]


def test_pre_guardrail_violation(recorder: Recorder, tmp_path: Path) -> None:
    result = run(recorder, tmp_path, needs_missing)
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert result.reason_for_incompletion.startswith("PreGuardrailViolation: 1 pre guardrail check(s) failed")
    assert "'missing/*.csv': found 0 file(s), need at least 2" in result.reason_for_incompletion
    assert recorder.calls == ["download"]


def test_post_guardrail_violation(recorder: Recorder, tmp_path: Path) -> None:
    result = run(recorder, tmp_path, params={"mode": "outside"})
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert result.reason_for_incompletion.startswith("PostGuardrailViolation:")
    assert "changes outside out/: raw/a.csv" in result.reason_for_incompletion
    assert recorder.calls == ["download"]


def test_user_exception_is_retryable(recorder: Recorder, tmp_path: Path) -> None:
    result = run(recorder, tmp_path, params={"mode": "boom"})
    assert result.status == "FAILED"
    assert result.reason_for_incompletion == "UserBug: the task crashed at row 7"
    assert recorder.calls == ["download"]


@pytest.mark.parametrize("mode", ["terminal", "baddata"])
def test_non_retryable_user_exception(recorder: Recorder, tmp_path: Path, mode: str) -> None:
    result = run(recorder, tmp_path, params={"mode": mode})
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert recorder.calls == ["download"]


def test_cancellation_during_body_stops_before_staging(recorder: Recorder, tmp_path: Path) -> None:
    result = run(recorder, tmp_path, params={"mode": "cancel"})
    assert result.status == "FAILED"
    assert result.reason_for_incompletion.startswith("AttemptCancelledError:")
    assert recorder.calls == ["download"]


def test_download_record_without_digests_hashes_files(recorder: Recorder, tmp_path: Path) -> None:
    recorder.record_digests = False
    result = run(recorder, tmp_path)
    assert result.status == "COMPLETED"
    assert recorder.staged[0].diff.added == ("out/result.txt",)


def test_download_returning_none_keeps_the_input_ref(recorder: Recorder, tmp_path: Path) -> None:
    def download(workspace: Any, spec: Any, directory: Path) -> None:
        recorder.calls.append("download")
        (directory / "raw").mkdir()
        (directory / "raw/a.csv").write_text("x")

    result = run_workspace_task_attempt(
        reader,
        {"workspace": WORKSPACE, "params": {}},
        ATTEMPT,
        tmp_path,
        **(recorder.callbacks() | {"download_workspace": download}),
        owner_worker_id="w",
        execution_id="e2",
        failure_reason_max_length=100,
    )
    assert result.output_data["workspace"] == WORKSPACE


def test_existing_attempt_directory_is_refused_and_kept(recorder: Recorder, tmp_path: Path) -> None:
    (tmp_path / "exec-1").mkdir()
    (tmp_path / "exec-1" / "user-data.txt").write_text("keep me")
    result = run_workspace_task_attempt(
        writer,
        {"workspace": WORKSPACE, "params": {}},
        ATTEMPT,
        tmp_path,
        **recorder.callbacks(),
        owner_worker_id="w",
        execution_id="exec-1",
        failure_reason_max_length=1000,
    )
    assert result.status == "FAILED" and "already exists" in result.reason_for_incompletion
    assert (tmp_path / "exec-1" / "user-data.txt").read_text() == "keep me"


def test_workspace_free_task() -> None:
    ok = run_workspace_free_task_attempt(
        greet, {"params": {"name": "ada"}}, ATTEMPT, execution_id="e", failure_reason_max_length=50
    )
    assert ok.status == "COMPLETED" and ok.output_data == {"result": {"text": "hello ada"}}
    bad = run_workspace_free_task_attempt(
        greet, {"params": {}, "workspace": {}}, ATTEMPT, execution_id="e", failure_reason_max_length=50
    )
    assert bad.status == "FAILED_WITH_TERMINAL_ERROR"
    crash = run_workspace_free_task_attempt(
        greet, {"params": {"name": "crash"}}, ATTEMPT, execution_id="e", failure_reason_max_length=50
    )
    assert crash.status == "FAILED" and crash.reason_for_incompletion == "UserBug: no"


def test_workspace_task_kinds_are_not_mixed(recorder: Recorder, tmp_path: Path) -> None:
    result = run(recorder, tmp_path, greet)
    assert result.status == "FAILED_WITH_TERMINAL_ERROR" and "workspace-free" in result.reason_for_incompletion
    free = run_workspace_free_task_attempt(
        writer, {"params": {}}, ATTEMPT, execution_id="e", failure_reason_max_length=80
    )
    assert free.status == "FAILED_WITH_TERMINAL_ERROR" and "needs a workspace" in free.reason_for_incompletion
