"""``${...}`` parameter expressions, evaluated like conductor-oss's ParametersUtils.getTaskInputV2.

- The document an expression reads: ``workflow`` (input, output, status, workflowId, parentWorkflowId,
  parentWorkflowTaskId, workflowType, version, correlationId, reasonForIncompletion, schemaVersion,
  variables) and each task's reference name (without its ``__N`` loop suffix: the latest iteration wins)
  with input, output, taskType, status, referenceTaskName, retryCount, correlationId, pollCount,
  taskDefName, scheduledTime, startTime, endTime, workflowInstanceId, taskId, reasonForIncompletion,
  callbackAfterSeconds, workerId and iteration.
- The path is JSONPath (Jayway's dialect, read with jsonpath-ng): ``$.`` is optional, filters
  (``[?(@.x > 1)]``), wildcards and deep scans give lists, Jayway's trailing functions (``.length()``,
  ``.sum()`` ...) apply to the value before them; a path that does not resolve gives ``None``.
- A value that is exactly one expression is replaced by the object itself; inside a longer string
  each value is interpolated the way Java's ``Objects.toString`` prints it (``{a=1}``, ``[x, y]``).
- Expressions nest (``${workflow.input.${workflow.input.key}}``); ``$${`` escapes a literal ``${``;
  ``${CPEWF_TASK_ID}`` is the id of the task being scheduled; ``${}`` is the empty string.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext.parser import parse as jsonpath_parse

from perago.testing.conductor.model import TaskRecord, WorkflowRecord, remove_iteration

_INDEFINITE = re.compile(r"\[\s*\*\s*\]|\.\*|\.\.|\[\s*\?|\[[^\]]*[:,][^\]]*\]")
_FUNCTION = re.compile(r"\.(length|size|min|max|avg|sum|stddev|first|last|keys)\(\)\s*$")
_NUMBER_FUNCTIONS = {
    "min": min,
    "max": max,
    "sum": sum,
    "avg": lambda values: sum(values) / len(values),
}


def resolve(value: Any, document: dict[str, Any], task_id: str | None = None) -> Any:
    """Resolve every expression in ``value`` (a str, dict or list, recursively) against ``document``."""
    if isinstance(value, str):
        return _replace(value, document, task_id, 0)
    if isinstance(value, dict):
        return {key: resolve(item, document, task_id) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, document, task_id) for item in value]
    return value


def task_input(
    parameters: dict[str, Any] | None,
    document: dict[str, Any],
    task_def: dict[str, Any] | None = None,
    task_id: str | None = None,
) -> dict[str, Any]:
    """getTaskInputV2: the resolved parameters, completed (and null values replaced) by the inputTemplate."""
    params = copy.deepcopy(parameters or {})
    template = (task_def or {}).get("inputTemplate") or {}
    for key, default in template.items():
        params.setdefault(key, copy.deepcopy(default))
    resolved: dict[str, Any] = resolve(params, document, task_id)
    for key, item in resolved.items():
        if item is None and key in template:
            resolved[key] = copy.deepcopy(template[key])
    return resolved


def _expressions(text: str) -> list[tuple[int, int]]:
    """Spans of the top-level ``${...}`` in ``text`` (balanced braces, not preceded by ``$``)."""
    spans: list[tuple[int, int]] = []
    index = 0
    while (start := text.find("${", index)) >= 0:
        if start > 0 and text[start - 1] == "$":
            index = start + 2
            continue
        depth, position = 0, start + 1
        while position < len(text):
            if text[position] == "{":
                depth += 1
            elif text[position] == "}":
                depth -= 1
                if depth == 0:
                    break
            position += 1
        if depth != 0:
            break
        spans.append((start, position + 1))
        index = position + 1
    return spans


def _replace(text: str, document: dict[str, Any], task_id: str | None, depth: int) -> Any:
    spans = _expressions(text)
    values = [_evaluate(text[start + 2 : end - 1], document, task_id, depth) for start, end in spans]
    if len(spans) == 1 and spans[0] == (0, len(text)) and depth == 0:
        return values[0]
    pieces: list[str] = []
    cursor = 0
    for (start, end), value in zip(spans, values, strict=True):
        pieces += [text[cursor:start], java_str(value)]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces).replace("$${", "${")


def _evaluate(path: str, document: dict[str, Any], task_id: str | None, depth: int) -> Any:
    path = str(_replace(path, document, task_id, depth + 1))
    if not path.strip():
        return ""
    if path == "CPEWF_TASK_ID":
        return task_id
    return read(path, document)


def read(path: str, document: Any) -> Any:
    """Read a Jayway-style JSONPath (``$.`` optional) with SUPPRESS_EXCEPTIONS: a miss gives None (or [])."""
    path = path.strip()
    function = _FUNCTION.search(path)
    if function is not None:
        return _apply_function(function.group(1), read(path[: function.start()], document))
    if not path.startswith("$"):
        path = "$." + path
    compiled = _compile(path)
    if compiled is None:
        return None
    matches = [match.value for match in compiled.find(document)]
    if _INDEFINITE.search(path):
        return matches
    return matches[0] if matches else None


@functools.lru_cache(maxsize=2048)
def _compile(path: str) -> JSONPath | None:
    try:
        compiled: JSONPath = jsonpath_parse(path)
    except (JsonPathLexerError, JsonPathParserError, Exception):  # jsonpath-ng raises bare Exceptions too
        return None
    return compiled


def _apply_function(name: str, value: Any) -> Any:
    if name in ("length", "size"):
        return len(value) if isinstance(value, list | dict | str) else None
    if name == "keys":
        return list(value) if isinstance(value, dict) else None
    if not isinstance(value, list) or not value:
        return None
    if name == "first":
        return value[0]
    if name == "last":
        return value[-1]
    numbers = [item for item in value if isinstance(item, int | float) and not isinstance(item, bool)]
    if name == "stddev":
        mean = sum(numbers) / len(numbers)
        return float((sum((item - mean) ** 2 for item in numbers) / len(numbers)) ** 0.5)
    if not numbers:
        return None
    function: Any = _NUMBER_FUNCTIONS[name]
    return function(numbers)


def java_str(value: Any) -> str:
    """``Objects.toString`` of a JSON value as Jackson reads it: maps ``{k=v, ...}``, lists ``[a, b]``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value) if not value.is_integer() or abs(value) >= 1e7 else f"{value:.1f}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={java_str(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(java_str(item) for item in value) + "]"
    return str(value)


def document(workflow: WorkflowRecord) -> dict[str, Any]:
    """The document getTaskInputV2 reads: ``workflow`` and one entry per task reference name."""
    doc: dict[str, Any] = {
        "workflow": {
            "input": workflow.input,
            "output": workflow.output,
            "status": workflow.status,
            "workflowId": workflow.workflow_id,
            "parentWorkflowId": workflow.parent_workflow_id,
            "parentWorkflowTaskId": workflow.parent_workflow_task_id,
            "workflowType": workflow.name,
            "version": workflow.version,
            "correlationId": workflow.correlation_id,
            "reasonForIncompletion": workflow.reason_for_incompletion,
            "schemaVersion": workflow.definition.get("schemaVersion", 2),
            "variables": workflow.variables,
        }
    }
    latest: dict[str, TaskRecord] = {}
    for task in workflow.tasks:  # getTaskByRefName: the last task with that exact reference name
        latest[task.reference_task_name] = task
    for task in latest.values():
        doc[remove_iteration(task.reference_task_name) if task.loop_over else task.reference_task_name] = {
            "input": task.input_data,
            "output": task.output_data,
            "taskType": task.task_type,
            "status": task.status,
            "referenceTaskName": task.reference_task_name,
            "retryCount": task.retry_count,
            "correlationId": task.correlation_id,
            "pollCount": task.poll_count,
            "taskDefName": task.task_def_name,
            "scheduledTime": task.scheduled_time,
            "startTime": task.start_time,
            "endTime": task.end_time,
            "workflowInstanceId": task.workflow_instance_id,
            "taskId": task.task_id,
            "reasonForIncompletion": task.reason_for_incompletion,
            "callbackAfterSeconds": task.callback_after_seconds,
            "workerId": task.worker_id,
            "iteration": task.iteration,
        }
    return doc
