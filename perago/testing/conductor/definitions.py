"""Task and workflow definitions (the ``/api/metadata`` store), as conductor-oss's MetadataServiceImpl.

- ``POST /metadata/taskdefs`` creates or replaces; ``PUT /metadata/taskdefs`` updates an existing one
  (404 ``No such task by name X``); invalid definitions answer 400 with ``validationErrors``.
- ``POST /metadata/workflow`` creates (409 when the version exists unless ``overwrite=true``);
  ``PUT /metadata/workflow`` creates or updates a list and answers a BulkResponse.
- :meth:`Definitions.populate` is MetadataMapperService.populateTaskDefinitions: a workflow snapshots, at
  start, each task's registered TaskDef, or an ad-hoc ``new TaskDef(name)`` when none is registered
  (non-SIMPLE tasks get retryCount 0 and responseTimeoutSeconds 0), and pins unversioned sub-workflows
  to their latest version.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from perago.testing.conductor import graph
from perago.testing.conductor.errors import ApiError, invalid, not_found
from perago.testing.conductor.validation import task_def_violations, validation_error, workflow_def_violations

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
    "totalTimeoutSeconds": 0,
}
_ENUMS = {
    "timeoutPolicy": {"RETRY", "TIME_OUT_WF", "ALERT_ONLY"},
    "retryLogic": {"FIXED", "EXPONENTIAL_BACKOFF", "LINEAR_BACKOFF"},
}


def normalize_task_def(raw: Any, now_ms: int, path: str = "taskDef") -> dict[str, Any]:
    """Validate a TaskDef JSON object (400 with validationErrors) and fill Conductor's defaults."""
    if not isinstance(raw, dict):
        raise invalid(f"{path}: a TaskDef must be a JSON object")
    task_def = {**TASK_DEF_DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}
    for field, allowed in _ENUMS.items():
        if task_def[field] not in allowed:
            raise invalid(
                f"TaskDef {task_def.get('name')}: {field} must be one of {sorted(allowed)}, got {task_def[field]!r}"
            )
    violations = task_def_violations(task_def, path)
    if violations:
        raise validation_error(violations)
    task_def.setdefault("createTime", now_ms)
    return task_def


def adhoc_task_def(name: str, task_type: str) -> dict[str, Any]:
    """MetadataMapperService's ``new TaskDef(name)`` for a task without a registered definition."""
    task_def = {"name": name, **copy.deepcopy(TASK_DEF_DEFAULTS)}
    if task_type != "SIMPLE":  # system tasks are not retried or timed out by an ad-hoc definition
        task_def.update(retryCount=0, responseTimeoutSeconds=0)
    return task_def


def normalize_workflow_def(raw: Any, now_ms: int, path: str = "workflowDef") -> dict[str, Any]:
    """Validate a WorkflowDef (400 with validationErrors) and fill defaults (version 1, SIMPLE tasks)."""
    violations = workflow_def_violations(raw, path)
    if violations:
        raise validation_error(violations)
    workflow_def = copy.deepcopy({k: v for k, v in raw.items() if v is not None})
    workflow_def.setdefault("version", 1)
    workflow_def.setdefault("inputParameters", [])
    workflow_def.setdefault("outputParameters", {})
    workflow_def.setdefault("schemaVersion", 2)
    workflow_def.setdefault("restartable", True)
    workflow_def.setdefault("timeoutPolicy", "ALERT_ONLY")
    workflow_def.setdefault("timeoutSeconds", 0)
    workflow_def.setdefault("variables", {})
    for task in graph.collect(workflow_def["tasks"]):
        task.setdefault("type", "SIMPLE")
        task.setdefault("inputParameters", {})
        task.setdefault("optional", False)
        task.setdefault("startDelay", 0)
    workflow_def.setdefault("createTime", now_ms)
    return workflow_def


class Definitions:
    """Thread-safe store of task definitions and versioned workflow definitions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._task_defs: dict[str, dict[str, Any]] = {}
        self._workflow_defs: dict[str, dict[int, dict[str, Any]]] = {}

    # -- task definitions ------------------------------------------------------------------------

    def put_task_defs(self, raws: list[Any], now_ms: int) -> None:
        """Create or replace task definitions (all validated before any is stored)."""
        if not raws:
            raise validation_error([("registerTaskDef.taskDefinitions", "TaskDefList is empty", None)])
        task_defs = [
            normalize_task_def(raw, now_ms, f"registerTaskDef.taskDefinitions[{index}]")
            for index, raw in enumerate(raws)
        ]
        with self._lock:
            for task_def in task_defs:
                self._task_defs[task_def["name"]] = task_def

    def update_task_def(self, raw: Any, now_ms: int) -> None:
        """PUT: replace an existing definition (404 ``No such task by name X`` when there is none)."""
        task_def = normalize_task_def(raw, now_ms, "updateTaskDef.taskDefinition")
        with self._lock:
            existing = self._task_defs.get(task_def["name"])
            if existing is None:
                raise not_found(f"No such task by name {task_def['name']}")
            task_def["createTime"] = existing.get("createTime", now_ms)
            task_def["updateTime"] = now_ms
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

    # -- workflow definitions --------------------------------------------------------------------

    def create_workflow_def(self, raw: Any, now_ms: int, *, overwrite: bool) -> None:
        """POST: create; 409 when the version exists unless ``overwrite``."""
        workflow_def = normalize_workflow_def(raw, now_ms, "registerWorkflowDef.workflowDef")
        with self._lock:
            versions = self._workflow_defs.setdefault(workflow_def["name"], {})
            if workflow_def["version"] in versions and not overwrite:
                raise ApiError(409, f"Workflow with {workflow_def['name']}.{workflow_def['version']} already exists!")
            versions[workflow_def["version"]] = workflow_def

    def update_workflow_defs(self, raws: list[Any], now_ms: int) -> dict[str, Any]:
        """PUT: create or update each definition; return the BulkResponse (all validated first)."""
        if not raws:
            raise validation_error([("updateWorkflowDef.workflowDefList", "WorkflowDefList is empty", None)])
        workflow_defs = [
            normalize_workflow_def(raw, now_ms, f"updateWorkflowDef.workflowDefList[{index}]")
            for index, raw in enumerate(raws)
        ]
        with self._lock:
            for workflow_def in workflow_defs:
                workflow_def["updateTime"] = now_ms
                self._workflow_defs.setdefault(workflow_def["name"], {})[workflow_def["version"]] = workflow_def
        return {
            "bulkErrorResults": {},
            "bulkSuccessfulResults": [d["name"] for d in workflow_defs],
            "message": "Bulk Request has been processed.",
        }

    def find_workflow_def(self, name: str, version: int | None = None) -> dict[str, Any] | None:
        """The definition (latest version when ``version`` is None), or None."""
        with self._lock:
            versions = self._workflow_defs.get(name) or {}
            if not versions:
                return None
            return versions.get(max(versions) if version is None else version)

    def get_workflow_def(self, name: str, version: int | None = None) -> dict[str, Any]:
        """Return the workflow definition or raise 404 (MetadataServiceImpl.getWorkflowDef)."""
        found = self.find_workflow_def(name, version)
        if found is None:
            raise not_found(f"No such workflow found by name: {name}, version: {version}")
        return found

    def all_workflow_defs(self) -> list[dict[str, Any]]:
        """Return every version of every workflow definition."""
        with self._lock:
            return [d for versions in self._workflow_defs.values() for d in versions.values()]

    def names_and_versions(self) -> dict[str, list[dict[str, Any]]]:
        """``GET /metadata/workflow/names-and-versions``: WorkflowDefSummary lists per name."""
        with self._lock:
            return {
                name: [
                    {"name": name, "version": v, "createTime": d.get("createTime"), "updateTime": d.get("updateTime")}
                    for v, d in sorted(versions.items())
                ]
                for name, versions in self._workflow_defs.items()
                if versions
            }

    def delete_workflow_def(self, name: str, version: int) -> None:
        """Remove one version of a workflow definition or raise 404."""
        with self._lock:
            if self._workflow_defs.get(name, {}).pop(version, None) is None:
                raise not_found(f"No such workflow definition: {name} version: {version}")

    # -- snapshot at start -----------------------------------------------------------------------

    def populate(self, definition: dict[str, Any]) -> dict[str, Any]:
        """A private copy of ``definition`` with every task's TaskDef and sub-workflow version filled in."""
        definition = copy.deepcopy(definition)
        for task in graph.collect(definition.get("tasks") or []):
            self.populate_task(task)
        return definition

    def populate_task(self, task: dict[str, Any]) -> None:
        """populateWorkflowTaskWithDefinition for one workflow task (in place)."""
        inline = task.get("taskDefinition")
        if inline:  # Jackson fills a TaskDef's field defaults for an inline definition too
            task["taskDefinition"] = {**TASK_DEF_DEFAULTS, "name": task.get("name"), **inline}
        elif task.get("name"):
            registered = self.task_def(str(task["name"]))
            task["taskDefinition"] = (
                copy.deepcopy(registered)
                if registered
                else adhoc_task_def(str(task["name"]), task.get("type", "SIMPLE"))
            )
        params = task.get("subWorkflowParam")
        if task.get("type") == "SUB_WORKFLOW" and isinstance(params, dict) and _unversioned(params):
            latest = self.find_workflow_def(str(params.get("name")))
            if latest is None:
                raise invalid(
                    f"The Task {params.get('name')} defined as a sub-workflow has no workflow definition available "
                )
            params["version"] = latest["version"]


def _unversioned(params: dict[str, Any]) -> bool:
    """A sub-workflow reference by a literal name without a version (populateVersionForSubWorkflow)."""
    return (
        params.get("version") is None
        and params.get("workflowDefinition") is None
        and "${" not in str(params.get("name"))
    )
