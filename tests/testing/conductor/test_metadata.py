"""Metadata API through conductor-python's metadata client: task and workflow definitions."""

from __future__ import annotations

import pytest
from conductor.client.http.models import TaskDef
from conductor.client.http.rest import ApiException


def test_task_def_register_get_update_and_defaults(conductor):
    conductor.task_def("resize", response_timeout_seconds=30, timeout_seconds=120, retry_count=2)

    fetched = conductor.metadata.get_task_def("resize")
    assert isinstance(fetched, TaskDef)
    assert (fetched.name, fetched.response_timeout_seconds, fetched.timeout_seconds) == ("resize", 30, 120)
    assert fetched.retry_count == 2
    assert (fetched.retry_logic, fetched.retry_delay_seconds, fetched.timeout_policy) == (
        "FIXED",
        60,
        "TIME_OUT_WF",
    )

    conductor.metadata.update_task_def(TaskDef(name="resize", response_timeout_seconds=10, retry_count=5))
    updated = conductor.metadata.get_task_def("resize")
    assert (updated.response_timeout_seconds, updated.retry_count) == (10, 5)
    assert [d.name for d in conductor.metadata.get_all_task_defs()] == ["resize"]


def test_unknown_task_def_is_404(conductor):
    with pytest.raises(ApiException) as caught:
        conductor.metadata.get_task_def("missing")
    assert caught.value.status == 404
    assert "missing" in caught.value.body


def test_task_def_response_timeout_longer_than_timeout_is_rejected(conductor):
    with pytest.raises(ApiException) as caught:
        conductor.task_def("bad", response_timeout_seconds=100, timeout_seconds=10)
    assert caught.value.status == 400
    assert "responseTimeoutSeconds" in caught.value.body


def test_workflow_def_versions_and_overwrite(conductor, make_simple):
    conductor.task_def("a")
    conductor.workflow_def("flow", [make_simple("a", "a1")], version=1)
    conductor.workflow_def("flow", [make_simple("a", "a1"), make_simple("a", "a2")], version=2)

    latest = conductor.metadata.get_workflow_def("flow")
    assert (latest.version, [t.task_reference_name for t in latest.tasks]) == (2, ["a1", "a2"])
    first = conductor.metadata.get_workflow_def("flow", version=1)
    assert [t.task_reference_name for t in first.tasks] == ["a1"]
    assert first.tasks[0].type == "SIMPLE"

    with pytest.raises(ApiException) as caught:
        conductor.metadata.register_workflow_def(first, overwrite=False)
    assert caught.value.status == 409

    conductor.metadata.update_workflow_def(first)  # PUT [WorkflowDef] always replaces
    assert len(conductor.metadata.get_all_workflow_defs()) == 2


def test_unknown_workflow_def_is_404(conductor):
    with pytest.raises(ApiException) as caught:
        conductor.metadata.get_workflow_def("nope")
    assert caught.value.status == 404


def test_duplicate_reference_names_are_rejected(conductor, make_simple):
    conductor.task_def("a")
    with pytest.raises(ApiException) as caught:
        conductor.workflow_def("dup", [make_simple("a", "same"), make_simple("a", "same")])
    assert caught.value.status == 400
    assert "same" in caught.value.body


def test_start_without_task_def_runs_on_the_adhoc_definition(conductor, make_simple):
    # MetadataMapperService.populateWorkflowTaskWithDefinition: new TaskDef(name) since conductor#3005
    conductor.workflow_def("orphan", [make_simple("undefined_task", "u")])

    workflow_id = conductor.start("orphan")

    task = conductor.poll_one("undefined_task")
    assert (task.response_timeout_seconds, task.retry_count) == (3600, 0)
    snapshot = conductor.workflow(workflow_id).workflow_definition.tasks[0].task_definition
    assert (snapshot.name, snapshot.retry_count, snapshot.retry_delay_seconds) == ("undefined_task", 3, 60)
    assert (snapshot.timeout_policy, snapshot.retry_logic, snapshot.timeout_seconds) == ("TIME_OUT_WF", "FIXED", 0)


def test_inline_task_definition_is_enough_to_start(conductor):
    from conductor.client.http.models import WorkflowTask

    inline = WorkflowTask(
        name="inline_task",
        task_reference_name="i",
        type="SIMPLE",
        task_definition=TaskDef(name="inline_task", response_timeout_seconds=7),
    )
    conductor.workflow_def("inline", [inline])
    conductor.start("inline")
    assert conductor.poll_one("inline_task").response_timeout_seconds == 7


def _error(caught) -> dict:
    import json

    return json.loads(caught.value.body)


def test_task_def_validation_errors_like_the_server(conductor):
    """TaskDef @Min(1) responseTimeoutSeconds and ValidationExceptionMapper's validationErrors."""
    with pytest.raises(ApiException) as caught:
        conductor.task_def("instant", response_timeout_seconds=0)
    error = _error(caught)
    assert (caught.value.status, error["message"]) == (400, "Validation failed, check below errors for detail.")
    assert error["validationErrors"] == [
        {
            "path": "registerTaskDef.taskDefinitions[0].responseTimeoutSeconds",
            "message": "TaskDef responseTimeoutSeconds: 0 should be minimum 1 second",
            "invalidValue": "0",
        }
    ]


def test_update_of_an_unknown_task_def_is_404(conductor):
    """MetadataServiceImpl.updateTaskDef: No such task by name."""
    with pytest.raises(ApiException) as caught:
        conductor.metadata.update_task_def(TaskDef(name="ghost", response_timeout_seconds=5))
    assert caught.value.status == 404
    assert _error(caught)["message"] == "No such task by name ghost"


def test_bulk_workflow_put_answers_per_definition(conductor, make_simple):
    """MetadataServiceImpl.updateWorkflowDef(List): a BulkResponse naming each definition."""
    import json
    import urllib.request

    body = [{"name": n, "version": 1, "tasks": [{"name": "t", "taskReferenceName": "t"}]} for n in ("one", "two")]
    request = urllib.request.Request(
        conductor.emulator.url + "/metadata/workflow",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(response.read())
    assert answer == {
        "bulkErrorResults": {},
        "bulkSuccessfulResults": ["one", "two"],
        "message": "Bulk Request has been processed.",
    }


def test_workflow_def_task_type_constraints(conductor):
    """WorkflowTaskTypeConstraint: a SWITCH needs evaluatorType and decisionCases, a DO_WHILE its loopCondition."""
    from conductor.client.http.models import WorkflowDef, WorkflowTask

    switch = WorkflowTask(name="s", task_reference_name="s", type="SWITCH", decision_cases=None)
    loop = WorkflowTask(
        name="l", task_reference_name="l", type="DO_WHILE", loop_over=[WorkflowTask(name="x", task_reference_name="x")]
    )
    with pytest.raises(ApiException) as caught:
        conductor.metadata.register_workflow_def(
            WorkflowDef(name="bad", version=1, tasks=[switch, loop]), overwrite=True
        )
    messages = [e["message"] for e in _error(caught)["validationErrors"]]
    assert "evaluatorType field is required for taskType: SWITCH taskName: s" in messages
    assert "decisionCases should have atleast one task for taskType: SWITCH taskName: s" in messages
    assert "loopCondition field is required for taskType: DO_WHILE taskName: l" in messages
