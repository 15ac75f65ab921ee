"""Issue 9, acceptance 1-2: the seed's ``run_workspace_task_attempt`` / ``run_workspace_free_task_attempt``, called
exactly as the seed documents them, with plain-function callbacks of the seed's parameter lists, for every outcome
(DESIGN §1) — and the same outcomes whether ``attempt`` is perago's snapshot, a conductor-python ``Task`` as polled,
or a ``SimpleNamespace``. Each asserts the result, the callback order, the cleanup and the owner registration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from perago import (
    TaskExecutionContext,
    current_task_context,
    run_workspace_free_task_attempt,
    run_workspace_task_attempt,
    task,
)
from perago.errors import LakeFSError, TaskInputError
from perago.workspace import active_workspace_owners
from tests.core.conftest import COMMIT, MERGE, WORKSPACE, Recorder, make_attempt
from tests.core.tasks import Greeting, Hello, greet, needs_missing, reader, writer


def run(
    recorder: Recorder, root: Path, kind: str, task: Any = writer, params: Any = None, noop: bool = True, **extra: Any
) -> Any:
    input_data = extra.pop("input_data", {"workspace": WORKSPACE, "params": params or {}})
    owners_during: list[list[str]] = []
    callbacks = recorder.callbacks(noop=noop)
    download = callbacks["download_workspace"]

    def download_workspace(workspace_input: Any, workspace_spec: Any, workspace_dir: Path) -> Any:
        owners_during.append([owner.worker_id for owner in active_workspace_owners()])
        return download(workspace_input, workspace_spec, workspace_dir)

    result = run_workspace_task_attempt(
        task,
        input_data,
        make_attempt(kind),
        root,
        **(callbacks | {"download_workspace": download_workspace}),
        owner_worker_id="w-1",
        execution_id="exec-1",
        failure_reason_max_length=300,
        **extra,
    )
    assert not (root / "exec-1").exists(), "the attempt directory is removed after every outcome"
    assert all(owner.worker_id != "w-1" for owner in active_workspace_owners()), "the owner is unregistered"
    assert all("w-1" in owners for owners in owners_during), "the owner is registered while the attempt runs"
    return result


def test_read_only_success_outputs_the_pinned_commit(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    result = run(recorder, tmp_path, attempt_kind, reader)
    assert result.status == "COMPLETED"
    assert result.output_data == {
        "workspace": {"repository": "songs", "branch": "main", "ref_type": "commit", "ref": COMMIT},
        "result": {"files": 2},
    }
    assert recorder.calls == ["download"]


def test_writable_with_changes_fences_stages_fences_publishes(
    recorder: Recorder, tmp_path: Path, attempt_kind: str
) -> None:
    result = run(recorder, tmp_path, attempt_kind)
    assert result.status == "COMPLETED"
    assert result.output_data["workspace"] == {**WORKSPACE, "ref_type": "commit", "ref": MERGE}
    assert recorder.calls == ["download", "fence", "stage", "fence", "publish", "cleanup"]
    staged_with, published_with = recorder.executions
    assert isinstance(staged_with, TaskExecutionContext) and staged_with.execution_id == "exec-1"
    # The seed's execution context: attribute reads fall through to the attempt as given.
    assert staged_with.task_id == "t-1" and staged_with.poll_count == 1
    assert staged_with.diff is not None and staged_with.diff.added == ("out/result.txt",)
    assert staged_with.pinned_workspace is not None and staged_with.pinned_workspace.ref == COMMIT
    meta = published_with.metadata
    assert meta["perago.task"] == "writer" and meta["perago.input_commit"] == COMMIT
    assert meta["perago.task_id"] == "t-1" and meta["perago.poll_count"] == "1" and meta["perago.worker_id"] == "w-1"
    assert meta["perago.workflow_id"] == "wf-1" and meta["perago.task_ref"] == "write_step"
    assert len(meta["perago.params_sha256"]) == 64


def test_writable_noop_fences_then_completes_with_the_input_commit(
    recorder: Recorder, tmp_path: Path, attempt_kind: str
) -> None:
    result = run(recorder, tmp_path, attempt_kind, params={"mode": "nothing"})
    assert result.status == "COMPLETED"
    assert result.output_data["workspace"]["ref"] == COMMIT
    assert recorder.calls == ["download", "fence", "noop"]


def test_writable_noop_without_callback_fails_closed(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    result = run(recorder, tmp_path, attempt_kind, params={"mode": "nothing"}, noop=False)
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert "complete_noop_workspace" in (result.reason_for_incompletion or "")
    assert recorder.calls == ["download"]


def test_fence_failing_before_staging_publishes_nothing(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    recorder.current = [make_attempt(attempt_kind, status="TIMED_OUT")]
    result = run(recorder, tmp_path, attempt_kind)
    assert result.status == "FAILED"
    assert result.reason_for_incompletion.startswith("StaleAttemptError: ")
    assert "status: expected 'IN_PROGRESS', found 'TIMED_OUT'" in result.reason_for_incompletion
    assert recorder.calls == ["download", "fence"]


def test_fence_failing_after_staging_cleans_staging_without_publishing(
    recorder: Recorder, tmp_path: Path, attempt_kind: str
) -> None:
    recorder.current = [make_attempt(attempt_kind), make_attempt(attempt_kind, poll_count=2, worker_id="w-2")]
    result = run(recorder, tmp_path, attempt_kind)
    assert result.status == "FAILED" and result.is_stale
    assert "poll_count: expected 1, found 2" in result.reason_for_incompletion
    assert "worker_id: expected 'w-1', found 'w-2'" in result.reason_for_incompletion
    assert recorder.calls == ["download", "fence", "stage", "fence", "cleanup"]


def test_fence_with_missing_task(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    recorder.current = [None]
    result = run(recorder, tmp_path, attempt_kind)
    assert "no longer exists" in result.reason_for_incompletion
    assert recorder.calls == ["download", "fence"]


def test_publish_failing_still_cleans_up(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    recorder.fail["publish"] = LakeFSError("merge failed: HTTP 503", retryable=True, status=503)
    result = run(recorder, tmp_path, attempt_kind)
    assert result.status == "FAILED"
    assert result.reason_for_incompletion == "LakeFSError: merge failed: HTTP 503"
    assert recorder.calls == ["download", "fence", "stage", "fence", "publish", "cleanup"]


def test_cleanup_failing_keeps_the_result_and_logs(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    recorder.fail["cleanup"] = RuntimeError("lakeFS down")
    lines: list[str] = []
    logger.enable("perago")
    sink = logger.add(lambda m: lines.append(str(m)), level="ERROR")
    try:
        result = run(recorder, tmp_path, attempt_kind)
    finally:
        logger.remove(sink)
        logger.disable("perago")
    assert result.status == "COMPLETED" and result.output_data["workspace"]["ref"] == MERGE
    assert recorder.calls == ["download", "fence", "stage", "fence", "publish", "cleanup"]
    assert any("could not delete staging branch perago-stg-x" in line for line in lines)


def test_download_failing(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    recorder.fail["download"] = LakeFSError("ref main not found", retryable=False, status=404)
    result = run(recorder, tmp_path, attempt_kind)
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert recorder.calls == ["download"]


@pytest.mark.parametrize(
    "input_data",
    [{"params": {}}, {"workspace": WORKSPACE, "params": {}, "extra": 1}, ["workspace", "params"]],
)
def test_bad_input_shape_is_terminal(recorder: Recorder, tmp_path: Path, attempt_kind: str, input_data: Any) -> None:
    result = run(recorder, tmp_path, attempt_kind, input_data=input_data)
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert result.reason_for_incompletion.startswith("TaskInputError: workspace task input must be exactly")
    assert recorder.calls == []


def test_invalid_workspace_is_terminal(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    bad = {**WORKSPACE, "branch": "feature/x"}
    result = run(recorder, tmp_path, attempt_kind, input_data={"workspace": bad, "params": {}})
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert "ValidationError" in result.reason_for_incompletion and "no slashes" in result.reason_for_incompletion
    assert recorder.calls == []


def test_extra_params_keys_are_refused(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    result = run(recorder, tmp_path, attempt_kind, params={"mode": "write", "moed": "typo"})
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert result.reason_for_incompletion.startswith(
        "ValidationError: 1 validation error(s) for Params: moed: Extra inputs"
    )
    assert "Extra inputs are not permitted" in result.reason_for_incompletion
    assert recorder.calls == ["download"]


def test_invalid_output_is_terminal(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    result = run(recorder, tmp_path, attempt_kind, params={"mode": "badoutput"})
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert result.reason_for_incompletion.startswith(
        "ValidationError: 1 validation error(s) for Out: files: Input should be a valid integer"
    )
    assert recorder.calls == ["download"]


def test_pre_guardrail_violation(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    result = run(recorder, tmp_path, attempt_kind, needs_missing)
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert result.reason_for_incompletion.startswith("PreGuardrailViolation: 1 pre guardrail check(s) failed")
    assert "'missing/*.csv': found 0 file(s), need at least 2" in result.reason_for_incompletion
    assert recorder.calls == ["download"]


def test_post_guardrail_violation(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    result = run(recorder, tmp_path, attempt_kind, params={"mode": "outside"})
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert result.reason_for_incompletion.startswith("PostGuardrailViolation:")
    assert "changes outside out/: raw/a.csv" in result.reason_for_incompletion
    assert recorder.calls == ["download"]


def test_user_exception_is_retryable(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    result = run(recorder, tmp_path, attempt_kind, params={"mode": "boom"})
    assert result.status == "FAILED"
    assert result.reason_for_incompletion == "UserBug: the task crashed at row 7"
    assert recorder.calls == ["download"]


@pytest.mark.parametrize("mode", ["terminal", "baddata"])
def test_non_retryable_user_exception(recorder: Recorder, tmp_path: Path, attempt_kind: str, mode: str) -> None:
    result = run(recorder, tmp_path, attempt_kind, params={"mode": mode})
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert recorder.calls == ["download"]


def test_cancellation_during_body_stops_before_staging(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    result = run(recorder, tmp_path, attempt_kind, params={"mode": "cancel"})
    assert result.status == "FAILED"
    assert result.reason_for_incompletion.startswith("AttemptCancelledError:")
    assert recorder.calls == ["download"]


def test_download_record_without_digests_hashes_files(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    recorder.record_digests = False
    result = run(recorder, tmp_path, attempt_kind)
    assert result.status == "COMPLETED"
    assert recorder.executions[0].diff.added == ("out/result.txt",)


def test_download_returning_none_keeps_the_input_ref(recorder: Recorder, tmp_path: Path, attempt_kind: str) -> None:
    def download(workspace_input: Any, workspace_spec: Any, workspace_dir: Path) -> None:
        recorder.calls.append("download")
        (workspace_dir / "raw").mkdir()
        (workspace_dir / "raw/a.csv").write_text("x")

    result = run_workspace_task_attempt(
        reader,
        {"workspace": WORKSPACE, "params": {}},
        make_attempt(attempt_kind),
        tmp_path,
        **(recorder.callbacks() | {"download_workspace": download}),
        failure_reason_max_length=100,
    )
    assert result.output_data["workspace"] == WORKSPACE


def test_owner_and_execution_id_default_as_the_seed_says(
    recorder: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No owner_worker_id / execution_id: the owner is PERAGO_WORKER_ID, the execution id the attempt's own."""
    monkeypatch.setenv("PERAGO_WORKER_ID", "env-worker")
    seen: list[tuple[str, list[str]]] = []

    def download(workspace_input: Any, workspace_spec: Any, workspace_dir: Path) -> None:
        seen.append((workspace_dir.name, [owner.worker_id for owner in active_workspace_owners()]))
        (workspace_dir / "raw").mkdir()
        (workspace_dir / "raw/a.csv").write_text("x")

    attempt = make_attempt("namespace", execution_id="from-the-attempt")
    result = run_workspace_task_attempt(
        reader,
        {"workspace": WORKSPACE, "params": {}},
        attempt,
        tmp_path,
        **(recorder.callbacks() | {"download_workspace": download}),
        failure_reason_max_length=100,
    )
    assert result.status == "COMPLETED"
    assert seen == [("from-the-attempt", ["env-worker"])]
    monkeypatch.delenv("PERAGO_WORKER_ID")
    fresh = run_workspace_task_attempt(
        reader,
        {"workspace": WORKSPACE, "params": {}},
        make_attempt("snapshot"),
        tmp_path,
        **(recorder.callbacks() | {"download_workspace": download}),
        failure_reason_max_length=100,
    )
    assert fresh.status == "COMPLETED"
    assert len(seen[1][0]) == 32 and seen[1][1] == [f"pid-{__import__('os').getpid()}"]


def test_existing_attempt_directory_is_refused_and_kept(recorder: Recorder, tmp_path: Path) -> None:
    (tmp_path / "exec-1").mkdir()
    (tmp_path / "exec-1" / "user-data.txt").write_text("keep me")
    result = run_workspace_task_attempt(
        writer,
        {"workspace": WORKSPACE, "params": {}},
        make_attempt(),
        tmp_path,
        **recorder.callbacks(),
        owner_worker_id="w",
        execution_id="exec-1",
        failure_reason_max_length=1000,
    )
    assert result.status == "FAILED" and "already exists" in result.reason_for_incompletion
    assert (tmp_path / "exec-1" / "user-data.txt").read_text() == "keep me"


def test_workspace_free_task_as_the_seed_calls_it() -> None:
    ok = run_workspace_free_task_attempt(greet, {"params": {"name": "ada"}}, failure_reason_max_length=50)
    assert ok.status == "COMPLETED" and ok.output_data == {"result": {"text": "hello ada"}}
    bad = run_workspace_free_task_attempt(greet, {"params": {}, "workspace": {}}, failure_reason_max_length=50)
    assert bad.status == "FAILED_WITH_TERMINAL_ERROR"
    crash = run_workspace_free_task_attempt(greet, {"params": {"name": "crash"}}, failure_reason_max_length=50)
    assert crash.status == "FAILED" and crash.reason_for_incompletion == "UserBug: no"
    extra = run_workspace_free_task_attempt(
        greet, {"params": {"name": "a", "nmae": "b"}}, failure_reason_max_length=500
    )
    assert extra.status == "FAILED_WITH_TERMINAL_ERROR" and "nmae" in extra.reason_for_incompletion


SEEN_CONTEXTS: list[tuple[str, str]] = []


@task
def who(params: Hello) -> Greeting:
    context = current_task_context()
    SEEN_CONTEXTS.append((context.task_id, context.workflow_id))
    return Greeting(text=params.name)


def test_workspace_free_task_with_an_attempt(attempt_kind: str) -> None:
    SEEN_CONTEXTS.clear()
    result = run_workspace_free_task_attempt(
        who, {"params": {"name": "x"}}, failure_reason_max_length=50, attempt=make_attempt(attempt_kind)
    )
    assert result.status == "COMPLETED" and SEEN_CONTEXTS == [("t-1", "wf-1")]


def test_workspace_task_kinds_are_not_mixed(recorder: Recorder, tmp_path: Path) -> None:
    """The seed raises TaskInputError for the wrong kind of task (before anything runs)."""
    with pytest.raises(TaskInputError, match="workspace-free"):
        run_workspace_task_attempt(
            greet, {"params": {}}, make_attempt(), tmp_path, **recorder.callbacks(), failure_reason_max_length=80
        )
    with pytest.raises(TaskInputError, match="needs a workspace"):
        run_workspace_free_task_attempt(writer, {"params": {}}, failure_reason_max_length=80)
    assert recorder.calls == []
