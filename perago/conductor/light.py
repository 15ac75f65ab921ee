"""The worker's hot-path Conductor routes, answered as plain JSON through conductor-python's own ``ApiClient``."""

from __future__ import annotations

from typing import Any

from conductor.client.http.api.task_resource_api import TaskResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models.task import Task
from conductor.client.http.models.task_result import TaskResult

# The hot path (poll, update-v2) reads tasks through the official client but skips its generic model deserializer,
# which walks every nested field (workflowTask, taskDefinition, ...) that perago never reads: on a 500-task run that
# deserializer was the worker's largest CPU cost.
_TASK_ATTRIBUTES = {
    key: attr for attr, key in Task.attribute_map.items() if key not in ("workflowTask", "taskDefinition")
}


def task_from_json(data: dict[str, Any]) -> Task:
    """A conductor-python ``Task`` from the server's JSON (top-level fields only)."""
    return Task(**{_TASK_ATTRIBUTES[key]: value for key, value in data.items() if key in _TASK_ATTRIBUTES})


def request_json(
    client: ApiClient, route: str, method: str, *, path: Any = None, query: Any = None, body: Any = None
) -> Any:
    """One call through the official ``ApiClient`` (auth, HTTP/2 client), answered as plain JSON."""
    headers = {"Accept": "application/json"} | ({"Content-Type": "application/json"} if body is not None else {})
    return client.call_api(
        route,
        method,
        path or {},
        query or [],
        headers,
        body=body,
        response_type="object",
        auth_settings=[],
        _return_http_data_only=True,
    )


class LightTaskRoutes:
    """conductor-python's ``TaskResourceApi`` whose hot-path calls (batch poll, update-v2) answer light Tasks.

    They go through the same ``ApiClient`` (auth, retries, HTTP/2 client) with ``response_type="object"`` and build
    each ``Task`` from its top-level fields only.
    """

    def __init__(self, client: ApiClient) -> None:
        self._client = client
        self._api = TaskResourceApi(client)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def _json(self, route: str, method: str, *, path: Any = None, query: Any = None, body: Any = None) -> Any:
        return request_json(self._client, route, method, path=path, query=query, body=body)

    def batch_poll(self, tasktype: str, **query: Any) -> list[Task]:
        """``GET /tasks/poll/batch/{tasktype}``."""
        data = self._json("/tasks/poll/batch/{tasktype}", "GET", path={"tasktype": tasktype}, query=list(query.items()))
        return [task_from_json(item) for item in data or [] if item]

    def update_task_v2(self, body: TaskResult) -> Task | None:
        """``POST /tasks/update-v2``: the next task for this worker, if the server handed one out."""
        data = self._json("/tasks/update-v2", "POST", body=body)
        return task_from_json(data) if isinstance(data, dict) and data.get("taskId") else None
