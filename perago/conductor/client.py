"""A thin adapter over conductor-python's HTTP client: the calls the worker makes, errors as perago errors.

Only this subpackage imports ``conductor``. Transport failures and 5xx/429 answers become retryable
:class:`~perago.errors.ConductorError` (retried as :mod:`perago.conductor.retry` says); 401/403 become a
non-retryable one that says to check the credentials; other 4xx carry the server's message and validation errors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from conductor.client.configuration.configuration import Configuration
from conductor.client.configuration.settings.authentication_settings import AuthenticationSettings
from conductor.client.http.api.metadata_resource_api import MetadataResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models.task import Task
from conductor.client.http.models.task_def import TaskDef
from conductor.client.http.models.task_result import TaskResult
from conductor.client.http.rest import ApiException
from loguru import logger

from perago.conductor.answers import endpoint_missing, server_detail
from perago.conductor.light import LightTaskRoutes, request_json
from perago.conductor.retry import Retry
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
        return ConductorError(f"Conductor could not {what} ({server_detail(exc)})", retryable=retryable, status=status)
    detail = getattr(exc, "reason", None) or exc
    return ConductorError(f"cannot reach Conductor at {url} to {what}: {detail}", retryable=True)


class _EndpointMissing(Exception):
    """The server has no update-v2 endpoint (see :func:`perago.conductor.answers.endpoint_missing`)."""


class ConductorApi:
    """The Conductor calls perago's worker makes.

    ``within_s`` on the calls an attempt makes is the attempt's remaining lease: transient failures are retried
    for that long (:class:`perago.conductor.retry.Retry`); without it they are retried ``http_retries`` times.
    """

    def __init__(
        self,
        settings: PeragoSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = settings.conductor_server_url
        self._client = ApiClient(build_configuration(settings))
        self._tasks: Any = LightTaskRoutes(self._client)
        self._metadata = MetadataResourceApi(self._client)
        self._retry = Retry(settings.http_retries, sleep, clock)
        self._use_v2 = True

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (ApiException, httpx.HTTPError, OSError) as exc:
            raise translate(exc, what, self.url) from exc

    def _retrying(self, what: str, fn: Callable[[], T], within_s: float | None = None) -> T:
        return self._retry.run(lambda: self._call(what, fn), within_s)

    def batch_poll(self, task_type: str, worker_id: str, count: int, timeout_ms: int, domain: str | None) -> list[Task]:
        """Poll up to ``count`` tasks, waiting up to ``timeout_ms`` for the first (the poll loop backs off itself)."""
        kwargs: dict[str, Any] = {"workerid": worker_id, "count": count, "timeout": timeout_ms}
        if domain:
            kwargs["domain"] = domain
        tasks = self._call(f"poll {task_type}", lambda: self._tasks.batch_poll(task_type, **kwargs))
        return [t for t in tasks or [] if t is not None]

    def get_task(self, task_id: str, within_s: float | None = None) -> Task | None:
        """The task as the server has it now; None when it does not exist.

        ``TaskResource.getTask`` answers 404 "Task not found for taskId" (2.x servers: an empty 204).
        """

        def read() -> Task | None:
            try:
                task: Task | None = self._tasks.get_task(task_id)
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise
            return task

        return self._retrying(f"read task {task_id}", read, within_s)

    def update(self, result: TaskResult, within_s: float | None = None) -> Task | None:
        """Report a result; returns the next task if the server handed one out.

        update-v2 first; v1 from then on only if the server has no update-v2 (405, or a 404 that does not name the
        task): a 404 about the task itself means it is gone (``WorkflowExecutorOps.updateTask``) and is raised.
        """
        what = f"update task {result.task_id}"
        if self._use_v2:
            try:
                return self._retrying(what, lambda: self._update_v2(result), within_s)
            except _EndpointMissing as exc:
                logger.info("Conductor at {} has no update-v2 ({}); using POST /tasks from now on", self.url, exc)
                self._use_v2 = False
        self._retrying(what, lambda: self._tasks.update_task(body=result), within_s)
        return None

    def _update_v2(self, result: TaskResult) -> Task | None:
        try:
            task: Task | None = self._tasks.update_task_v2(body=result)
        except ApiException as exc:
            if endpoint_missing(exc, result.task_id):
                raise _EndpointMissing(server_detail(exc)) from exc
            raise
        return task

    def extend_lease(self, task: Task, worker_id: str, within_s: float | None = None) -> None:
        """Tell Conductor the attempt is alive (moves only the task's updateTime)."""
        result = _in_progress(task, worker_id, extend_lease=True)
        what = f"extend the lease of task {task.task_id}"
        self._retrying(what, lambda: self._tasks.update_task(body=result), within_s)

    def release(self, task: Task, worker_id: str) -> None:
        """Hand a task back: IN_PROGRESS with ``callbackAfterSeconds=0`` re-queues the same task id at once."""
        result = _in_progress(task, worker_id, callback_after_seconds=0)
        self._retrying(f"hand back task {task.task_id}", lambda: self._tasks.update_task(body=result))

    def _get_json(self, what: str, route: str, path: dict[str, str], query: list[tuple[str, Any]] | None = None) -> Any:
        """``GET route`` as plain JSON, transient failures retried: None for 204 No Content and for 404 Not Found."""
        try:
            return self._retrying(what, lambda: request_json(self._client, route, "GET", path=path, query=query))
        except ConductorError as exc:
            if exc.status == 404:
                return None
            raise

    def add_log(self, task_id: str, text: str) -> None:
        """Append one entry to a task's log (``POST /tasks/{id}/log``, stamped with the server's time).

        Raises:
            ConductorError: Conductor could not be reached or refused the entry (after retries of transient errors).
        """
        self._retrying(f"add to the log of task {task_id}", lambda: self._tasks.log(body=text, task_id=task_id))

    def get_task_def(self, name: str) -> dict[str, Any] | None:
        """The server's definition of task type ``name`` as JSON; None when it has none (404)."""
        found = self._get_json(f"read the task definition {name}", "/metadata/taskdefs/{name}", {"name": name})
        return found if isinstance(found, dict) else None

    def register_task_defs(self, defs: list[TaskDef]) -> None:
        """Create (or overwrite) task definitions: ``POST /metadata/taskdefs``."""
        names = ", ".join(d.name for d in defs)
        self._retrying(f"register task definitions ({names})", lambda: self._metadata.register_task_def(body=defs))

    def update_task_def(self, definition: TaskDef) -> None:
        """Update an existing task definition: ``PUT /metadata/taskdefs``."""
        what = f"update the task definition {definition.name}"
        self._retrying(what, lambda: self._metadata.update_task_def(body=definition))

    def to_json(self, model: Any) -> Any:
        """A conductor-python model as the JSON it is sent as (the server's field names)."""
        return self._client.sanitize_for_serialization(model)

    def check(self) -> None:
        """Fail fast with a clear error when Conductor is unreachable, refuses the credentials or is mis-addressed.

        Transient failures (a 502 from a proxy while Conductor restarts) are retried ``http_retries`` times; a 404
        is not retried and gets a hint about the API base.
        """
        try:
            self._retrying(
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
