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


def load_chain(get_task: Callable[[str], Task | None], task: object) -> StepChain | None:
    """The retry chain of ``task``, or None for the first attempt of a chain (no request is made then)."""
    attempt = AttemptSnapshot.of(task)
    if attempt.retry_count == 0 and attempt.poll_count <= 1:
        return None
    ids, since = [attempt.task_id], attempt.scheduled_time
    previous = attempt.retried_task_id
    while previous and previous not in ids and len(ids) <= attempt.retry_count:
        found = get_task(previous)
        if found is None:  # removed or archived: the chain is known up to here
            logger.warning("task {} of the retry chain of {} is gone; looking back from its successor", previous, ids)
            break
        earlier = AttemptSnapshot.of(found)
        ids.append(previous)
        since = earlier.scheduled_time or since
        previous = earlier.retried_task_id
    return StepChain(attempt.workflow_id, attempt.reference_task_name, tuple(ids), since)
