"""The ``perago.*`` metadata of an attempt's staging commit and merge (DESIGN §3): who published what, from what.

Every key is a string. Besides the attempt's identity (task, version, workflow, step, task id, the task it
retries, poll and retry counts, worker, execution), the input commit and the call identity, ``perago.result``
carries the task's result as compact JSON, so that a retry of the same step can report it without running again
(DESIGN §2 "Exactly-once effect").
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from perago.callid import call_identity
from perago.errors import TaskOutputError
from perago.models import AttemptSnapshot
from perago.task import TaskDefinition

RESULT_METADATA_MAX_BYTES = 256 * 1024
"""The largest result (as JSON) a writable task may return: it travels in the merge's ``perago.result``."""


def _result_json(task: TaskDefinition[Any, Any], result: BaseModel) -> str:
    text = json.dumps(result.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    if len(text.encode()) > RESULT_METADATA_MAX_BYTES:
        raise TaskOutputError(
            f"the result of task {task.name} is {len(text.encode())} bytes as JSON; a writable task's result is "
            f"carried in its merge commit's metadata (perago.result) so that a retry can report it without running "
            f"again, and may be at most {RESULT_METADATA_MAX_BYTES} bytes: write large data into the workspace and "
            "return its path"
        )
    return text


def attempt_metadata(
    task: TaskDefinition[Any, Any],
    attempt: object,
    execution_id: str,
    input_commit: str,
    params: BaseModel | Any,
    *,
    result: BaseModel | None = None,
) -> dict[str, str]:
    """The ``perago.*`` commit and merge metadata of an attempt (DESIGN §3; all strings).

    ``attempt`` is any object exposing the attempt's attributes (see :meth:`AttemptSnapshot.of`). With ``result``,
    ``perago.result`` carries it as compact JSON, so that a retry of the same step can report it without running.

    Raises:
        TaskOutputError: The result is larger than :data:`RESULT_METADATA_MAX_BYTES` as JSON.
    """
    identity = AttemptSnapshot.of(attempt)
    extra = {"perago.result": _result_json(task, result)} if result is not None else {}
    return extra | {
        "perago.task": task.name,
        "perago.task_version": str(task.version),
        "perago.workflow_id": identity.workflow_id,
        "perago.task_ref": identity.reference_task_name,
        "perago.task_id": identity.task_id,
        "perago.retried_task_id": identity.retried_task_id or "",
        "perago.scheduled_time": str(identity.scheduled_time),
        "perago.poll_count": str(identity.poll_count),
        "perago.retry_count": str(identity.retry_count),
        "perago.worker_id": identity.worker_id or "",
        "perago.execution_id": execution_id,
        "perago.input_commit": input_commit,
        "perago.params_sha256": call_identity(task.name, task.version, params),
    }
