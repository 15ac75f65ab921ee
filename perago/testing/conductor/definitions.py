"""Task and workflow definitions (the ``/api/metadata`` store), validated like Conductor does."""

from __future__ import annotations

import copy
import threading
from typing import Any

from perago.testing.conductor.errors import ApiError, invalid, not_found

TASK_DEF_DEFAULTS: dict[str, Any] = {
    "retryCount": 3,
    "timeoutSeconds": 0,
    "responseTimeoutSeconds": 3600,
    "timeoutPolicy": "TIME_OUT_WF",
    "retryLogic": "FIXED",
    "retryDelaySeconds": 60,
    "backoffScaleFactor": 1,
    "inputKeys": [],
    "outputKeys": [],
    "inputTemplate": {},
    "rateLimitPerFrequency": 0,
    "rateLimitFrequencyInSeconds": 1,
    "pollTimeoutSeconds": 0,
    "concurrentExecLimit": 0,
}
_TIMEOUT_POLICIES = {"RETRY", "TIME_OUT_WF", "ALERT_ONLY"}
_RETRY_LOGICS = {"FIXED", "EXPONENTIAL_BACKOFF", "LINEAR_BACKOFF"}


def normalize_task_def(raw: Any, now_ms: int) -> dict[str, Any]:
    """Validate a TaskDef JSON object and fill Conductor's defaults."""
    if not isinstance(raw, dict) or not raw.get("name"):
        raise invalid("TaskDef name cannot be null or empty")
    task_def = {**TASK_DEF_DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}
    name = task_def["name"]
    if task_def["timeoutPolicy"] not in _TIMEOUT_POLICIES:
        raise invalid(f"TaskDef {name}: timeoutPolicy must be one of {sorted(_TIMEOUT_POLICIES)}")
    if task_def["retryLogic"] not in _RETRY_LOGICS:
        raise invalid(f"TaskDef {name}: retryLogic must be one of {sorted(_RETRY_LOGICS)}")
    timeout, response_timeout = task_def["timeoutSeconds"], task_def["responseTimeoutSeconds"]
    if timeout > 0 and response_timeout > timeout:
        raise invalid(
            f"TaskDef: {name} responseTimeoutSeconds: {response_timeout} must be less than timeoutSeconds: {timeout}"
        )
    if task_def["retryCount"] < 0:
        raise invalid(f"TaskDef: {name} retryCount: {task_def['retryCount']} must be >= 0")
    task_def.setdefault("createTime", now_ms)
    task_def["updateTime"] = now_ms
    return task_def


def iter_workflow_tasks(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return every WorkflowTask in ``tasks``, including those nested in fork branches."""
    found: list[dict[str, Any]] = []
    for task in tasks:
        found.append(task)
        for branch in task.get("forkTasks") or []:
            found.extend(iter_workflow_tasks(branch))
    return found


def normalize_workflow_def(raw: Any, now_ms: int) -> dict[str, Any]:
    """Validate a WorkflowDef JSON object and fill defaults (version 1, SIMPLE task types)."""
    if not isinstance(raw, dict) or not raw.get("name"):
        raise invalid("WorkflowDef name cannot be null or empty")
    workflow_def = copy.deepcopy({k: v for k, v in raw.items() if v is not None})
    name = workflow_def["name"]
    workflow_def.setdefault("version", 1)
    workflow_def.setdefault("inputParameters", [])
    workflow_def.setdefault("outputParameters", {})
    workflow_def.setdefault("schemaVersion", 2)
    workflow_def.setdefault("timeoutPolicy", "ALERT_ONLY")
    workflow_def.setdefault("timeoutSeconds", 0)
    tasks = workflow_def.get("tasks") or []
    if not tasks:
        raise invalid(f"WorkflowDef {name}: tasks cannot be empty")
    references: set[str] = set()
    for task in iter_workflow_tasks(tasks):
        task.setdefault("type", "SIMPLE")
        task.setdefault("inputParameters", {})
        task.setdefault("optional", False)
        reference = task.get("taskReferenceName")
        if not task.get("name") or not reference:
            raise invalid(f"WorkflowDef {name}: every task needs a name and a taskReferenceName")
        if reference in references:
            raise invalid(f"WorkflowDef {name}: taskReferenceName {reference} is used more than once")
        references.add(reference)
    workflow_def.setdefault("createTime", now_ms)
    workflow_def["updateTime"] = now_ms
    return workflow_def


class Definitions:
    """Thread-safe store of task definitions and versioned workflow definitions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._task_defs: dict[str, dict[str, Any]] = {}
        self._workflow_defs: dict[str, dict[int, dict[str, Any]]] = {}

    def put_task_defs(self, raws: list[Any], now_ms: int) -> None:
        """Create or replace task definitions (all validated before any is stored)."""
        task_defs = [normalize_task_def(raw, now_ms) for raw in raws]
        with self._lock:
            for task_def in task_defs:
                previous = self._task_defs.get(task_def["name"])
                if previous is not None:
                    task_def["createTime"] = previous["createTime"]
                self._task_defs[task_def["name"]] = task_def

    def task_def(self, name: str) -> dict[str, Any] | None:
        """Return the task definition called ``name``, or None."""
        with self._lock:
            return self._task_defs.get(name)

    def get_task_def(self, name: str) -> dict[str, Any]:
        """Return the task definition called ``name`` or raise 404."""
        task_def = self.task_def(name)
        if task_def is None:
            raise not_found(f"No such taskType found by name: {name}")
        return task_def

    def all_task_defs(self) -> list[dict[str, Any]]:
        """Return every task definition."""
        with self._lock:
            return list(self._task_defs.values())

    def delete_task_def(self, name: str) -> None:
        """Remove a task definition or raise 404."""
        with self._lock:
            if self._task_defs.pop(name, None) is None:
                raise not_found(f"No such taskType found by name: {name}")

    def put_workflow_defs(self, raws: list[Any], now_ms: int, *, overwrite: bool = True) -> None:
        """Create or replace workflow definitions; 409 when one exists and ``overwrite`` is false."""
        workflow_defs = [normalize_workflow_def(raw, now_ms) for raw in raws]
        with self._lock:
            for workflow_def in workflow_defs:
                versions = self._workflow_defs.setdefault(workflow_def["name"], {})
                if workflow_def["version"] in versions and not overwrite:
                    raise ApiError(
                        409,
                        f"Workflow with name: {workflow_def['name']} and version: "
                        f"{workflow_def['version']} already exists; pass overwrite=true to replace it",
                    )
                versions[workflow_def["version"]] = workflow_def

    def get_workflow_def(self, name: str, version: int | None = None) -> dict[str, Any]:
        """Return the workflow definition (latest version when ``version`` is None) or raise 404."""
        with self._lock:
            versions = self._workflow_defs.get(name, {})
            if versions:
                chosen = max(versions) if version is None else version
                if chosen in versions:
                    return versions[chosen]
        raise not_found(f"No such workflow defined. name={name}, version={version}")

    def all_workflow_defs(self) -> list[dict[str, Any]]:
        """Return every version of every workflow definition."""
        with self._lock:
            return [d for versions in self._workflow_defs.values() for d in versions.values()]

    def delete_workflow_def(self, name: str, version: int) -> None:
        """Remove one version of a workflow definition or raise 404."""
        with self._lock:
            if self._workflow_defs.get(name, {}).pop(version, None) is None:
                raise not_found(f"No such workflow defined. name={name}, version={version}")
