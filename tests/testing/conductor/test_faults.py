"""Fault rates, lost answers and latency (ConductorEmulator(faults=...), configure_faults, the CLI options)."""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
from conductor.client.http.rest import ApiException

from perago.testing.conductor import ConductorEmulator, Faults


def test_fault_rate_refuses_requests_on_the_chosen_routes(conductor):
    conductor.chain("wf", "work")
    workflow_id = conductor.start("wf", {"value": 1})
    conductor.emulator.configure_faults(Faults(rate=1.0, routes=frozenset({"get_workflow"}), seed=7))

    statuses = set()
    for _ in range(8):
        with pytest.raises(ApiException) as caught:
            conductor.workflow(workflow_id)
        statuses.add(caught.value.status)
    assert statuses <= {429, 500, 502, 503} and len(statuses) > 1
    assert conductor.poll_one("work").workflow_instance_id == workflow_id  # other routes unaffected

    conductor.emulator.configure_faults(Faults())
    assert conductor.workflow(workflow_id).status == "RUNNING"


def test_ambiguous_updates_are_applied_but_the_answer_is_lost(conductor):
    conductor.chain("wf", "work")
    workflow_id = conductor.start("wf", {"value": 1})
    task = conductor.poll_one("work")
    conductor.emulator.configure_faults(Faults(ambiguous_rate=1.0, seed=1))
    url = urlsplit(conductor.emulator.url)
    outcomes = []
    for status in ("IN_PROGRESS", "COMPLETED"):
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
        body = {"taskId": task.task_id, "workflowInstanceId": workflow_id, "status": status, "callbackAfterSeconds": 0}
        connection.request("POST", "/api/tasks", body=json.dumps(body), headers={"Content-Type": "application/json"})
        try:
            outcomes.append(connection.getresponse().status)
        except http.client.RemoteDisconnected:
            outcomes.append("dropped")
        connection.close()
        if status == "IN_PROGRESS":
            conductor.emulator.configure_faults(Faults())
            task = conductor.poll_one("work")
            conductor.emulator.configure_faults(Faults(ambiguous_rate=1.0, seed=2))

    assert all(outcome in (502, "dropped") for outcome in outcomes)
    assert conductor.emulator.get_workflow(workflow_id)["status"] == "COMPLETED"  # applied all the same


def test_latency_is_added_to_every_request():
    with ConductorEmulator(faults=Faults(latency_ms=60)) as emulator:
        url = urlsplit(emulator.url)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
        started = time.monotonic()
        connection.request("GET", "/api/metadata/taskdefs")
        assert connection.getresponse().status == 200
        connection.close()
    assert time.monotonic() - started >= 0.06


def test_fault_settings_are_checked():
    with pytest.raises(ValueError, match="rate must be between 0 and 1"):
        Faults(rate=1.5)
    with pytest.raises(ValueError, match="latency_ms must be >= 0"):
        Faults(latency_ms=-1)
