"""Phase boundaries of an attempt: cancellation checks, secrets kept out of logs, and the logging setup."""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from perago import run_workspace_free_task_attempt, run_workspace_task_attempt
from perago.logs import configure_logging
from perago.workspace import active_workspace_owners, cleanup_attempt_workspace_safely
from tests.core.conftest import ATTEMPT, WORKSPACE, Recorder
from tests.core.tasks import greet, writer


def run(recorder: Recorder, root: Path, cancel: threading.Event, **extra: Any):
    result = run_workspace_task_attempt(
        writer,
        {"workspace": WORKSPACE, "params": {}},
        ATTEMPT,
        root,
        owner_worker_id="w-1",
        execution_id="exec-c",
        failure_reason_max_length=400,
        cancel_event=cancel,
        **(recorder.callbacks() | extra),
    )
    assert not (root / "exec-c").exists()
    assert all(o.worker_id != "w-1" for o in active_workspace_owners())
    return result


def cancelling(recorder: Recorder, name: str, cancel: threading.Event, nth: int = 1) -> Any:
    """Wrap one callback so that its ``nth`` call sets the cancellation flag (the worker noticed staleness)."""
    real = recorder.callbacks()[name]
    seen = []

    def wrapped(*args: Any) -> Any:
        seen.append(1)
        out = real(*args)
        if len(seen) == nth:
            cancel.set()
        return out

    return wrapped


@pytest.mark.parametrize(
    ("callback", "nth", "calls", "phase"),
    [
        ("download_workspace", 1, ["download"], "before the task body"),
        ("load_current_attempt", 1, ["download", "fence"], "before staging"),
        ("stage_workspace", 1, ["download", "fence", "stage", "cleanup"], "before publication"),
        ("load_current_attempt", 2, ["download", "fence", "stage", "fence", "cleanup"], "before publication"),
    ],
)
def test_cancellation_is_checked_at_every_phase_boundary(
    recorder: Recorder, tmp_path: Path, callback: str, nth: int, calls: list[str], phase: str
) -> None:
    cancel = threading.Event()
    result = run(recorder, tmp_path, cancel, **{callback: cancelling(recorder, callback, cancel, nth)})
    assert result.status == "FAILED" and result.is_stale
    assert result.reason_for_incompletion.startswith("AttemptCancelledError:")
    assert phase in result.reason_for_incompletion and "nothing was published" in result.reason_for_incompletion
    assert recorder.calls == calls
    assert "publish" not in recorder.calls


def test_cancellation_before_a_noop_completion(recorder: Recorder, tmp_path: Path) -> None:
    cancel = threading.Event()
    result = run_workspace_task_attempt(
        writer,
        {"workspace": WORKSPACE, "params": {"mode": "none"}},
        ATTEMPT,
        tmp_path,
        owner_worker_id="w-1",
        execution_id="exec-n",
        failure_reason_max_length=400,
        cancel_event=cancel,
        **(recorder.callbacks() | {"load_current_attempt": cancelling(recorder, "load_current_attempt", cancel)}),
    )
    assert result.status == "FAILED" and result.error_type == "AttemptCancelledError"
    assert recorder.calls == ["download", "fence"]


def test_a_cancelled_workspace_free_attempt_does_not_run() -> None:
    cancel = threading.Event()
    cancel.set()
    result = run_workspace_free_task_attempt(
        greet, {"params": {"name": "ada"}}, failure_reason_max_length=300, cancel_event=cancel
    )
    assert result.status == "FAILED" and result.error_type == "AttemptCancelledError"


@pytest.fixture
def captured() -> Iterator[list[dict[str, Any]]]:
    records: list[dict[str, Any]] = []
    logger.enable("perago")
    sink = logger.add(lambda m: records.append(m.record), level="DEBUG")
    try:
        yield records
    finally:
        logger.remove(sink)
        logger.disable("perago")


def test_secrets_stay_out_of_reasons_logs_and_task_logs(
    recorder: Recorder, tmp_path: Path, captured: list[dict[str, Any]]
) -> None:
    secret = "s3cr3t-Value-42"
    recorder.fail["publish"] = RuntimeError(f"merge refused for http://ada:{secret}@lakefs:8000 ({secret})")
    recorder.fail["cleanup"] = RuntimeError(f"delete failed with key {secret} and AKIAIOSFODNN7EXAMPLE")
    result = run(recorder, tmp_path, threading.Event(), secrets=[secret])
    assert result.status == "FAILED"
    texts = [result.reason_for_incompletion or "", *result.logs, *(r["message"] for r in captured)]
    assert any("could not delete staging branch" in t for t in texts)
    assert all(secret not in t and "AKIAIOSFODNN7EXAMPLE" not in t for t in texts)
    assert "***" in (result.reason_for_incompletion or "")


def test_attempt_log_lines_are_bound_to_the_attempt(
    recorder: Recorder, tmp_path: Path, captured: list[dict[str, Any]]
) -> None:
    recorder.fail["publish"] = RuntimeError("merge failed")
    run(recorder, tmp_path, threading.Event())
    warning = next(r for r in captured if r["message"].startswith("attempt failed"))
    assert warning["extra"]["task"] == "writer" and warning["extra"]["task_id"] == ATTEMPT.task_id
    assert warning["extra"]["workflow_id"] == ATTEMPT.workflow_id and warning["extra"]["execution_id"] == "exec-c"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    original = sys.stderr  # taken before the test swaps it: loguru's default sink goes back to the real one
    yield
    logger.remove()
    logger.configure(extra={})
    logger.add(original)
    logger.disable("perago")


def test_the_library_is_silent_by_default(tmp_path: Path) -> None:
    records: list[str] = []
    sink = logger.add(lambda m: records.append(m.record["name"] or ""), level="DEBUG")
    try:
        (tmp_path / "unmarked").mkdir()
        assert not cleanup_attempt_workspace_safely(tmp_path / "unmarked")  # logs a warning, but perago is disabled
        logger.info("the application's own lines still pass")
    finally:
        logger.remove(sink)
    assert records == ["tests.core.test_phases"]


def test_configure_logging_text(monkeypatch: pytest.MonkeyPatch, restored_logging: None, tmp_path: Path) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging("debug")
    (tmp_path / "unmarked").mkdir()
    with logger.contextualize(task="build"):
        cleanup_attempt_workspace_safely(tmp_path / "unmarked")  # perago's own lines are enabled now
    logger.debug("no task bound")
    first, second = stream.getvalue().splitlines()
    assert "WARNING build not removing" in first and first.endswith("it has no perago attempt marker")
    assert second.endswith("DEBUG   - no task bound")


def test_configure_logging_json(monkeypatch: pytest.MonkeyPatch, restored_logging: None) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging("WARNING", json=True)
    logger.info("filtered out")
    with logger.contextualize(task="build", task_id="t-9"):
        logger.warning("careful")
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)["record"]
    assert record["message"] == "careful" and record["level"]["name"] == "WARNING"
    assert record["extra"] == {"task": "build", "task_id": "t-9"}


@pytest.mark.parametrize(
    ("full_rehash", "hashed"), [(False, ["result.txt"]), (True, ["a.csv", "b.json", "result.txt"])]
)
def test_change_detection_hashes_only_what_the_body_touched(
    recorder: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_rehash: bool, hashed: list[str]
) -> None:
    from perago import snapshot

    calls: list[str] = []
    real = snapshot.hash_file

    def counting(path: Path) -> tuple[str, int]:
        calls.append(path.name)
        return real(path)

    monkeypatch.setattr(snapshot, "hash_file", counting)
    result = run(recorder, tmp_path, threading.Event(), full_rehash=full_rehash)
    assert result.status == "COMPLETED"
    assert recorder.executions[0].diff.added == ("out/result.txt",) and not recorder.executions[0].diff.changed
    assert sorted(calls) == hashed  # the download's digests are the before-snapshot: nothing is read twice
