"""explain and history on partial records: removed workflows, completed params, reruns, silent workers."""

from __future__ import annotations

from typing import Any

import pytest

from perago.callid import call_identity
from perago.eventlog import event_line
from perago.execution import AttemptEvent
from perago.explain import NotPublishedByPeragoError, explain, render_explain

METADATA = {
    "perago.task": "count_plays",
    "perago.task_version": "1",
    "perago.workflow_id": "wf-1",
    "perago.task_ref": "count",
    "perago.task_id": "t-2",
    "perago.retried_task_id": "t-1",
    "perago.poll_count": "1",
    "perago.retry_count": "1",
    "perago.worker_id": "host-1-abcdef",
    "perago.execution_id": "t-2-p1",
    "perago.input_commit": "c0",
    "perago.params_sha256": call_identity("count_plays", 1, {"year": 2024, "top": 10}),
    "perago.result": "{not json",
}
COMMIT = {"id": "c1", "message": "perago: publish", "committer": "admin", "creation_date": 0, "metadata": METADATA}


def nothing(_: str) -> Any:
    return None


def test_a_commit_whose_workflow_conductor_removed_still_names_its_attempt() -> None:
    text = render_explain(explain("songs", COMMIT, nothing, nothing, lambda _: []))

    assert "  attempt   task t-2, retry of t-1, retry 1, poll 1, worker host-1-abcdef" in text
    assert "  input     songs@c0" in text
    assert "  params    (not in Conductor's record); call identity " in text
    assert "  result    {not json (not JSON)" in text
    assert "  workflow wf-1: no record (removed or archived)" in text
    assert "  task t-2: no record (removed or archived)" in text


def test_params_the_model_completed_and_an_output_nobody_reports_are_said_so() -> None:
    task = {
        "taskId": "t-2",
        "status": "TIMED_OUT",
        "workerId": "host-1-abcdef",
        "inputData": {"params": {"year": 2024}},
    }
    workflow = {
        "workflowId": "wf-1",
        "workflowName": "plays",
        "workflowVersion": 1,
        "status": "RUNNING",
        "tasks": [task],
    }
    line = event_line(AttemptEvent("body", "finished, guardrails passed", 1_700_000_000.0), "t-2-p1", "host-1-abcdef")

    provenance = explain("songs", COMMIT, lambda _: workflow, lambda _: task, lambda _: [line])
    text = render_explain(provenance)

    assert provenance.delivery is not None and provenance.delivery.execution_id == "t-2-p1"  # found by execution id
    assert "hashes them as the params model validated them, defaults filled in" in text
    assert "  task t-2: TIMED_OUT, worker host-1-abcdef" in text
    assert "22:13:20.000 body: finished, guardrails passed" in text
    assert "  no task of the workflow reports this commit as its output" in text


def test_a_commit_perago_did_not_make_is_refused_with_what_to_do() -> None:
    with pytest.raises(NotPublishedByPeragoError, match=r"carries no perago\.\* metadata: perago did not publish it"):
        explain("songs", {"id": "c0", "metadata": {}}, nothing, nothing, lambda _: [])


def test_history_of_a_rerun_step_a_silent_worker_and_system_tasks() -> None:
    from perago.history import build_history
    from perago.history_text import render_history

    def task(task_id: str, seq: int, **fields: Any) -> dict[str, Any]:
        return {"taskId": task_id, "seq": seq, "referenceTaskName": "count", "taskDefName": "count_plays"} | fields

    tasks = [
        {"taskId": "f", "seq": 1, "taskType": "FORK_JOIN", "referenceTaskName": "fork"},
        task("t-1", 2, status="FAILED", pollCount=1, reasonForIncompletion="boom"),
        task("t-2", 3, status="COMPLETED", pollCount=1, outputData={"result": {"plays": 3}}),  # a rerun: no link
        task("t-3", 4, status="SCHEDULED", pollCount=0, retriedTaskId="t-2"),
    ]
    workflow = {"workflowId": "wf", "workflowName": "plays", "workflowVersion": 2, "status": "RUNNING", "tasks": tasks}
    logs = {"t-2": ["a line another worker wrote"]}

    text = render_history(build_history(workflow, lambda task_id: logs.get(task_id, [])))

    assert "fork" not in text, "system tasks have no attempts"
    assert "step count (task count_plays): 3 attempt(s)" in text
    assert "  chain 2 (not linked by retriedTaskId: a rerun or restart of the step)" in text
    assert "no perago events in its log (Conductor keeps task logs only with an index" in text
    assert "    log: a line another worker wrote" in text and '    result {"plays": 3}' in text
    assert "  attempt 2, task t-3, retry of t-2: SCHEDULED" in text
    assert "reason: boom" in text
    empty = render_history(build_history({"workflowId": "wf2", "status": "RUNNING", "tasks": []}, lambda _: []))
    assert empty.endswith("  no worker steps scheduled yet")


def test_a_delivery_without_a_final_event_is_running_redelivered_or_silent() -> None:
    from perago.history import attempt_of
    from perago.history_text import attempt_lines

    def line(phase: str, execution: str, at: float) -> str:
        return event_line(AttemptEvent(phase, "", 1_700_000_000.0 + at), execution, "w")

    entries = [line("received", "t-p1", 0), line("downloaded", "t-p1", 1), line("received", "t-p2", 2)]

    def text(status: str) -> str:
        return "\n".join(attempt_lines(1, attempt_of({"taskId": "t", "status": status}, entries), False))

    running = text("IN_PROGRESS")
    assert "no final event after downloaded: the task was delivered again" in running
    assert "running, or its worker went silent, after received (Conductor: IN_PROGRESS)" in running
    assert "no final update: the worker went silent after received" in text("TIMED_OUT")
