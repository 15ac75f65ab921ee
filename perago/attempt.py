"""The attempt fence (DESIGN §2): publish only while this delivery is still the current one."""

from __future__ import annotations

from perago.errors import StaleAttemptError
from perago.models import AttemptSnapshot

_FENCED_FIELDS = ("task_id", "poll_count", "worker_id")


def assert_current_attempt_snapshot(attempt: AttemptSnapshot, current: AttemptSnapshot | None) -> None:
    """Pass only if the task still exists, is IN_PROGRESS, and has the same taskId, pollCount and workerId.

    Args:
        attempt: The snapshot taken from the polled task.
        current: The task as the server reports it now (None: it no longer exists).

    Raises:
        StaleAttemptError: Naming every field that differs, expected vs found.
    """
    where = f"task {attempt.task_id} of workflow {attempt.workflow_id}"
    if current is None:
        raise StaleAttemptError(
            f"stale attempt of {where}: the task no longer exists on the server; nothing will be published"
        )
    differences = []
    if current.status != "IN_PROGRESS":
        differences.append(f"status: expected 'IN_PROGRESS', found {current.status!r}")
    for name in _FENCED_FIELDS:
        expected, found = getattr(attempt, name), getattr(current, name)
        if expected != found:
            differences.append(f"{name}: expected {expected!r}, found {found!r}")
    if differences:
        raise StaleAttemptError(
            f"stale attempt of {where} ({'; '.join(differences)}): another delivery owns it now; "
            "nothing will be published"
        )
