"""How system tasks fail and loops trim, on a ManualClock; each test names the conductor-oss class."""

from __future__ import annotations

import pytest

from perago.testing.conductor import scripts
from tests.testing.conductor.test_operations import register


def inline(ref: str, expression: str, **inputs: object) -> dict:
    return {
        "name": ref,
        "taskReferenceName": ref,
        "type": "INLINE",
        "inputParameters": {"evaluatorType": "javascript", "expression": expression, **inputs},
    }


def by_ref(workflow) -> dict:
    return {t.reference_task_name: t for t in workflow.tasks}


def test_keep_last_n_drops_old_iterations(manual):
    """DoWhile.removeIterations: keepLastN keeps the newest outputs and tasks."""
    loop = {
        "name": "loop",
        "taskReferenceName": "loop",
        "type": "DO_WHILE",
        "inputParameters": {"keepLastN": 2},
        "loopCondition": "$.loop['iteration'] < 4",
        "loopOver": [inline("step", "$.i * 10", i="${loop.output.iteration}")],
    }
    register(manual, "trimmed", [loop])

    workflow = manual.workflow(manual.start("trimmed"))

    assert workflow.status == "COMPLETED"
    assert [t.reference_task_name for t in workflow.tasks] == ["loop", "step__3", "step__4"]
    output = by_ref(workflow)["loop"].output_data
    assert output == {"iteration": 4, "3": {"step": {"result": 30}}, "4": {"step": {"result": 40}}}


def test_a_failed_body_task_fails_the_loop_and_a_bad_condition_is_terminal(manual):
    """DeciderService.retry ends the workflow on a failed body task before DoWhile runs again (the loop is then
    CANCELED); DoWhile.evaluateCondition errors are FAILED_WITH_TERMINAL_ERROR."""
    body = [inline("boom", "$.i > 1 ? undefined_fn() : 1", i="${loop.output.iteration}")]
    loop = {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE", "loopCondition": "true", "loopOver": body}
    register(manual, "failing_loop", [loop])
    failed = manual.workflow(manual.start("failing_loop"))
    assert failed.status == "FAILED"
    assert (by_ref(failed)["loop"].status, by_ref(failed)["boom__2"].status) == (
        "CANCELED",
        "FAILED_WITH_TERMINAL_ERROR",
    )
    assert failed.reason_for_incompletion.startswith(
        f"Task {by_ref(failed)['boom__2'].task_id} failed with status: FAILED"
    )
    assert by_ref(failed)["boom__2"].output_data["error"].startswith("Error evaluating the script `ReferenceError")

    loop = {**loop, "loopCondition": "$.nope.deeper", "loopOver": [inline("ok", "1")]}
    register(manual, "bad_condition", [loop])
    bad = by_ref(manual.workflow(manual.start("bad_condition")))["loop"]
    assert bad.status == "FAILED_WITH_TERMINAL_ERROR"
    assert bad.reason_for_incompletion.startswith("Unable to evaluate condition $.nope.deeper, exception")


def test_switch_expression_error_fails_the_switch(manual):
    """SwitchTaskMapper: an evaluation error makes a FAILED switch task with the error as reason."""
    switch = {
        "name": "route",
        "taskReferenceName": "route",
        "type": "SWITCH",
        "evaluatorType": "javascript",
        "expression": "$.x.y.z",
        "decisionCases": {"a": [inline("a", "1")]},
    }
    register(manual, "bad_switch", [switch])
    workflow = manual.workflow(manual.start("bad_switch"))
    assert (workflow.status, workflow.tasks[0].status) == ("FAILED", "FAILED")
    assert workflow.tasks[0].reason_for_incompletion.startswith("Error evaluating the script `TypeError")


def test_expressions_see_workflow_status_and_parent(manual):
    """ParametersUtils.getTaskInputV2: workflow.status, parentWorkflowId, task fields such as taskType."""
    register(
        manual,
        "leaf",
        [inline("me", "$.parent + ' ' + $.state", parent="${workflow.parentWorkflowId}", state="${workflow.status}")],
    )
    register(
        manual,
        "root",
        [
            {"name": "leaf", "taskReferenceName": "leaf", "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": "leaf"}},
            inline("after", "$.kind", kind="${leaf.taskType}"),
        ],
    )
    root = manual.workflow(manual.start("root"))
    assert root.status == "COMPLETED"
    assert by_ref(root)["leaf"].output_data["result"] == f"{root.workflow_id} RUNNING"
    assert by_ref(root)["after"].output_data == {"result": "SUB_WORKFLOW"}


def test_javascript_time_limit():
    """ScriptEvaluator: a script running past its limit is interrupted."""
    with pytest.raises(scripts.ScriptError, match="not evaluated within 0 seconds"):
        scripts.javascript("while (true) {}", {}, time_limit_s=0.05)


def test_an_endless_inline_loop_yields_to_the_sweeper(manual):
    """WorkflowExecutorOps.decide: a decide that keeps changing state is re-queued instead of running forever."""
    loop = {
        "name": "loop",
        "taskReferenceName": "loop",
        "type": "DO_WHILE",
        "inputParameters": {"keepLastN": 1},
        "loopCondition": "true",
        "loopOver": [inline("spin", "1")],
    }
    register(manual, "endless", [loop])
    workflow_id = manual.start("endless")
    first = by_ref(manual.workflow(workflow_id))["loop"].output_data["iteration"]
    manual.clock.advance(0.1)
    assert by_ref(manual.workflow(workflow_id))["loop"].output_data["iteration"] > first
    manual.workflows.terminate_workflow(workflow_id, reason="stop")
