"""Bean validation of TaskDef and WorkflowDef, answered like conductor-oss's ValidationExceptionMapper.

A 400 with ``"message": "Validation failed, check below errors for detail."`` and ``validationErrors``
(``path``, ``message``, ``invalidValue``). The checks are the server's annotations: TaskDef ``@Min``
fields and TaskTimeoutConstraint; WorkflowDef ``@NotEmpty`` name and tasks, TaskReferenceNameUnique-
Constraint and WorkflowTaskTypeConstraint (the fields each system task type needs).
"""

from __future__ import annotations

import re
from typing import Any

from perago.testing.conductor import graph
from perago.testing.conductor.errors import ApiError

_REQUIRED = "{field} field is required for taskType: {type} taskName: {name}"
_DURATION = re.compile(
    r"\s*(?:(\d+)\s*(?:days?|d))?\s*(?:(\d+)\s*(?:hours?|hrs?|h))?\s*(?:(\d+)\s*(?:minutes?|mins?|m))?"
    r"\s*(?:(\d+)\s*(?:seconds?|secs?|s))?\s*",
    re.IGNORECASE,
)
Violation = tuple[str, str, Any]


def validation_error(violations: list[Violation]) -> ApiError:
    """The 400 ErrorResponse of a ConstraintViolationException."""
    error = ApiError(400, "Validation failed, check below errors for detail.")
    error.extra = {
        "validationErrors": [
            {"path": path, "message": message, "invalidValue": None if value is None else str(value)}
            for path, message, value in violations
        ]
    }
    return error


def task_def_violations(task_def: dict[str, Any], path: str) -> list[Violation]:
    """TaskDef constraints (``@Min`` fields, TaskTimeoutConstraint)."""
    name = task_def.get("name")
    if not name:
        return [(f"{path}.name", "TaskDef name cannot be null or empty", None)]
    found: list[Violation] = []
    minimums = {
        "retryCount": (0, "TaskDef retryCount: {v} must be >= 0"),
        "responseTimeoutSeconds": (1, "TaskDef responseTimeoutSeconds: {v} should be minimum 1 second"),
        "pollTimeoutSeconds": (0, "TaskDef pollTimeoutSeconds: {v} must be >= 0"),
        "backoffScaleFactor": (1, "Backoff scale factor. Applicable for LINEAR_BACKOFF"),
        "totalTimeoutSeconds": (0, "TaskDef totalTimeoutSeconds: {v} must be >= 0"),
    }
    for field, (minimum, message) in minimums.items():
        value = task_def.get(field)
        if isinstance(value, int | float) and value < minimum:
            found.append((f"{path}.{field}", message.format(v=value), value))
    timeout, response = task_def.get("timeoutSeconds") or 0, task_def.get("responseTimeoutSeconds") or 0
    if timeout > 0 and response > timeout:
        message = f"TaskDef: {name} responseTimeoutSeconds: {response} must be less than timeoutSeconds: {timeout}"
        found.append((path, message, None))
    total = task_def.get("totalTimeoutSeconds") or 0
    if timeout > 0 and total > 0 and timeout > total:
        message = (
            f"TaskDef: {name} timeoutSeconds: {timeout} must be less than or equal to totalTimeoutSeconds: {total}"
        )
        found.append((path, message, None))
    return found


def workflow_def_violations(workflow_def: Any, path: str) -> list[Violation]:
    """WorkflowDef constraints: name, tasks, unique reference names, each task's type-specific fields."""
    if not isinstance(workflow_def, dict):
        return [(path, "WorkflowDef cannot be null", None)]
    found: list[Violation] = []
    name = workflow_def.get("name")
    if not name:
        found.append((f"{path}.name", "WorkflowDef name cannot be null or empty", None))
    tasks = workflow_def.get("tasks") or []
    if not tasks:
        found.append((f"{path}.tasks", "WorkflowTask list cannot be empty", None))
    if workflow_def.get("schemaVersion", 2) != 2:
        version = workflow_def.get("schemaVersion")
        found.append((f"{path}.schemaVersion", f"workflowDef schemaVersion: {version} is only supported", version))
    seen: set[str] = set()
    for task in graph.collect(tasks):
        reference = task.get("taskReferenceName")
        if not task.get("name"):
            found.append((f"{path}.tasks", "WorkflowTask name cannot be empty or null", None))
        if not reference:
            found.append((f"{path}.tasks", "WorkflowTask taskReferenceName name cannot be empty or null", None))
        elif reference in seen:
            message = (
                f"taskReferenceName: {reference} should be unique across tasks for a given workflowDefinition: {name}"
            )
            found.append((path, message, None))
        seen.add(str(reference))
        found += [(f"{path}.tasks", message, None) for message in task_type_violations(task)]
    return found


def task_type_violations(task: dict[str, Any]) -> list[str]:
    """WorkflowTaskTypeConstraint: the fields a system task type needs."""
    checker = _CHECKS.get(str(task.get("type", "SIMPLE")))
    return checker(task) if checker is not None else []


def _required(task: dict[str, Any], field: str, task_type: str) -> str:
    return _REQUIRED.format(field=field, type=task_type, name=task.get("name"))


def _switch(task: dict[str, Any]) -> list[str]:
    found = []
    if task.get("evaluatorType") is None:
        found.append(_required(task, "evaluatorType", "SWITCH"))
    elif task.get("expression") is None:
        found.append(_required(task, "expression", "SWITCH"))
    found += _decision_cases(task, "SWITCH")
    return found


def _decision(task: dict[str, Any]) -> list[str]:
    found = []
    if task.get("caseValueParam") is None and task.get("caseExpression") is None:
        found.append(_required(task, "caseValueParam or caseExpression", "DECISION"))
    return found + _decision_cases(task, "DECISION")


def _decision_cases(task: dict[str, Any], task_type: str) -> list[str]:
    cases = task.get("decisionCases", {})  # Jackson keeps the field's empty default when it is absent
    if cases is None:
        return [_required(task, "decisionCases", task_type)]
    if not cases:
        return [f"decisionCases should have atleast one task for taskType: {task_type} taskName: {task.get('name')}"]
    return []


def _do_while(task: dict[str, Any]) -> list[str]:
    found = []
    if task.get("loopCondition") is None:
        found.append(_required(task, "loopCondition", "DO_WHILE"))
    if not task.get("loopOver"):
        found.append(_required(task, "loopOver", "DO_WHILE"))
    return found


def _dynamic_fork(task: dict[str, Any]) -> list[str]:
    if "forkTaskInputs" in (task.get("inputParameters") or {}) or task.get("dynamicForkJoinTasksParam"):
        return []
    return [
        _required(task, field, "FORK_JOIN_DYNAMIC")
        for field in ("dynamicForkTasksParam", "dynamicForkTasksInputParamName")
        if task.get(field) is None
    ]


def _needs_input(task_type: str, *keys: str) -> Any:
    def check(task: dict[str, Any]) -> list[str]:
        inputs = task.get("inputParameters") or {}
        template = (task.get("taskDefinition") or {}).get("inputTemplate") or {}
        if any(key in inputs or key in template for key in keys):
            return []
        return [_required(task, " or ".join(f"inputParameters.{key}" for key in keys[:2]), task_type)]

    return check


def _terminate(task: dict[str, Any]) -> list[str]:
    found = []
    if task.get("optional"):
        found.append(f"terminate task cannot be optional, taskName: {task.get('name')}")
    status = (task.get("inputParameters") or {}).get("terminationStatus")
    if status not in ("COMPLETED", "FAILED", "TERMINATED"):
        found.append(
            "terminate task must have an terminationStatus parameter and must be set to COMPLETED or FAILED, "
            f"taskName: {task.get('name')}"
        )
    return found


def _wait(task: dict[str, Any]) -> list[str]:
    inputs = task.get("inputParameters") or {}
    duration, until = str(inputs.get("duration") or ""), str(inputs.get("until") or "")
    if duration.strip() and until.strip():
        return ["Both 'duration' and 'until' specified. Please provide only one input"]
    if duration.strip() and not duration.startswith("${") and parse_duration_s(duration) is None:
        return ["Wait time specified is invalid.  The duration must be in "]
    return []


def parse_duration_s(text: str) -> int | None:
    """DateTimeUtils.parseDuration (``"1d 2h 3m 4s"``, ``"30 seconds"``) in seconds; None when invalid."""
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    days, hours, minutes, seconds = (int(group) if group else 0 for group in match.groups())
    return days * 86400 + (hours * 60 + minutes) * 60 + seconds


_CHECKS = {
    "SWITCH": _switch,
    "DECISION": _decision,
    "DO_WHILE": _do_while,
    "FORK_JOIN_DYNAMIC": _dynamic_fork,
    "DYNAMIC": lambda task: (
        [] if task.get("dynamicTaskNameParam") else [_required(task, "dynamicTaskNameParam", "DYNAMIC")]
    ),
    "HTTP": _needs_input("HTTP", "http_request", "uri", "method"),
    "JSON_JQ_TRANSFORM": _needs_input("JSON_JQ_TRANSFORM", "queryExpression"),
    "SUB_WORKFLOW": lambda task: (
        [] if task.get("subWorkflowParam") else [_required(task, "subWorkflowParam", "SUB_WORKFLOW")]
    ),
    "FORK_JOIN": lambda task: (
        []
        if task.get("forkTasks") != []
        else [f"forkTasks should have atleast one task for taskType: FORK_JOIN taskName: {task.get('name')}"]
    ),
    "TERMINATE": _terminate,
    "WAIT": _wait,
}
