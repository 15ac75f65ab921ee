"""Contract: every JSON field the emulator sends is one conductor-python's models know, and values parse."""

from __future__ import annotations

from conductor.client.http.models import Task, TaskDef, TaskExecLog, Workflow, WorkflowDef, WorkflowTask


def _wire_names(model: type) -> set[str]:
    return set(model.attribute_map.values())


def _run_everything(conductor, make_simple):
    conductor.task_def("work", retry_count=1, retry_delay_seconds=0)
    conductor.workflow_def(
        "contract",
        [
            make_simple("work", "a", {"x": "${workflow.input.x}"}),
            WorkflowTask(
                name="fork",
                task_reference_name="fork",
                type="FORK_JOIN",
                fork_tasks=[[make_simple("work", "b")], [make_simple("work", "c")]],
            ),
            WorkflowTask(name="join", task_reference_name="join", type="JOIN", join_on=["b", "c"]),
        ],
        output={"out": "${a.output}"},
    )
    workflow_id = conductor.start("contract", {"x": 1}, correlationId="corr")
    first = conductor.poll_one("work")
    conductor.fail(first, "retry me")
    conductor.complete(conductor.poll_one("work"), {"y": 2})
    conductor.tasks.add_task_log(first.task_id, "a log line")
    return workflow_id, first.task_id


def test_workflow_and_task_json_use_only_known_fields(conductor, make_simple):
    workflow_id, task_id = _run_everything(conductor, make_simple)
    workflow = conductor.emulator.get_workflow(workflow_id)

    assert set(workflow) <= _wire_names(Workflow)
    assert {"FORK", "JOIN", "work"} == {t["taskType"] for t in workflow["tasks"]}
    for task in workflow["tasks"]:
        assert set(task) <= _wire_names(Task), task["taskType"]
        assert set(task["workflowTask"]) <= _wire_names(WorkflowTask)
    definition = workflow["workflowDefinition"]
    assert set(definition) <= _wire_names(WorkflowDef)
    assert set(definition["tasks"][0]["taskDefinition"]) <= _wire_names(TaskDef)
    assert set(conductor.emulator.get_task(task_id)) <= _wire_names(Task)


def test_models_deserialize_without_losing_fields(conductor, make_simple):
    workflow_id, task_id = _run_everything(conductor, make_simple)
    workflow = conductor.workflow(workflow_id)
    assert isinstance(workflow, Workflow) and workflow.status == "RUNNING"
    assert all(isinstance(t, Task) and t.task_id for t in workflow.tasks)
    assert [t.status for t in workflow.tasks][:2] == ["FAILED", "COMPLETED"]
    assert isinstance(workflow.workflow_definition, WorkflowDef)
    assert isinstance(workflow.workflow_definition.tasks[1].fork_tasks[0][0], WorkflowTask)
    [log] = conductor.tasks.get_task_logs(task_id)
    assert isinstance(log, TaskExecLog) and log.log == "a log line"
    task_def = conductor.metadata.get_task_def("work")
    assert set(conductor.emulator.engine.definitions.get_task_def("work")) <= _wire_names(TaskDef)
    assert (task_def.retry_count, task_def.retry_delay_seconds) == (1, 0)
