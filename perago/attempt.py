"""The attempt fence (DESIGN §2): publish only while this delivery is still the current one."""

from __future__ import annotations

from perago.errors import StaleAttemptError
from perago.models import AttemptSnapshot

_FENCED_FIELDS = ("task_id", "poll_count", "worker_id")


def assert_current_attempt_snapshot(attempt: object, current: object | None) -> None:
    """Pass only if the task still exists, is IN_PROGRESS, and has the same taskId, pollCount and workerId.

    Both arguments may be any object exposing the attempt's attributes (see :meth:`AttemptSnapshot.of`): the
    conductor-python ``Task`` as polled and as re-read, perago's :class:`AttemptSnapshot`, or a namespace.

    Args:
        attempt: The task as it was polled.
        current: The task as the server reports it now (None: it no longer exists).

    Raises:
        StaleAttemptError: Naming every field that differs, expected vs found.
    """
    polled = AttemptSnapshot.of(attempt)
    where = f"task {polled.task_id} of workflow {polled.workflow_id}"
    if current is None:
        raise StaleAttemptError(
            f"stale attempt of {where}: the task no longer exists on the server; nothing will be published"
        )
    now = AttemptSnapshot.of(current)
    differences = []
    if now.status != "IN_PROGRESS":
        differences.append(f"status: expected 'IN_PROGRESS', found {now.status!r}")
    for name in _FENCED_FIELDS:
        expected, found = getattr(polled, name), getattr(now, name)
        if expected != found:
            differences.append(f"{name}: expected {expected!r}, found {found!r}")
    if differences:
        raise StaleAttemptError(
            f"stale attempt of {where} ({'; '.join(differences)}): another delivery owns it now; "
            "nothing will be published"
        )
