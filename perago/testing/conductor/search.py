"""Finding workflows: ``/workflow/search``, correlated workflows, running ids, a workflow's task page.

Conductor answers searches from its index (Elasticsearch, OpenSearch or Postgres); the emulator filters
its own store with the subset of the query language that clients use: clauses joined by ``AND``, each
``field = value``, ``field IN (a, b)``, ``field > n`` or ``field < n`` on workflowType, workflowId,
correlationId, status, version, startTime, updateTime, endTime, parentWorkflowId, idempotencyKey;
``freeText`` (``*`` for all) matches ids, correlation ids, input and output; ``sort=field:ASC|DESC``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from perago.testing.conductor.errors import invalid
from perago.testing.conductor.model import WorkflowRecord

if TYPE_CHECKING:
    from perago.testing.conductor.engine import Engine

_CLAUSE = re.compile(r"^\s*(\w+)\s*(=|>|<|\bIN\b)\s*(.+?)\s*$", re.IGNORECASE)


def _value(raw: str) -> str:
    return raw.strip().strip("'\"")


def _matcher(clause: str) -> Any:
    match = _CLAUSE.match(clause)
    if match is None:
        raise invalid(f"search query: cannot read {clause!r}; use field = value, field IN (a,b), field > n")
    field, operator, raw = match.group(1), match.group(2).upper(), match.group(3)
    if operator == "IN":
        wanted = {_value(v) for v in raw.strip("() ").split(",")}
        return lambda summary: str(summary.get(field)) in wanted
    if operator == "=":
        return lambda summary: str(summary.get(field)) == _value(raw)
    bound = float(_value(raw))
    if operator == ">":
        return lambda summary: float(summary.get(field) or 0) > bound
    return lambda summary: float(summary.get(field) or 0) < bound


def _summaries(engine: Engine, query: str | None, free_text: str | None) -> list[dict[str, Any]]:
    matchers = [_matcher(c) for c in re.split(r"\s+AND\s+", query, flags=re.IGNORECASE) if c.strip()] if query else []
    found = []
    for workflow in engine.store.workflows.values():
        summary = workflow.summary()
        summary["parentWorkflowId"] = workflow.parent_workflow_id or ""
        if not all(match(summary) for match in matchers):
            continue
        if free_text and free_text.strip() not in ("", "*") and free_text not in json.dumps(summary, default=str):
            continue
        found.append(summary)
    return found


def search(
    engine: Engine, start: int, size: int, sort: str | None, free_text: str | None, query: str | None
) -> dict[str, Any]:
    """SearchResult<WorkflowSummary>."""
    with engine.lock:
        found = _summaries(engine, query, free_text)
    for key in reversed([s for s in (sort or "").split("|") if s]):
        field, _, direction = key.partition(":")
        found.sort(key=lambda s: (s.get(field) is None, str(s.get(field))), reverse=direction.upper() == "DESC")
    return {"totalHits": len(found), "results": found[start : start + size]}


def correlated(
    engine: Engine, name: str, correlation_id: str, include_closed: bool, include_tasks: bool
) -> list[dict[str, Any]]:
    """ExecutionService.getWorkflowInstances: a definition's workflows with one correlation id."""
    with engine.lock:
        return [
            w.to_json(include_tasks=include_tasks)
            for w in engine.store.workflows.values()
            if w.name == name and w.correlation_id == correlation_id and (include_closed or w.status == "RUNNING")
        ]


def running_ids(engine: Engine, name: str, version: int | None) -> list[str]:
    """``GET /workflow/running/{name}``: RUNNING workflows of a definition version (latest when not given)."""
    with engine.lock:
        if version is None:
            latest = engine.definitions.find_workflow_def(name)
            version = None if latest is None else int(latest["version"])
        return [
            w.workflow_id
            for w in engine.store.workflows.values()
            if _running(w) and w.name == name and w.version == version
        ]


def _running(workflow: WorkflowRecord) -> bool:
    return workflow.status == "RUNNING"


def task_page(engine: Engine, workflow_id: str, start: int, count: int, statuses: list[str]) -> dict[str, Any]:
    """WorkflowResource.getExecutionStatusTaskList: a page of the workflow's tasks, optionally by status."""
    tasks = engine.get_workflow(workflow_id)["tasks"]
    wanted = {s.upper() for s in statuses}
    if wanted:
        tasks = [t for t in tasks if t["status"] in wanted]
    begin = min(start, len(tasks))
    return {"totalHits": len(tasks), "results": tasks[begin : min(start + count, len(tasks))]}


def status_summary(engine: Engine, workflow_id: str, include_output: bool, include_variables: bool) -> dict[str, Any]:
    """WorkflowStatus: id, correlation id, status, optionally output and variables."""
    workflow = engine.get_workflow(workflow_id, include_tasks=False)
    summary = {k: workflow[k] for k in ("workflowId", "correlationId", "status")}
    if include_output:
        summary["output"] = workflow["output"]
    if include_variables:
        summary["variables"] = workflow["variables"]
    return summary
