"""Workflow operations and waiting tasks through conductor-python's clients, on a ManualClock.

Each test names the conductor-oss class whose behaviour it checks.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import RerunWorkflowRequest, SkipTaskRequest, StartWorkflowRequest
from conductor.client.http.rest import ApiException
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor


def register(conductor, name: str, tasks: list[dict[str, Any]], **extra: Any) -> None:
    body = json.dumps({"name": name, "version": 1, "tasks": tasks, **extra}).encode()
    request = urllib.request.Request(
        conductor.emulator.url + "/metadata/workflow?overwrite=true",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


def simple(name: str, ref: str, **inputs: Any) -> dict[str, Any]:
    return {"name": name, "taskReferenceName": ref, "type": "SIMPLE", "inputParameters": inputs}


def refs(workflow) -> dict[str, Any]:
    return {t.reference_task_name: t for t in workflow.tasks}


def test_wait_for_a_duration_completes_when_the_time_has_passed(manual):
    """WaitTaskMapper.setCallbackAfter ('duration') and Wait.execute (now > waitTimeout)."""
    register(
        manual,
        "waits",
        [{"name": "pause", "taskReferenceName": "pause", "type": "WAIT", "inputParameters": {"duration": "1m 30s"}}],
    )
    workflow_id = manual.start("waits")
    task = manual.workflow(workflow_id).tasks[0]
    assert (task.task_type, task.status, task.callback_after_seconds) == ("WAIT", "IN_PROGRESS", 90)

    manual.clock.advance(90)
    assert manual.workflow(workflow_id).status == "RUNNING"
    manual.clock.advance(1)

    workflow = manual.workflow(workflow_id)
    assert (workflow.status, workflow.tasks[0].status) == ("COMPLETED", "COMPLETED")


def test_wait_until_a_date_and_both_inputs_refused(manual):
    """WaitTaskMapper 'until' (yyyy-MM-dd HH:mm, UTC); WorkflowTaskTypeConstraint refuses 'duration' with 'until'."""
    wait = {"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"until": "${workflow.input.at}"}}
    register(manual, "until", [wait])
    workflow_id = manual.start("until", {"at": "2023-11-14 23:00"})  # the ManualClock starts at 22:13:20 UTC
    assert manual.workflow(workflow_id).tasks[0].callback_after_seconds == 2800
    manual.clock.advance(2800)
    assert manual.workflow(workflow_id).status == "RUNNING"
    manual.clock.advance(1)
    assert manual.workflow(workflow_id).status == "COMPLETED"

    wait["inputParameters"]["duration"] = "5s"
    with pytest.raises(urllib.error.HTTPError) as caught:
        register(manual, "both", [wait])
    error = json.loads(caught.value.read())
    caught.value.close()
    assert caught.value.code == 400
    assert (
        error["validationErrors"][0]["message"]
        == "Both 'duration' and 'until' specified. Please provide only one input"
    )


def test_wait_without_time_is_signalled_and_human_is_updated_by_reference(manual):
    """TaskServiceImpl.signalTask (blocking WAIT) and TaskServiceImpl.updateTask by reference name (HUMAN)."""
    register(
        manual,
        "approve",
        [
            {"name": "hold", "taskReferenceName": "hold", "type": "WAIT"},
            {
                "name": "review",
                "taskReferenceName": "review",
                "type": "HUMAN",
                "inputParameters": {"doc": "${hold.output.doc}"},
            },
        ],
        outputParameters={"decision": "${review.output.result.ok}"},
    )
    workflow_id = manual.start("approve")
    executor = WorkflowExecutor(Configuration(server_api_url=manual.emulator.url))

    executor.signal_async(workflow_id, "COMPLETED", {"doc": "d-1"})
    review = refs(manual.workflow(workflow_id))["review"]
    assert (review.task_type, review.status, review.input_data) == ("HUMAN", "IN_PROGRESS", {"doc": "d-1"})
    manual.tasks.update_task_by_ref_name(workflow_id, "review", "IN_PROGRESS", {"seen": True})
    assert refs(manual.workflow(workflow_id))["review"].status == "IN_PROGRESS"  # a system task stays IN_PROGRESS
    manual.tasks.update_task_by_ref_name(workflow_id, "review", "COMPLETED", {"ok": True})

    workflow = manual.workflow(workflow_id)
    assert (workflow.status, workflow.output) == ("COMPLETED", {"decision": True})
    # conductor-python sends the output as {"result": output}; the server merges it into the task's output
    assert refs(workflow)["review"].output_data == {"result": {"ok": True}}


def test_retry_restart_and_rerun(manual):
    """WorkflowExecutorOps.retry (new taskId for the failed task), restart (same id, from scratch), rerun."""
    manual.task_def("step", retry_count=0)
    register(manual, "ops", [simple("step", "a"), simple("step", "b", v="${workflow.input.v}")])
    workflow_id = manual.start("ops", {"v": 1})
    first = manual.poll_one("step")
    manual.complete(first, {"n": 1})
    manual.fail(manual.poll_one("step"), "b broke")
    assert manual.workflow(workflow_id).status == "FAILED"

    manual.workflows.retry_workflow(workflow_id)
    retried = manual.workflow(workflow_id)
    assert retried.status == "RUNNING"
    assert [(t.reference_task_name, t.status, t.retry_count) for t in retried.tasks] == [
        ("a", "COMPLETED", 0),
        ("b", "FAILED", 0),
        ("b", "SCHEDULED", 1),
    ]
    manual.complete(manual.poll_one("step"), {"n": 2})
    assert manual.workflow(workflow_id).status == "COMPLETED"
    with pytest.raises(ApiException) as caught:
        manual.workflows.retry_workflow(workflow_id)
    assert caught.value.status == 409 and "no retryable tasks" in caught.value.body

    manual.workflows.rerun_workflow(
        workflow_id, RerunWorkflowRequest(re_run_from_task_id=first.task_id, task_input={"v": 9})
    )
    rerun = manual.workflow(workflow_id)
    assert [(t.reference_task_name, t.status) for t in rerun.tasks] == [("a", "SCHEDULED")]
    assert (rerun.tasks[0].task_id, rerun.tasks[0].input_data) == (first.task_id, {"v": 9})
    manual.complete(manual.poll_one("step"))
    manual.complete(manual.poll_one("step"))

    manual.workflows.restart_workflow(workflow_id)
    restarted = manual.workflow(workflow_id)
    assert (restarted.status, [t.status for t in restarted.tasks]) == ("RUNNING", ["SCHEDULED"])
    with pytest.raises(ApiException) as caught:
        manual.workflows.restart_workflow(workflow_id)
    assert caught.value.status == 409


def test_pause_resume_skip_terminate_and_remove(manual):
    """pauseWorkflow/resumeWorkflow, skipTaskFromWorkflow, terminateWorkflow, ExecutionDAOFacade.removeWorkflow."""
    manual.task_def("step")
    register(manual, "lifecycle", [simple("step", "a"), simple("step", "b"), simple("step", "c")])
    workflow_id = manual.start("lifecycle")
    manual.workflows.skip_task_from_workflow(workflow_id, "b", SkipTaskRequest(task_output={"skipped": True}))
    manual.workflows.pause_workflow(workflow_id)
    manual.complete(manual.poll_one("step"))
    assert [t.reference_task_name for t in manual.workflow(workflow_id).tasks] == ["a", "b"]  # paused: nothing new

    with pytest.raises(ApiException) as caught:
        manual.workflows.skip_task_from_workflow(workflow_id, "c", SkipTaskRequest())
    assert caught.value.status == 500 and "is not running" in caught.value.body
    manual.workflows.resume_workflow(workflow_id)
    with pytest.raises(ApiException) as caught:
        manual.workflows.resume_workflow(workflow_id)
    assert caught.value.status == 500 and "is not PAUSED" in caught.value.body
    workflow = manual.workflow(workflow_id)
    assert [(t.reference_task_name, t.status) for t in workflow.tasks] == [
        ("a", "COMPLETED"),
        ("b", "SKIPPED"),
        ("c", "SCHEDULED"),
    ]

    manual.workflows.terminate_workflow(workflow_id, reason="enough")
    manual.workflows.terminate_workflow(workflow_id, reason="again")  # already TERMINATED: a no-op
    assert manual.workflow(workflow_id).reason_for_incompletion == "enough"
    manual.workflows.delete_workflow(workflow_id, archive_workflow=False)
    with pytest.raises(ApiException) as caught:
        manual.workflow(workflow_id)
    assert caught.value.status == 404


def test_search_correlated_tasks_page_and_status(manual):
    """WorkflowResource.search / getWorkflows (correlated) / getExecutionStatusTaskList / getWorkflowStatusSummary."""
    manual.task_def("step")
    register(manual, "findme", [simple("step", "a")])
    running = manual.start("findme", {"x": 1}, correlationId="order-7")
    done = manual.start("findme", {"x": 2}, correlationId="order-7")
    manual.complete(manual.poll_now("step", count=2)[1], {"ok": 1})

    found = manual.workflows.search(query="workflowType IN (findme) AND status = RUNNING")
    assert [s.workflow_id for s in found.results] == [running]
    assert len(manual.workflows.search(free_text="order-7").results) == 2
    assert _get(manual, "/workflow/search?query=status%20IN%20(COMPLETED)")["totalHits"] == 1
    correlated = manual.workflows.get_by_correlation_ids("findme", ["order-7"], include_completed=True)
    assert sorted(w.workflow_id for w in correlated["order-7"]) == sorted([running, done])
    assert [w.workflow_id for w in manual.workflows.get_by_correlation_ids("findme", ["order-7"])["order-7"]] == [
        running
    ]
    page = (
        manual.task_api_workflow_tasks(done)
        if hasattr(manual, "task_api_workflow_tasks")
        else _get(manual, f"/workflow/{done}/tasks?status=COMPLETED")
    )
    assert (page["totalHits"], page["results"][0]["outputData"]) == (1, {"ok": 1})
    status = manual.workflows.get_workflow_status(done, include_output=True)
    assert (status.status, status.output) == ("COMPLETED", {"ok": 1})


def _get(conductor, path: str) -> Any:
    with urllib.request.urlopen(conductor.emulator.url + path, timeout=5) as response:
        return json.loads(response.read())


def test_poll_data_queue_sizes_and_domains(manual):
    """PollDataDAO, ExecutionService.getTaskQueueSizes, WorkflowExecutorOps.getActiveDomain."""
    manual.task_def("step")
    register(manual, "domains", [simple("step", "a")])
    manual.poll_now("step", worker_id="green-worker") if False else manual.task_api.batch_poll(
        "step", workerid="g", count=1, timeout=0, domain="green"
    )
    request = StartWorkflowRequest(name="domains", input={}, task_to_domain={"step": "blue,green,NO_DOMAIN"})
    active = manual.workflows.start_workflow(request)
    assert manual.workflow(active).tasks[0].domain == "green"  # green has a recent poller
    manual.clock.advance(11)
    fallback = manual.workflows.start_workflow(
        StartWorkflowRequest(name="domains", input={}, task_to_domain={"*": "blue,NO_DOMAIN"})
    )
    assert manual.workflow(fallback).tasks[0].domain is None  # no active poller: the last, NO_DOMAIN -> none

    assert manual.tasks.get_queue_size_for_task("step") == 1  # the no-domain queue only
    [poll] = manual.tasks.get_task_poll_data("step")
    assert (poll.queue_name, poll.domain, poll.worker_id) == ("green:step", "green", "g")


def test_rate_limit_per_frequency(manual):
    """RedisRateLimitingDAO.exceedsRateLimitPerFrequency: at most N deliveries per window, the rest postponed 60 s."""
    manual.task_def("limited", rate_limit_per_frequency=1, rate_limit_frequency_in_seconds=10)
    register(manual, "rated", [simple("limited", "a")])
    for _ in range(2):
        manual.start("rated")
    assert len(manual.poll_now("limited", count=2)) == 1
    manual.clock.advance(59)
    assert manual.poll_now("limited", count=2) == []
    manual.clock.advance(1)
    assert len(manual.poll_now("limited", count=2)) == 1


def test_total_timeout_bounds_every_attempt(manual):
    """DeciderService.checkTotalTimeout: totalTimeoutSeconds spans attempts and retry delays (TIME_OUT_WF)."""
    manual.task_def("slow", retry_count=5, retry_delay_seconds=10, total_timeout_seconds=30)
    register(manual, "bounded", [simple("slow", "a")])
    workflow_id = manual.start("bounded")
    manual.fail(manual.poll_one("slow"), "1")
    manual.clock.advance(10)
    manual.fail(manual.poll_one("slow"), "2")
    manual.clock.advance(19)
    assert manual.workflow(workflow_id).status == "RUNNING"
    manual.clock.advance(1)

    workflow = manual.workflow(workflow_id)
    assert workflow.status == "TIMED_OUT"
    assert "exceeded total timeout of 30 seconds" in workflow.reason_for_incompletion
    assert [t.status for t in workflow.tasks] == ["FAILED", "FAILED", "TIMED_OUT"]


def test_idempotent_start(manual):
    """StartWorkflowRequest.idempotencyKey with RETURN_EXISTING / FAIL (Orkes semantics; see docs)."""
    manual.task_def("step")
    register(manual, "once", [simple("step", "a")])
    request = StartWorkflowRequest(name="once", input={}, idempotency_key="k-1", idempotency_strategy="RETURN_EXISTING")
    first = manual.workflows.start_workflow(request)
    assert manual.workflows.start_workflow(request) == first
    with pytest.raises(ApiException) as caught:
        manual.workflows.start_workflow(StartWorkflowRequest(name="once", input={}, idempotency_key="k-1"))
    assert caught.value.status == 409


def test_update_v2_returns_the_next_task_only_for_terminal_results(manual):
    """TaskResource.updateTaskV2: 204 for IN_PROGRESS, the next task of that type after a terminal result."""
    manual.chain("wf", "work")
    manual.start("wf", {"value": 1})
    manual.start("wf", {"value": 2})
    first = manual.poll_one("work", worker_id="w")
    assert manual.task_api.update_task_v2(manual.result(first, "IN_PROGRESS", callback_after_seconds=0)) is None
    again = manual.poll_one("work", worker_id="w")
    following = manual.task_api.update_task_v2(manual.result(again, "COMPLETED"))
    assert following is not None and following.task_id != again.task_id


def test_batch_poll_answers_empty_list_and_bounds_the_timeout(manual):
    """TaskResource.batchPoll (200 [] when empty) and ExecutionService.poll (timeout above 5000 ms is 400)."""
    request = urllib.request.Request(manual.emulator.url + "/tasks/poll/batch/none?count=2&timeout=0")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert (response.status, json.loads(response.read())) == (200, [])
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(manual.emulator.url + "/tasks/poll/batch/none?timeout=5001", timeout=5)
    assert caught.value.code == 400
    caught.value.close()


def test_execute_waits_for_the_workflow(manual):
    """WorkflowResource.executeWorkflow through conductor-python's WorkflowExecutor.execute."""
    register(
        manual,
        "quick",
        [
            {
                "name": "calc",
                "taskReferenceName": "calc",
                "type": "INLINE",
                "inputParameters": {"expression": "$.n * 3", "n": "${workflow.input.n}"},
            }
        ],
    )
    executor = WorkflowExecutor(Configuration(server_api_url=manual.emulator.url))
    run = executor.execute("quick", version=1, workflow_input={"n": 4})
    assert (run.status, run.output) == ("COMPLETED", {"result": 12})
