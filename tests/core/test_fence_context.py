"""The attempt fence (DESIGN §2) and the task context."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from perago import AttemptSnapshot, StaleAttemptError, assert_current_attempt_snapshot, current_task_context
from perago.context import TaskContext, task_context
from perago.errors import AttemptCancelledError, PeragoError

ATTEMPT = AttemptSnapshot(task_id="t-1", workflow_id="wf", poll_count=2, retry_count=1, worker_id="w-1")


def test_current_attempt_passes() -> None:
    assert_current_attempt_snapshot(ATTEMPT, replace(ATTEMPT, retry_count=9))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"status": "TIMED_OUT"}, ["status: expected 'IN_PROGRESS', found 'TIMED_OUT'"]),
        ({"status": "CANCELED"}, ["status: expected 'IN_PROGRESS', found 'CANCELED'"]),
        ({"task_id": "t-2"}, ["task_id: expected 't-1', found 't-2'"]),
        ({"poll_count": 3}, ["poll_count: expected 2, found 3"]),
        ({"worker_id": "w-2"}, ["worker_id: expected 'w-1', found 'w-2'"]),
        (
            {"status": "SCHEDULED", "poll_count": 3, "worker_id": None},
            [
                "status: expected 'IN_PROGRESS', found 'SCHEDULED'",
                "poll_count: expected 2, found 3",
                "worker_id: expected 'w-1', found None",
            ],
        ),
    ],
)
def test_every_differing_field_is_named(changes: dict[str, object], expected: list[str]) -> None:
    with pytest.raises(StaleAttemptError) as info:
        assert_current_attempt_snapshot(ATTEMPT, replace(ATTEMPT, **changes))  # type: ignore[arg-type]
    message = str(info.value)
    for part in expected:
        assert part in message
    assert "task t-1 of workflow wf" in message


def test_missing_task() -> None:
    with pytest.raises(StaleAttemptError, match="no longer exists"):
        assert_current_attempt_snapshot(ATTEMPT, None)


def test_context_is_visible_only_inside() -> None:
    with pytest.raises(PeragoError, match="outside a running perago task"):
        current_task_context()
    ctx = TaskContext("build", "t-1", "wf", 2, 1, "e-1", threading.Event())
    with task_context(ctx):
        assert current_task_context() is ctx
        assert not current_task_context().cancelled
        ctx.cancel_event.set()
        assert current_task_context().cancelled
        with pytest.raises(AttemptCancelledError, match="before publication"):
            ctx.raise_if_cancelled("publication")
    with pytest.raises(PeragoError):
        current_task_context()
