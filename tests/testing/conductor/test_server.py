"""The HTTP layer: keep-alive, content types, error bodies, request counting and fault injection."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from conductor.client.http.rest import ApiException

from perago.testing.conductor import ROUTE_NAMES, ConductorEmulator


def _connect(emulator: ConductorEmulator) -> http.client.HTTPConnection:
    url = urlsplit(emulator.url)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=5)


def _request(connection, method: str, path: str, body=None, content_type="application/json"):
    payload = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": content_type} if payload is not None else {}
    connection.request(method, "/api" + path, body=payload, headers=headers)
    response = connection.getresponse()
    return response.status, response.getheader("Content-Type"), response.read()


def test_keep_alive_serves_many_requests_on_one_connection(conductor_emulator):
    connection = _connect(conductor_emulator)
    _request(connection, "POST", "/metadata/taskdefs", [{"name": "t"}])
    _request(
        connection,
        "POST",
        "/metadata/workflow",
        {"name": "w", "tasks": [{"name": "t", "taskReferenceName": "r"}]},
    )
    status, content_type, body = _request(connection, "POST", "/workflow/w", {"a": 1})
    assert (status, content_type) == (200, "text/plain;charset=UTF-8")
    workflow_id = body.decode()
    first_socket = connection.sock
    for _ in range(20):
        status, content_type, body = _request(connection, "GET", f"/workflow/{workflow_id}")
        assert (status, content_type) == (200, "application/json")
    assert connection.sock is first_socket  # HTTP/1.1 keep-alive: no reconnects
    assert json.loads(body)["input"] == {"a": 1}

    status, _, body = _request(connection, "GET", "/tasks/poll/t?workerid=x")
    task = json.loads(body)
    assert (status, task["workerId"], task["status"]) == (200, "x", "IN_PROGRESS")
    assert _request(connection, "GET", "/tasks/poll/t?workerid=x")[0] == 204
    connection.close()


def test_errors_have_conductor_error_body(conductor_emulator):
    connection = _connect(conductor_emulator)
    status, content_type, body = _request(connection, "GET", "/workflow/unknown-id")
    error = json.loads(body)
    assert (status, content_type) == (404, "application/json")
    assert error == {
        "status": 404,
        "message": "No such workflow found by id: unknown-id",
        "instance": "perago-conductor-emulator",
        "retryable": False,
    }
    status, _, body = _request(connection, "GET", "/no/such/route")
    assert status == 404 and "no such route" in json.loads(body)["message"]
    status, _, body = _request(connection, "POST", "/metadata/taskdefs", body=None)
    assert status == 400
    connection.request("POST", "/api/tasks", body=b"{not json", headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 400 and "not valid JSON" in json.loads(response.read())["message"]
    connection.close()


def test_request_count_and_injected_faults(conductor):
    conductor.chain("wf", "work")
    conductor.start("wf", {"value": 1})
    conductor.emulator.inject_fault("batch_poll", status=503, times=2)

    for _ in range(2):
        with pytest.raises(ApiException) as caught:
            conductor.tasks.batch_poll_tasks("work", worker_id="w", count=1, timeout_in_millisecond=10)
        assert caught.value.status == 503
    assert conductor.poll_one("work").status == "IN_PROGRESS"  # faults used up

    assert conductor.emulator.request_count("batch_poll") == 3
    assert conductor.emulator.request_count("start_workflow_by_name") == 1
    assert conductor.emulator.request_count() >= 6
    with pytest.raises(ValueError, match="unknown emulator route"):
        conductor.emulator.request_count("no_such_route")
    assert {"poll", "batch_poll", "update", "update_v2", "get_task", "terminate"} <= ROUTE_NAMES


def test_stop_releases_the_port_and_url_requires_start():
    emulator = ConductorEmulator()
    with pytest.raises(RuntimeError, match="not started"):
        _ = emulator.url
    with emulator:
        port = urlsplit(emulator.url).port
    with ConductorEmulator(port=port) as again:  # the port is free again
        assert urlsplit(again.url).port == port


def test_stop_closes_idle_keep_alive_connections():
    emulator = ConductorEmulator().start()
    connection = _connect(emulator)
    assert _request(connection, "GET", "/metadata/taskdefs")[0] == 200
    emulator.stop()
    connection.sock.settimeout(5)
    assert connection.sock.recv(1) == b""  # the server hung up instead of leaving a thread parked
    connection.close()


def test_wait_for_workflow_returns_when_finished_and_times_out_with_details(conductor):
    conductor.chain("wf", "work")
    workflow_id = conductor.start("wf", {"value": 1})
    with pytest.raises(TimeoutError, match=r"still RUNNING after 0.05 s; tasks: work_0=SCHEDULED"):
        conductor.emulator.wait_for_workflow(workflow_id, timeout=0.05)
    conductor.complete(conductor.poll_one("work"), {"done": True})
    assert conductor.emulator.wait_for_workflow(workflow_id, timeout=5)["output"] == {"done": True}


def test_health_check_at_both_paths(conductor_emulator):
    connection = _connect(conductor_emulator)
    for path in ("/health", "/api/health"):
        connection.request("GET", path)
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())["healthy"]) == (200, True)
    connection.close()
    assert conductor_emulator.request_count("health") == 2
