"""What a Conductor error answer says: the server's message and validation errors, and which 404 is which.

conductor-oss renders every error as an ``ErrorResponse`` (``{"status", "message", "instance", "retryable",
"validationErrors"}``): ``ApplicationExceptionMapper`` for exceptions (404 ``NotFoundException``, 400
``IllegalArgumentException``, 405 ``HttpRequestMethodNotSupportedException``), ``ValidationExceptionMapper`` for
bean-validation failures (400 with the generic message "Validation failed, check below errors for detail." and one
``{"path", "message", "invalidValue"}`` per violated constraint). The generic message alone tells a user nothing,
so perago reports the violations too.
"""

from __future__ import annotations

import json
import re
from typing import Any

_MAX_TEXT = 300
_TASK_GONE = re.compile(r"no such task|task not found", re.IGNORECASE)


def error_body(exc: Exception) -> dict[str, Any] | None:
    """The JSON object of an error answer (conductor-python's ``ApiException.body``), or None."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body.strip():
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _violation(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    text = str(error.get("message") or "invalid")
    if error.get("path"):
        text = f"{error['path']}: {text}"
    if error.get("invalidValue") is not None:
        text += f" (invalid value: {error['invalidValue']})"
    return text


def server_detail(exc: Exception) -> str:
    """``"HTTP <status> <reason>: <message> [<violation>; ...]"``, as much as the answer tells.

    Non-JSON bodies (a proxy's plain-text page) are quoted when short and not HTML.
    """
    status, reason = getattr(exc, "status", None), getattr(exc, "reason", None) or ""
    head = f"HTTP {status}" + (f" {reason}" if reason else "")
    body = error_body(exc)
    if body is None:
        raw = getattr(exc, "body", None)
        text = " ".join(raw.split()) if isinstance(raw, str) else ""
        return f"{head}: {text[:_MAX_TEXT]}" if text and not text.startswith("<") else head
    message = str(body.get("message") or body.get("error") or "").strip()
    violations = [_violation(e) for e in body.get("validationErrors") or []]
    parts = [message] if message else []
    if violations:
        parts.append("; ".join(violations))
    return f"{head}: {' '.join(parts)}" if parts else head


def says_task_is_gone(exc: Exception, task_id: str | None) -> bool:
    """True for a 404 about the task itself (``WorkflowExecutorOps.updateTask``: "No such task found by id: ...")."""
    if getattr(exc, "status", None) != 404:
        return False
    body = error_body(exc)
    message = str((body or {}).get("message") or "")
    return bool(_TASK_GONE.search(message) or (task_id and task_id in message))


def endpoint_missing(exc: Exception, task_id: str | None) -> bool:
    """True when update-v2 itself does not exist on this server, so v1 must be used instead.

    Servers from before update-v2 route ``POST /tasks/update-v2`` to ``GET /tasks/{taskId}`` and answer 405
    (``HttpRequestMethodNotSupportedException``); newer Spring answers 404 ``NoResourceFoundException`` ("No static
    resource ..."), a proxy a 404 page. A 404 that names the task is the task being gone, never a missing route:
    ``WorkflowExecutorOps.updateTask`` always names the task id it could not find.
    """
    status = getattr(exc, "status", None)
    return status == 405 or (status == 404 and not says_task_is_gone(exc, task_id))
