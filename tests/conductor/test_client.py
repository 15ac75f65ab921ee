"""The Conductor adapter: update-v2 with v1 fallback, retries with backoff on transport errors, error translation.

Server behaviours relied on are cited from conductor-oss: ``TaskResource`` (update-v2), ``WorkflowExecutorOps``
(updateTask's 404), ``ApplicationExceptionMapper`` / ``ValidationExceptionMapper`` (error bodies).
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from conductor.client.http.models.task import Task
from conductor.client.http.models.task_result import TaskResult
from conductor.client.http.rest import ApiException

from perago.conductor.client import ConductorApi, translate
from perago.errors import ConductorError
from perago.settings import PeragoSettings

URL = "http://127.0.0.1:9/api"


class FakeTasks:
    """Stands in for conductor-python's TaskResourceApi: answers from a script of results or exceptions."""

    def __init__(self, v2: list[Any], v1: list[Any] | None = None, get: list[Any] | None = None) -> None:
        self.v2, self.v1, self.get = list(v2), list(v1 or []), list(get or [])
        self.calls: list[str] = []

    def _next(self, script: list[Any], name: str) -> Any:
        self.calls.append(name)
        answer = script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def update_task_v2(self, body: TaskResult) -> Any:
        return self._next(self.v2, "v2")

    def update_task(self, body: TaskResult) -> Any:
        return self._next(self.v1, "v1")

    def get_task(self, task_id: str) -> Any:
        return self._next(self.get, "get")


class FakeTime:
    """A clock that only the injected sleep moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def answer(status: int, body: Any = None, *, text: str | None = None, reason: str = "") -> ApiException:
    """An ApiException as conductor-python raises it for an HTTP error answer (body kept as text)."""
    return ApiException(status=status, reason=reason, body=json.dumps(body) if body is not None else text)


def api_with(tasks: FakeTasks, retries: int = 3) -> tuple[ConductorApi, list[float]]:
    sleeps: list[float] = []
    api = ConductorApi(PeragoSettings(conductor_server_url=URL, http_retries=retries), sleep=sleeps.append)
    api._tasks = tasks  # type: ignore[assignment]
    return api, sleeps


def result() -> TaskResult:
    return TaskResult(workflow_instance_id="wf", task_id="t1", status="COMPLETED", worker_id="w")


def test_update_v2_returns_the_next_task_after_transport_retries() -> None:
    next_task = Task(task_id="t2", task_def_name="double")
    tasks = FakeTasks([httpx.ConnectError("refused"), ApiException(status=503, reason="busy"), next_task])
    api, sleeps = api_with(tasks)
    assert api.update(result()) is next_task
    assert tasks.calls == ["v2", "v2", "v2"]
    assert len(sleeps) == 2  # exponential backoff (0.1 s, 0.2 s) with +-50 % jitter
    assert 0.05 <= sleeps[0] <= 0.15 and 0.1 <= sleeps[1] <= 0.3


def test_update_falls_back_to_v1_for_good_on_a_bare_404() -> None:
    tasks = FakeTasks([ApiException(status=404, reason="Not Found")], v1=["ok", "ok"])
    api, _ = api_with(tasks)
    assert api.update(result()) is None
    assert api.update(result()) is None
    assert tasks.calls == ["v2", "v1", "v1"]


def test_update_gives_up_after_the_retries_and_does_not_retry_client_errors() -> None:
    api, sleeps = api_with(FakeTasks([httpx.ReadTimeout("slow")] * 3), retries=2)
    with pytest.raises(ConductorError, match=re.escape(f"cannot reach Conductor at {URL} to update task t1")):
        api.update(result())
    assert len(sleeps) == 2
    tasks = FakeTasks([ApiException(status=400, reason="Bad Request")])
    api, sleeps = api_with(tasks)
    with pytest.raises(ConductorError, match=r"HTTP 400") as info:
        api.update(result())
    assert not info.value.retryable and sleeps == [] and tasks.calls == ["v2"]


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_say_what_to_check(status: int) -> None:
    error = translate(ApiException(status=status, reason="no"), "poll double", URL)
    assert not error.retryable
    assert str(error) == (
        f"Conductor at {URL} refused the credentials while trying to poll double (HTTP {status}); "
        "check CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET"
    )


def test_4xx_reports_the_servers_message_and_validation_errors() -> None:
    """ValidationExceptionMapper: a generic message, the violations in validationErrors."""
    body = {
        "status": 400,
        "message": "Validation failed, check below errors for detail.",
        "validationErrors": [
            {
                "path": "registerTaskDef.taskDefinitions[0].responseTimeoutSeconds",
                "message": "TaskDef responseTimeoutSeconds: 0 should be minimum 1 second",
                "invalidValue": "0",
            }
        ],
    }
    error = translate(answer(400, body, reason="Bad Request"), "register task definitions", URL)
    assert str(error) == (
        "Conductor could not register task definitions (HTTP 400 Bad Request: Validation failed, check below errors "
        "for detail. registerTaskDef.taskDefinitions[0].responseTimeoutSeconds: TaskDef responseTimeoutSeconds: 0 "
        "should be minimum 1 second (invalid value: 0))"
    )
    assert not error.retryable and error.status == 400


def test_4xx_without_an_error_response_says_what_it_can() -> None:
    """ApplicationExceptionMapper's message; a proxy's plain text is quoted, its HTML page is not."""
    gone = translate(answer(404, {"status": 404, "message": "No such taskType found by name: x"}), "read x", URL)
    assert str(gone) == "Conductor could not read x (HTTP 404: No such taskType found by name: x)"
    text = translate(answer(413, text="request  entity\n too large", reason="Payload Too Large"), "update t", URL)
    assert str(text) == "Conductor could not update t (HTTP 413 Payload Too Large: request entity too large)"
    html = translate(answer(404, text="<html><body>nginx</body></html>", reason="Not Found"), "update t", URL)
    assert str(html) == "Conductor could not update t (HTTP 404 Not Found)"


@pytest.mark.parametrize(
    "missing",
    [
        answer(405, {"status": 405, "message": "Request method 'POST' is not supported"}),
        answer(404, {"status": 404, "message": "No static resource api/tasks/update-v2."}),
        answer(404, text="<html><body><h1>404 Not Found</h1></body></html>"),
    ],
    ids=["405-old-server", "404-no-static-resource", "404-proxy-page"],
)
def test_update_falls_back_to_v1_when_update_v2_does_not_exist(missing: ApiException) -> None:
    """Old servers route POST /tasks/update-v2 to GET /tasks/{taskId} (405); newer Spring answers 404
    NoResourceFoundException (ApplicationExceptionMapper)."""
    tasks = FakeTasks([missing], v1=["t1", "t1"])
    api, _ = api_with(tasks)
    assert api.update(result()) is None and api.update(result()) is None
    assert tasks.calls == ["v2", "v1", "v1"]


def test_update_of_a_task_that_is_gone_does_not_fall_back() -> None:
    """WorkflowExecutorOps.updateTask: 404 "No such task found by id" when the task no longer exists."""
    gone = answer(404, {"status": 404, "message": "No such task found by id: t1"}, reason="Not Found")
    tasks = FakeTasks([gone, None], v1=[])
    api, sleeps = api_with(tasks)
    with pytest.raises(ConductorError, match=r"HTTP 404 Not Found: No such task found by id: t1") as info:
        api.update(result())
    assert not info.value.retryable and sleeps == []
    assert api.update(result()) is None  # update-v2 is still used for the next result
    assert tasks.calls == ["v2", "v2"]


def test_update_retries_transient_errors_for_the_whole_lease_left() -> None:
    """A long outage inside the attempt's lease is absorbed, far beyond http_retries."""
    time = FakeTime()
    tasks = FakeTasks([answer(502, text="bad gateway")] * 12 + [None])
    api = ConductorApi(PeragoSettings(conductor_server_url=URL, http_retries=2), sleep=time.sleep, clock=time.clock)
    api._tasks = tasks  # type: ignore[assignment]
    assert api.update(result(), within_s=120.0) is None
    assert len(time.sleeps) == 12 and time.now <= 120.0 and max(time.sleeps) <= 7.5


def test_get_task_retries_within_the_budget_then_gives_up() -> None:
    time = FakeTime()
    tasks = FakeTasks([], get=[answer(503)] * 50)
    api = ConductorApi(PeragoSettings(conductor_server_url=URL, http_retries=100), sleep=time.sleep, clock=time.clock)
    api._tasks = tasks  # type: ignore[assignment]
    with pytest.raises(ConductorError, match="HTTP 503"):
        api.get_task("t1", within_s=3.0)
    assert time.now <= 3.0 and 3 <= len(time.sleeps) < 10  # the budget, not http_retries, ended it
    tasks = FakeTasks([], get=[answer(502), answer(404, {"message": "No such task found by id: t1"})])
    api._tasks = tasks  # type: ignore[assignment]
    assert api.get_task("t1", within_s=3.0) is None and tasks.calls == ["get", "get"]
