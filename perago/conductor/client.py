"""A thin adapter over conductor-python's HTTP client: the calls the worker makes, errors as perago errors.

Only this subpackage imports ``conductor``. Transport failures and 5xx/429 answers become retryable
:class:`~perago.errors.ConductorError`; 401/403 become a non-retryable one that says to check the credentials.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from conductor.client.configuration.configuration import Configuration
from conductor.client.configuration.settings.authentication_settings import AuthenticationSettings
from conductor.client.http.api.metadata_resource_api import MetadataResourceApi
from conductor.client.http.api.task_resource_api import TaskResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models.task import Task
from conductor.client.http.models.task_def import TaskDef
from conductor.client.http.models.task_result import TaskResult
from conductor.client.http.rest import ApiException

from perago.errors import ConductorError
from perago.settings import PeragoSettings

T = TypeVar("T")


class _DropConductorRecords(logging.Filter):
    """conductor-python names its loggers ``[<pid>] conductor.client...`` and installs a root stderr handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "conductor.client" not in record.name


def _quiet_conductor_logging() -> None:
    # perago reports the same failures itself (one clear error), so the SDK's raw stderr lines are dropped.
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _DropConductorRecords) for f in handler.filters):
            handler.addFilter(_DropConductorRecords())
    for name in list(logging.root.manager.loggerDict):
        if "conductor.client" in name:
            sdk_logger = logging.getLogger(name)
            sdk_logger.propagate = False
            if not sdk_logger.handlers:
                sdk_logger.addHandler(logging.NullHandler())


def build_configuration(settings: PeragoSettings) -> Configuration:
    """conductor-python configuration from perago settings (``CONDUCTOR_SERVER_URL`` includes ``/api``)."""
    auth = None
    if settings.conductor_auth_key and settings.conductor_auth_secret:
        auth = AuthenticationSettings(
            key_id=settings.conductor_auth_key, key_secret=settings.conductor_auth_secret.get_secret_value()
        )
    configuration = Configuration(
        server_api_url=settings.conductor_server_url.rstrip("/"), authentication_settings=auth
    )
    _quiet_conductor_logging()
    return configuration


def translate(exc: Exception, what: str, url: str) -> ConductorError:
    """A perago error for a failed Conductor call (no credentials in the message)."""
    if isinstance(exc, ApiException) and exc.status:
        status = int(exc.status)
        if status in (401, 403):
            return ConductorError(
                f"Conductor at {url} refused the credentials while trying to {what} (HTTP {status}); "
                "check CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET",
                retryable=False,
                status=status,
            )
        retryable = status == 429 or status >= 500 or bool(getattr(exc, "transient", False))
        return ConductorError(
            f"Conductor could not {what} (HTTP {status}: {exc.reason})", retryable=retryable, status=status
        )
    detail = getattr(exc, "reason", None) or exc
    return ConductorError(f"cannot reach Conductor at {url} to {what}: {detail}", retryable=True)


class ConductorApi:
    """The Conductor calls perago's worker makes."""

    def __init__(self, settings: PeragoSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = settings.conductor_server_url
        self._client = ApiClient(build_configuration(settings))
        self._tasks: Any = LightTaskRoutes(self._client)
        self._metadata = MetadataResourceApi(self._client)
        self._retries = settings.http_retries
        self._sleep = sleep
        self._use_v2 = True

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (ApiException, httpx.HTTPError, OSError) as exc:
            raise translate(exc, what, self.url) from exc

    def _retrying(self, what: str, fn: Callable[[], T]) -> T:
        for attempt in range(self._retries + 1):
            try:
                return self._call(what, fn)
            except ConductorError as exc:
                if not exc.retryable or attempt == self._retries:
                    raise
                self._sleep(min(5.0, 0.1 * 2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")  # pragma: no cover

    def batch_poll(self, task_type: str, worker_id: str, count: int, timeout_ms: int, domain: str | None) -> list[Task]:
        """Poll up to ``count`` tasks, waiting up to ``timeout_ms`` for the first."""
        kwargs: dict[str, Any] = {"workerid": worker_id, "count": count, "timeout": timeout_ms}
        if domain:
            kwargs["domain"] = domain
        tasks = self._call(f"poll {task_type}", lambda: self._tasks.batch_poll(task_type, **kwargs))
        return [t for t in tasks or [] if t is not None]

    def get_task(self, task_id: str) -> Task | None:
        """The task as the server has it now; None when it does not exist (404 or empty answer)."""
        try:
            return self._tasks.get_task(task_id)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise translate(exc, f"read task {task_id}", self.url) from exc
        except (httpx.HTTPError, OSError) as exc:
            raise translate(exc, f"read task {task_id}", self.url) from exc

    def update(self, result: TaskResult) -> Task | None:
        """Report a result (update-v2, falling back to v1 for good on 404/405); returns the next task if any."""
        what = f"update task {result.task_id}"
        if self._use_v2:
            try:
                return self._retrying(what, lambda: self._tasks.update_task_v2(body=result))
            except ConductorError as exc:
                if exc.status not in (404, 405):
                    raise
                self._use_v2 = False
        self._retrying(what, lambda: self._tasks.update_task(body=result))
        return None

    def extend_lease(self, task: Task, worker_id: str) -> None:
        """Tell Conductor the attempt is alive (moves only the task's updateTime)."""
        result = _in_progress(task, worker_id, extend_lease=True)
        self._call(f"extend the lease of task {task.task_id}", lambda: self._tasks.update_task(body=result))

    def release(self, task: Task, worker_id: str) -> None:
        """Hand a task back unstarted: IN_PROGRESS with ``callbackAfterSeconds=0`` re-queues the same task id."""
        result = _in_progress(task, worker_id, callback_after_seconds=0)
        self._retrying(f"hand back task {task.task_id}", lambda: self._tasks.update_task(body=result))

    def register_task_defs(self, defs: list[TaskDef]) -> None:
        """Create or update task definitions."""
        self._call("register task definitions", lambda: self._metadata.register_task_def(body=defs))

    def check(self) -> None:
        """Fail fast with a clear error when Conductor is unreachable, refuses the credentials or is mis-addressed."""
        try:
            self._call(
                "reach its task API", lambda: self._tasks.batch_poll("perago_connectivity_check", count=1, timeout=0)
            )
        except ConductorError as exc:
            if exc.status == 404:
                raise ConductorError(f"{exc}; {api_base_hint(self.url)}", retryable=False, status=404) from exc
            raise


def api_base_hint(url: str) -> str:
    """What to do when ``url`` answers 404 on Conductor's task routes."""
    # Conductor serves its REST API under /api (RequestMappingConstants.API_PREFIX in conductor's rest module).
    base = url.rstrip("/")
    if not base.endswith("/api"):
        return f"the URL must be Conductor's API base, ending in /api: try CONDUCTOR_SERVER_URL={base}/api"
    return "is this Conductor's API base? CONDUCTOR_SERVER_URL should look like http://localhost:8080/api"


def _in_progress(task: Task, worker_id: str, **extra: Any) -> TaskResult:
    """An IN_PROGRESS update of ``task`` (a lease extension or a hand-back)."""
    return TaskResult(
        workflow_instance_id=task.workflow_instance_id,
        task_id=task.task_id,
        status="IN_PROGRESS",
        worker_id=worker_id,
        **extra,
    )


# The hot path (poll, update-v2) reads tasks through the official client but skips its generic model deserializer,
# which walks every nested field (workflowTask, taskDefinition, ...) that perago never reads: on a 500-task run that
# deserializer was the worker's largest CPU cost.
_TASK_ATTRIBUTES = {
    key: attr for attr, key in Task.attribute_map.items() if key not in ("workflowTask", "taskDefinition")
}


def task_from_json(data: dict[str, Any]) -> Task:
    """A conductor-python ``Task`` from the server's JSON (top-level fields only)."""
    return Task(**{_TASK_ATTRIBUTES[key]: value for key, value in data.items() if key in _TASK_ATTRIBUTES})


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
        headers = {"Accept": "application/json"} | ({"Content-Type": "application/json"} if body is not None else {})
        return self._client.call_api(
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

    def batch_poll(self, tasktype: str, **query: Any) -> list[Task]:
        """``GET /tasks/poll/batch/{tasktype}``."""
        data = self._json("/tasks/poll/batch/{tasktype}", "GET", path={"tasktype": tasktype}, query=list(query.items()))
        return [task_from_json(item) for item in data or [] if item]

    def update_task_v2(self, body: TaskResult) -> Task | None:
        """``POST /tasks/update-v2``: the next task for this worker, if the server handed one out."""
        data = self._json("/tasks/update-v2", "POST", body=body)
        return task_from_json(data) if isinstance(data, dict) and data.get("taskId") else None
