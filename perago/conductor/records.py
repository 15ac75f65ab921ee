"""Conductor's records of a workflow, as ``history`` and ``explain`` read them.

Reads answer the server's JSON as plain dicts (``response_type="object"``): the CLIs read a handful of fields, and
the generated models would drop what they do not know. Calls go through the worker's :class:`ConductorApi`
(authentication, HTTP/2 client, retries of transient failures); failures are :class:`~perago.errors.ConductorError`.
"""

from __future__ import annotations

from typing import Any

from perago.conductor.client import ConductorApi


class ConductorRecords(ConductorApi):
    """The workflow, task and task-log reads of ``history``/``explain``."""

    def workflow(self, workflow_id: str) -> dict[str, Any] | None:
        """The workflow with its tasks (``GET /workflow/{id}?includeTasks=true``); None when Conductor has none."""
        path, query = {"workflowId": workflow_id}, [("includeTasks", True)]
        found = self._get_json(f"read workflow {workflow_id}", "/workflow/{workflowId}", path, query)
        return found if isinstance(found, dict) else None

    def task(self, task_id: str) -> dict[str, Any] | None:
        """The task (``GET /tasks/{id}``); None when Conductor has none."""
        found = self._get_json(f"read task {task_id}", "/tasks/{taskId}", {"taskId": task_id})
        return found if isinstance(found, dict) and found.get("taskId") else None

    def task_logs(self, task_id: str) -> list[str]:
        """The task's log entries, oldest first (``GET /tasks/{id}/log``; the server answers 204 when it has none).

        The server reads them from its index (``ExecutionDAOFacade.getTaskExecutionLogs``): with indexing off
        (``conductor.indexing.enabled=false``) or ``conductor.app.taskExecLogIndexingEnabled=false`` the answer is
        always empty, and an Elasticsearch index answers at most ``conductor.elasticsearch.taskLogResultLimit``
        entries (10 by default).
        """
        entries = self._get_json(f"read the log of task {task_id}", "/tasks/{taskId}/log", {"taskId": task_id}) or []
        ordered = sorted((e for e in entries if isinstance(e, dict)), key=lambda e: int(e.get("createdTime") or 0))
        return [str(entry.get("log") or "") for entry in ordered]
