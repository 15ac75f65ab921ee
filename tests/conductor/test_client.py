"""The Conductor adapter: update-v2 with v1 fallback, retries with backoff on transport errors, error translation."""

from __future__ import annotations

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

    def __init__(self, v2: list[Any], v1: list[Any] | None = None) -> None:
        self.v2, self.v1 = list(v2), list(v1 or [])
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


def test_update_falls_back_to_v1_for_good_on_404() -> None:
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
