"""The adapter over real HTTP through conductor-python: answers the emulator does not give come from a stub.

Server behaviours: ``TaskResource.updateTaskV2`` (missing on old servers: 405 from ``GET /tasks/{taskId}``),
``WorkflowExecutorOps.updateTask`` (404 "No such task found by id"), ``ValidationExceptionMapper`` (400 with
``validationErrors``), ``TaskResource.batchPoll`` (the start-up check).
"""

from __future__ import annotations

import pytest
from conductor.client.http.models.task_result import TaskResult

from perago.conductor.client import ConductorApi
from perago.conductor.registration import task_def_for
from perago.errors import ConductorError
from perago.settings import PeragoSettings
from perago.testing.conductor import ConductorEmulator
from tests.conductor.free_tasks import double
from tests.conductor.stub import StubConductor
from tests.conductor.test_client import FakeTime


def result() -> TaskResult:
    return TaskResult(workflow_instance_id="wf", task_id="t1", status="COMPLETED", worker_id="w")


def api_for(url: str, time: FakeTime | None = None) -> ConductorApi:
    time = time or FakeTime()
    return ConductorApi(PeragoSettings(conductor_server_url=url), sleep=time.sleep, clock=time.clock)


def test_an_old_server_without_update_v2_gets_v1_from_then_on() -> None:
    with StubConductor() as stub:
        stub.reply("POST", "/tasks/update-v2", 405, {"status": 405, "message": "Request method 'POST' not supported"})
        stub.reply("POST", "/tasks", 200, text="t1")
        api = api_for(stub.url)
        assert api.update(result()) is None and api.update(result()) is None
        assert len(stub.calls("POST", "/tasks/update-v2")) == 1
        assert [body["status"] for body in stub.calls("POST", "/tasks")] == ["COMPLETED", "COMPLETED"]


def test_a_task_gone_is_not_a_missing_endpoint() -> None:
    with StubConductor() as stub:
        gone = {"status": 404, "message": "No such task found by id: t1", "retryable": False}
        stub.reply("POST", "/tasks/update-v2", 404, gone)
        api = api_for(stub.url)
        with pytest.raises(ConductorError, match="HTTP 404 Not Found: No such task found by id: t1"):
            api.update(result())
        assert stub.calls("POST", "/tasks") == []


def test_a_400_names_the_violated_constraints() -> None:
    with StubConductor() as stub:
        violation = {
            "path": "registerTaskDef.taskDefinitions[0]",
            "message": "TaskDef: double responseTimeoutSeconds: 600 must be less than timeoutSeconds: 60",
        }
        body = {"status": 400, "message": "Validation failed, check below errors for detail."}
        stub.reply("POST", "/metadata/taskdefs", 400, body | {"validationErrors": [violation]})
        with pytest.raises(ConductorError) as info:
            api_for(stub.url).register_task_defs([task_def_for(double)])
    assert str(info.value) == (
        "Conductor could not register task definitions (double) (HTTP 400 Bad Request: Validation failed, check "
        "below errors for detail. registerTaskDef.taskDefinitions[0]: TaskDef: double responseTimeoutSeconds: 600 "
        "must be less than timeoutSeconds: 60)"
    )


def test_the_start_up_check_absorbs_a_502(conductor_emulator: ConductorEmulator) -> None:
    time = FakeTime()
    conductor_emulator.inject_fault("batch_poll", 502, times=1)
    api_for(conductor_emulator.url, time).check()
    assert conductor_emulator.request_count("batch_poll") == 2 and len(time.sleeps) == 1
    conductor_emulator.inject_fault("batch_poll", 503, times=10)
    with pytest.raises(ConductorError, match="HTTP 503"):
        api_for(conductor_emulator.url, time).check()  # a server that stays down still fails the start, after 5 retries
    assert len(time.sleeps) == 1 + 5
