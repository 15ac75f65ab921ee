"""Workflow API through conductor-python: start, get, expressions, outputs, terminate, FORK_JOIN, optional."""

from __future__ import annotations

import threading

import pytest
from conductor.client.http.models import StartWorkflowRequest, Workflow, WorkflowTask
from conductor.client.http.rest import ApiException


def test_start_by_name_and_get_with_tasks(conductor, make_simple):
    conductor.task_def("step")
    conductor.workflow_def("one", [make_simple("step", "s", {"v": "${workflow.input.v}"})])

    workflow_id = conductor.start("one", {"v": 3}, correlationId="corr-1")

    workflow = conductor.workflow(workflow_id)
    assert isinstance(workflow, Workflow)
    assert (workflow.workflow_id, workflow.workflow_name, workflow.workflow_version) == (
        workflow_id,
        "one",
        1,
    )
    assert (workflow.status, workflow.input, workflow.correlation_id) == ("RUNNING", {"v": 3}, "corr-1")
    [task] = workflow.tasks
    assert (task.status, task.reference_task_name, task.task_type, task.seq) == ("SCHEDULED", "s", "step", 1)
    assert (task.input_data, task.correlation_id, task.workflow_instance_id) == (
        {"v": 3},
        "corr-1",
        workflow_id,
    )
    assert conductor.emulator.get_workflow(workflow_id)["tasks"][0]["taskId"] == task.task_id


def test_start_by_request_with_version_and_task_to_domain(conductor, make_simple):
    conductor.task_def("step")
    conductor.workflow_def("versioned", [make_simple("step", "s")], version=1)
    conductor.workflow_def("versioned", [make_simple("step", "s"), make_simple("step", "t")], version=2)

    request = StartWorkflowRequest(name="versioned", version=1, input={"k": 1}, task_to_domain={"step": "blue"})
    workflow_id = conductor.workflows.start_workflow(request)

    workflow = conductor.workflow(workflow_id)
    assert workflow.workflow_version == 1
    assert workflow.tasks[0].domain == "blue"
    assert conductor.poll_now("step", count=1) == []
    polled = conductor.poll_one("step", domain="blue")
    assert (polled.task_id, polled.domain) == (workflow.tasks[0].task_id, "blue")


def test_start_unknown_workflow_is_404(conductor):
    with pytest.raises(ApiException) as caught:
        conductor.start("never_defined")
    assert caught.value.status == 404
    assert "never_defined" in caught.value.body


def test_sequence_with_expressions_and_output_parameters(conductor, make_simple):
    conductor.task_def("produce")
    conductor.task_def("consume")
    conductor.workflow_def(
        "chain",
        [
            make_simple("produce", "p", {"user": "${workflow.input.user.name}", "first": "${workflow.input.ids[0]}"}),
            make_simple(
                "consume",
                "c",
                {
                    "whole": "${p.output}",
                    "nested": "${p.output.result.files}",
                    "text": "user ${p.input.user} made ${p.output.result.count} files",
                    "missing": "${p.output.nope.deeper}",
                    "literal": 42,
                    "list": ["${workflow.input.user.name}", {"deep": "${p.output.result.count}"}],
                },
            ),
        ],
        output={"files": "${c.output.files}", "wf": "${workflow.workflowId}", "summary": "${c.output}"},
    )
    workflow_id = conductor.start("chain", {"user": {"name": "ada"}, "ids": [7, 8]})

    produce = conductor.poll_one("produce")
    assert produce.input_data == {"user": "ada", "first": 7}
    result = {"files": ["a", "b"], "count": 2}
    conductor.complete(produce, {"result": result})

    consume = conductor.poll_one("consume")
    assert consume.input_data == {
        "whole": {"result": result},
        "nested": ["a", "b"],
        "text": "user ada made 2 files",
        "missing": None,
        "literal": 42,
        "list": ["ada", {"deep": 2}],
    }
    assert conductor.workflow(workflow_id).status == "RUNNING"
    conductor.complete(consume, {"files": ["x"]})

    workflow = conductor.workflow(workflow_id)
    assert workflow.status == "COMPLETED"
    assert workflow.output == {"files": ["x"], "wf": workflow_id, "summary": {"files": ["x"]}}
    assert workflow.end_time >= workflow.start_time > 0
    assert [t.status for t in workflow.tasks] == ["COMPLETED", "COMPLETED"]


def test_without_output_parameters_the_last_task_output_is_the_workflow_output(conductor):
    conductor.chain("plain", "only")
    workflow_id = conductor.start("plain", {"value": 1})
    conductor.complete(conductor.poll_one("only"), {"answer": 42})
    assert conductor.workflow(workflow_id).output == {"answer": 42}


def test_terminate_cancels_open_tasks(conductor):
    conductor.chain("term", "slow", "never")
    workflow_id = conductor.start("term", {"value": 1})
    running = conductor.poll_one("slow")

    conductor.workflows.terminate_workflow(workflow_id, reason="operator said stop")

    workflow = conductor.workflow(workflow_id)
    assert (workflow.status, workflow.reason_for_incompletion) == ("TERMINATED", "operator said stop")
    assert [t.status for t in workflow.tasks] == ["CANCELED"]
    assert conductor.tasks.get_task(running.task_id).status == "CANCELED"
    # the worker's late result is accepted with 200 and changes nothing
    assert conductor.complete(running, {"late": True}) == running.task_id
    assert conductor.tasks.get_task(running.task_id).status == "CANCELED"
    assert conductor.poll_now("never", count=1) == []


def test_terminate_a_completed_workflow_is_409_and_a_failed_one_becomes_terminated(conductor):
    conductor.chain("wf", "work", retry_count=0)
    completed, failed = conductor.start("wf", {"value": 1}), conductor.start("wf", {"value": 2})
    conductor.complete(conductor.poll_one("work"))
    conductor.fail(conductor.poll_one("work"), "broken")

    with pytest.raises(ApiException) as caught:
        conductor.workflows.terminate_workflow(completed, reason="too late")
    assert caught.value.status == 409
    assert "Cannot terminate a COMPLETED workflow" in caught.value.body

    conductor.workflows.terminate_workflow(failed, reason="cleanup")
    workflow = conductor.workflow(failed)
    assert (workflow.status, workflow.reason_for_incompletion) == ("TERMINATED", "cleanup")
    assert set(workflow.failed_reference_task_names) == {"work_0"}


def _fork_def(conductor, *, optional_right: bool = False):
    for name in ("left", "right", "after"):
        conductor.task_def(name, retry_count=0)
    fork = WorkflowTask(
        name="fork",
        task_reference_name="fork",
        type="FORK_JOIN",
        fork_tasks=[
            [WorkflowTask(name="left", task_reference_name="l", type="SIMPLE", input_parameters={"x": 1})],
            [
                WorkflowTask(
                    name="right",
                    task_reference_name="r",
                    type="SIMPLE",
                    input_parameters={"x": 2},
                    optional=optional_right,
                )
            ],
        ],
    )
    join = WorkflowTask(name="join", task_reference_name="join", type="JOIN", join_on=["l", "r"])
    after = WorkflowTask(
        name="after",
        task_reference_name="a",
        type="SIMPLE",
        input_parameters={"left": "${l.output.v}", "joined": "${join.output}"},
    )
    conductor.workflow_def("forked", [fork, join, after])


def test_fork_join_runs_two_tasks_at_once(conductor):
    _fork_def(conductor)
    workflow_id = conductor.start("forked")

    scheduled = conductor.workflow(workflow_id).tasks
    assert [(t.task_type, t.status) for t in scheduled] == [
        ("FORK", "COMPLETED"),
        ("left", "SCHEDULED"),
        ("right", "SCHEDULED"),
        ("JOIN", "IN_PROGRESS"),
    ]
    polled: dict[str, object] = {}

    def poll(task_type: str) -> None:
        polled[task_type] = conductor.poll_one(task_type, worker_id=f"w-{task_type}")

    threads = [threading.Thread(target=poll, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    left, right = polled["left"], polled["right"]
    assert {left.status, right.status} == {"IN_PROGRESS"}  # both run at the same time

    conductor.complete(right, {"v": "R"})
    assert conductor.workflow(workflow_id).tasks[3].status == "IN_PROGRESS"  # JOIN still waits for l
    conductor.complete(left, {"v": "L"})

    workflow = conductor.workflow(workflow_id)
    join = workflow.tasks[3]
    assert (join.status, join.output_data) == ("COMPLETED", {"l": {"v": "L"}, "r": {"v": "R"}})
    after = conductor.poll_one("after")
    assert after.input_data == {"left": "L", "joined": {"l": {"v": "L"}, "r": {"v": "R"}}}
    conductor.complete(after)
    assert conductor.workflow(workflow_id).status == "COMPLETED"


def test_fork_branch_failure_fails_the_workflow(conductor):
    _fork_def(conductor)
    workflow_id = conductor.start("forked")
    left = conductor.poll_one("left")
    conductor.fail(left, "left broke")

    workflow = conductor.workflow(workflow_id)
    assert workflow.status == "FAILED"
    assert "left broke" in workflow.reason_for_incompletion
    assert set(workflow.failed_reference_task_names) == {"l"}
    statuses = {t.reference_task_name: t.status for t in workflow.tasks}
    assert (statuses["r"], statuses["join"]) == ("CANCELED", "CANCELED")


def test_optional_task_failure_does_not_fail_the_workflow(conductor):
    _fork_def(conductor, optional_right=True)
    workflow_id = conductor.start("forked")
    conductor.fail(conductor.poll_one("right"), "optional broke")
    conductor.complete(conductor.poll_one("left"), {"v": "L"})
    conductor.complete(conductor.poll_one("after"))

    workflow = conductor.workflow(workflow_id)
    assert workflow.status == "COMPLETED"
    right = next(t for t in workflow.tasks if t.reference_task_name == "r")
    assert (right.status, right.reason_for_incompletion) == ("COMPLETED_WITH_ERRORS", "optional broke")


def test_optional_sequential_task_failure_continues(conductor, make_simple):
    conductor.task_def("maybe", retry_count=0)
    conductor.task_def("next")
    conductor.workflow_def("opt", [make_simple("maybe", "m", optional=True), make_simple("next", "n")])
    workflow_id = conductor.start("opt")
    conductor.fail(conductor.poll_one("maybe"))
    conductor.complete(conductor.poll_one("next"), {"ok": True})
    assert conductor.workflow(workflow_id).status == "COMPLETED"


def test_start_with_an_inline_workflow_def(conductor, make_simple):
    from conductor.client.http.models import WorkflowDef

    conductor.task_def("adhoc")
    inline = WorkflowDef(
        name="unregistered", version=3, tasks=[make_simple("adhoc", "a", {"x": "${workflow.input.x}"})]
    )
    workflow_id = conductor.workflows.start_workflow(
        StartWorkflowRequest(name="unregistered", workflow_def=inline, input={"x": 5})
    )
    assert conductor.poll_one("adhoc").input_data == {"x": 5}
    assert conductor.workflow(workflow_id).workflow_version == 3
