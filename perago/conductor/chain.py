"""A workflow step's retry chain, read from Conductor (the worker's gate looks for its merge, :mod:`.gate`).

Conductor links a retry to the task it retries with ``retriedTaskId`` (DeciderService.retry; WorkflowExecutorOps
taskToBeRescheduled for a workflow retry) and keeps the task id on a re-delivery; a rerun or restart creates tasks
with no link. So an attempt with ``retryCount == 0`` and ``pollCount <= 1`` is the first of its chain: nothing
can have been published by it before, and no request is made. Otherwise the chain is walked back through
``GET /api/tasks/{retriedTaskId}`` — at most ``retryCount`` requests, the task's retry limit — to collect its task ids
and the first one's ``scheduledTime``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from conductor.client.http.models.task import Task
from loguru import logger

from perago.execution import EarlierResult, StepChain
from perago.models import AttemptSnapshot, WorkspaceInput


class StepPublications(Protocol):
    """What a store offers to find a step's earlier publication (perago's lakeFS store does)."""

    def find_step_publication(self, workspace_input: WorkspaceInput, chain: StepChain) -> EarlierResult | None:
        """The merge ``chain`` already published on the input's target branch, if any."""


RETRY_GAP_S = 60
"""A retry is scheduled in the decider pass that ends the task it retries (DeciderService.retry): a task scheduled
longer than this after its predecessor ended was rerun by an operator, and the link to the predecessor is broken."""


def load_chain(get_task: Callable[[str], Task | None], task: object) -> StepChain | None:
    """The retry chain of ``task``, or None for the first attempt of a chain (no request is made then).

    Walked back through ``retriedTaskId`` while each task was scheduled right as its predecessor ended
    (:data:`RETRY_GAP_S`); a rerun from a task resets its ``scheduledTime`` (WorkflowExecutorOps.rerunWF), so the
    walk stops there and the rerun runs again, as the operator asked.
    """
    attempt = AttemptSnapshot.of(task)
    if attempt.retry_count == 0 and attempt.poll_count <= 1:
        return None
    members, current = [(attempt.task_id, attempt.scheduled_time)], attempt
    while current.retried_task_id and len(members) <= attempt.retry_count:
        found = get_task(current.retried_task_id)
        if found is None:  # removed or archived: the chain is known up to here
            logger.warning("task {} of the retry chain of {} is gone", current.retried_task_id, attempt.task_id)
            break
        earlier = AttemptSnapshot.of(found)
        if not _retried_right_after(earlier, current) or (earlier.task_id, earlier.scheduled_time) in members:
            break
        members.append((earlier.task_id, earlier.scheduled_time))
        current = earlier
    since = min((scheduled for _, scheduled in members if scheduled), default=0)
    return StepChain(attempt.workflow_id, attempt.reference_task_name, tuple(members), since)


def _retried_right_after(earlier: AttemptSnapshot, later: AttemptSnapshot) -> bool:
    if not (earlier.end_time and later.scheduled_time):
        return True  # nothing to tell a rerun by: keep the link (the conservative side: no second publication)
    return later.scheduled_time - earlier.end_time <= RETRY_GAP_S * 1000
