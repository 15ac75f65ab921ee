"""Time-driven behaviour on a ManualClock: response/total timeouts, retries, terminal failures."""

from __future__ import annotations

import time

import pytest


def _poll_none(conductor, task_type: str) -> bool:
    return conductor.poll_now(task_type) == []


def test_response_timeout_retries_with_a_new_task_id(manual):
    manual.chain("wf", "work", response_timeout_seconds=30, retry_count=2, retry_delay_seconds=5)
    workflow_id = manual.start("wf", {"value": 9})
    first = manual.poll_one("work")
    manual.clock.advance(29)
    assert manual.tasks.get_task(first.task_id).status == "IN_PROGRESS"

    manual.clock.advance(1)

    timed_out = manual.tasks.get_task(first.task_id)
    assert timed_out.status == "TIMED_OUT"
    assert "responseTimeout: 30 exceeded" in timed_out.reason_for_incompletion
    assert timed_out.retried is True
    retry = manual.workflow(workflow_id).tasks[-1]
    assert retry.task_id != first.task_id
    assert (retry.status, retry.retry_count, retry.retried_task_id) == ("SCHEDULED", 1, first.task_id)
    assert (retry.reference_task_name, retry.input_data, retry.poll_count) == ("work_0", {"value": 9}, 0)
    assert retry.worker_id is None
    assert _poll_none(manual, "work")  # retry delay of 5 s not elapsed yet
    manual.clock.advance(5)
    polled = manual.poll_one("work")
    assert (polled.task_id, polled.poll_count) == (retry.task_id, 1)

    # the stale worker's late completion is ignored; the retry is what counts
    manual.complete(first, {"stale": True})
    assert manual.tasks.get_task(first.task_id).status == "TIMED_OUT"
    manual.complete(polled, {"fresh": True})
    workflow = manual.workflow(workflow_id)
    assert (workflow.status, workflow.output) == ("COMPLETED", {"fresh": True})


def test_response_timeout_exhausted_times_out_the_workflow(manual):
    manual.chain("wf", "work", response_timeout_seconds=10, retry_count=1, retry_delay_seconds=0)
    workflow_id = manual.start("wf", {"value": 1})
    manual.poll_one("work")
    manual.clock.advance(10)
    manual.poll_one("work")
    manual.clock.advance(10)

    workflow = manual.workflow(workflow_id)
    assert [(t.status, t.retry_count) for t in workflow.tasks] == [("TIMED_OUT", 0), ("TIMED_OUT", 1)]
    assert workflow.status == "TIMED_OUT"
    assert workflow.reason_for_incompletion.startswith(
        f"Task {workflow.tasks[1].task_id} failed with status: TIMED_OUT"
    )
    assert not workflow.failed_reference_task_names  # Conductor lists FAILED tasks only, not TIMED_OUT


def test_failures_exhaust_retries_and_fail_the_workflow(manual):
    manual.chain("wf", "work", retry_count=2, retry_delay_seconds=0)
    workflow_id = manual.start("wf", {"value": 1})
    for attempt in range(3):
        task = manual.poll_one("work")
        assert task.retry_count == attempt
        manual.fail(task, f"attempt {attempt} broke")

    workflow = manual.workflow(workflow_id)
    assert workflow.status == "FAILED"
    assert "attempt 2 broke" in workflow.reason_for_incompletion
    assert [t.status for t in workflow.tasks] == ["FAILED"] * 3
    assert [t.retried for t in workflow.tasks] == [True, True, False]
    assert _poll_none(manual, "work")


def test_terminal_error_is_not_retried(manual):
    manual.chain("wf", "work", retry_count=3, retry_delay_seconds=0)
    workflow_id = manual.start("wf", {"value": 1})
    manual.fail(manual.poll_one("work"), "bad input", status="FAILED_WITH_TERMINAL_ERROR")

    workflow = manual.workflow(workflow_id)
    assert workflow.status == "FAILED"
    assert [t.status for t in workflow.tasks] == ["FAILED_WITH_TERMINAL_ERROR"]
    assert "bad input" in workflow.reason_for_incompletion


@pytest.mark.parametrize(
    ("logic", "scale", "delays"),
    [("FIXED", 1, [4, 4, 4]), ("EXPONENTIAL_BACKOFF", 1, [4, 8, 16]), ("LINEAR_BACKOFF", 2, [8, 16, 24])],
)
def test_retry_delay_follows_retry_logic(manual, logic, scale, delays):
    manual.chain("wf", "work", retry_count=3, retry_delay_seconds=4, retry_logic=logic, backoff_scale_factor=scale)
    workflow_id = manual.start("wf", {"value": 1})
    manual.fail(manual.poll_one("work"))
    for delay in delays:
        retry = manual.workflow(workflow_id).tasks[-1]
        assert retry.start_delay_in_seconds == delay
        manual.clock.advance(delay - 1)
        assert _poll_none(manual, "work")
        manual.clock.advance(1)
        manual.fail(manual.poll_one("work"))
    assert manual.workflow(workflow_id).status == "FAILED"


def test_total_timeout_counts_from_start_and_lease_does_not_help(manual):
    manual.chain("wf", "work", timeout_seconds=60, response_timeout_seconds=20, retry_count=0)
    workflow_id = manual.start("wf", {"value": 1})
    task = manual.poll_one("work")
    for _ in range(3):
        manual.clock.advance(19)
        manual.tasks.update_task(manual.result(task, "IN_PROGRESS", extend_lease=True))
    assert manual.tasks.get_task(task.task_id).status == "IN_PROGRESS"  # 57 s: lease kept it alive
    manual.clock.advance(3)

    timed_out = manual.tasks.get_task(task.task_id)
    assert timed_out.status == "TIMED_OUT"
    assert "Timeout configured as 60 seconds" in timed_out.reason_for_incompletion
    assert manual.workflow(workflow_id).status == "TIMED_OUT"  # TIME_OUT_WF


def test_total_timeout_with_retry_policy_schedules_a_retry(manual):
    manual.chain(
        "wf",
        "work",
        timeout_seconds=30,
        response_timeout_seconds=30,
        timeout_policy="RETRY",
        retry_count=1,
        retry_delay_seconds=0,
    )
    workflow_id = manual.start("wf", {"value": 1})
    first = manual.poll_one("work")
    manual.clock.advance(30)
    retry = manual.poll_one("work")
    assert (retry.retried_task_id, retry.retry_count) == (first.task_id, 1)
    assert manual.workflow(workflow_id).status == "RUNNING"


def test_workflow_timeout(manual, make_simple):
    from conductor.client.http.models import WorkflowDef

    manual.task_def("work")
    manual.metadata.register_workflow_def(
        WorkflowDef(
            name="bounded",
            version=1,
            tasks=[make_simple("work", "w")],
            timeout_seconds=100,
            timeout_policy="TIME_OUT_WF",
        ),
        overwrite=True,
    )
    workflow_id = manual.start("bounded")
    manual.clock.advance(100)
    workflow = manual.workflow(workflow_id)
    assert (workflow.status, [t.status for t in workflow.tasks]) == ("TIMED_OUT", ["CANCELED"])


def test_background_sweeper_applies_timeouts_on_real_time(conductor):
    conductor.chain("wf", "quick", response_timeout_seconds=1, retry_count=0)
    workflow_id = conductor.start("wf", {"value": 1})
    task = conductor.poll_one("quick")
    # backdate the lease instead of sleeping through the timeout; the ~100 ms sweeper must notice
    with conductor.emulator.engine.lock:
        conductor.emulator.engine.store.tasks[task.task_id].update_time -= 1500
    deadline = time.monotonic() + 3
    while conductor.emulator.get_workflow(workflow_id)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert conductor.workflow(workflow_id).status == "TIMED_OUT"


def test_poll_timeout_applies_to_unpolled_tasks(manual):
    manual.chain("wf", "lonely", poll_timeout_seconds=20, timeout_policy="TIME_OUT_WF", retry_count=0)
    workflow_id = manual.start("wf", {"value": 1})
    manual.clock.advance(19)
    assert manual.workflow(workflow_id).status == "RUNNING"
    manual.clock.advance(1)
    workflow = manual.workflow(workflow_id)
    assert workflow.status == "TIMED_OUT"
    assert "Task poll timed out after 20 seconds" in workflow.tasks[0].reason_for_incompletion


def test_alert_only_timeout_leaves_the_task_running(manual):
    manual.chain(
        "wf",
        "slow",
        timeout_seconds=10,
        response_timeout_seconds=10,
        timeout_policy="ALERT_ONLY",
        retry_count=0,
    )
    workflow_id = manual.start("wf", {"value": 1})
    task = manual.poll_one("slow")
    for _ in range(3):
        manual.clock.advance(9)
        manual.tasks.update_task(manual.result(task, "IN_PROGRESS", extend_lease=True))
    assert manual.tasks.get_task(task.task_id).status == "IN_PROGRESS"
    assert manual.workflow(workflow_id).status == "RUNNING"


def test_task_definitions_are_snapshotted_when_the_workflow_starts(manual):
    manual.chain("wf", "work", response_timeout_seconds=10, retry_count=0)
    workflow_id = manual.start("wf", {"value": 1})
    manual.task_def("work", response_timeout_seconds=1000, retry_count=0)  # too late for this run
    task = manual.poll_one("work")
    assert task.response_timeout_seconds == 10
    assert task.workflow_task.task_definition.response_timeout_seconds == 10
    manual.clock.advance(10)
    assert manual.workflow(workflow_id).status == "TIMED_OUT"


def test_failed_workflow_reason_and_output_come_from_the_failed_task(manual):
    manual.chain("wf", "work", retry_count=0)
    workflow_id = manual.start("wf", {"value": 1})
    task = manual.poll_one("work")
    manual.tasks.update_task(
        manual.result(task, "FAILED", reason_for_incompletion="disk full", output_data={"partial": 3})
    )
    workflow = manual.workflow(workflow_id)
    assert workflow.reason_for_incompletion == f"Task {task.task_id} failed with status: FAILED and reason: 'disk full'"
    assert workflow.output == {"partial": 3}


def test_retry_reevaluates_inputs_over_the_failed_attempt(manual, make_simple):
    manual.task_def("first")
    manual.task_def("second", retry_count=1, retry_delay_seconds=0)
    manual.workflow_def("wf", [make_simple("first", "f"), make_simple("second", "s", {"from_first": "${f.output.v}"})])
    workflow_id = manual.start("wf")
    manual.complete(manual.poll_one("first"), {"v": 1})
    second = manual.poll_one("second")
    manual.fail(second)
    retry = manual.poll_one("second")
    assert retry.input_data == {"from_first": 1}
    assert retry.retried_task_id == second.task_id
    assert manual.workflow(workflow_id).status == "RUNNING"
