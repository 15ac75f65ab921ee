"""Task API through conductor-python: poll, batch poll, update v1/v2, get, logs, lease, callbacks."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from conductor.client.http.models import Task, TaskExecLog
from conductor.client.http.rest import ApiException


def test_poll_marks_task_in_progress(manual):
    manual.chain("wf", "work", response_timeout_seconds=30)
    workflow_id = manual.start("wf", {"value": 5})
    scheduled = manual.workflow(workflow_id).tasks[0]
    manual.clock.advance(2)

    task = manual.tasks.poll_task("work", worker_id="host-1-abc")

    assert isinstance(task, Task)
    assert (task.task_id, task.status, task.worker_id, task.poll_count) == (
        scheduled.task_id,
        "IN_PROGRESS",
        "host-1-abc",
        1,
    )
    assert task.start_time == task.update_time == scheduled.scheduled_time + 2000
    assert (task.input_data, task.response_timeout_seconds, task.retry_count) == ({"value": 5}, 30, 0)
    empty = manual.tasks.poll_task("work", worker_id="host-1-abc")  # 204: the client makes an empty Task
    assert empty.task_id is None


def test_batch_poll_returns_up_to_count_in_fifo_order(conductor):
    conductor.chain("wf", "work")
    ids = [conductor.start("wf", {"value": n}) for n in range(3)]

    batch = conductor.tasks.batch_poll_tasks("work", worker_id="w", count=2, timeout_in_millisecond=10)
    rest = conductor.tasks.batch_poll_tasks("work", worker_id="w", count=5, timeout_in_millisecond=10)

    assert [t.workflow_instance_id for t in batch] == ids[:2]
    assert [t.workflow_instance_id for t in rest] == ids[2:]
    assert all(t.status == "IN_PROGRESS" and t.worker_id == "w" and t.poll_count == 1 for t in batch + rest)
    assert conductor.poll_now("work", count=5) == []


def test_long_poll_wakes_up_when_a_task_is_scheduled(conductor):
    conductor.chain("wf", "work")
    got: list[Task] = []

    def poll() -> None:
        got.extend(conductor.tasks.batch_poll_tasks("work", worker_id="w", count=1, timeout_in_millisecond=5000))

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.2)  # let the poll park on the server (not a timeout wait)
    started = time.monotonic()
    workflow_id = conductor.start("wf", {"value": 1})
    poller.join(5)

    assert [t.workflow_instance_id for t in got] == [workflow_id]
    assert time.monotonic() - started < 1.0  # woken by the scheduling, not by the 5 s timeout


def test_long_poll_times_out_empty(conductor):
    started = time.monotonic()
    assert conductor.tasks.batch_poll_tasks("idle", worker_id="w", count=3, timeout_in_millisecond=150) == []
    assert 0.1 <= time.monotonic() - started < 2.0


def test_update_v1_returns_task_id_and_advances(conductor):
    conductor.chain("wf", "first", "second")
    workflow_id = conductor.start("wf", {"value": 1})
    first = conductor.poll_one("first")

    assert conductor.complete(first, {"out": 1}) == first.task_id

    done = conductor.tasks.get_task(first.task_id)
    assert (done.status, done.output_data) == ("COMPLETED", {"out": 1})
    assert done.end_time >= done.start_time
    assert [t.status for t in conductor.workflow(workflow_id).tasks] == ["COMPLETED", "SCHEDULED"]


def test_update_v2_returns_next_task_of_same_type_or_none(conductor):
    conductor.chain("wf", "work")
    first_wf, second_wf = conductor.start("wf", {"value": 1}), conductor.start("wf", {"value": 2})
    first = conductor.poll_one("work", worker_id="w-9")

    following = conductor.task_api.update_task_v2(conductor.result(first, "COMPLETED", output_data={"n": 1}))

    assert isinstance(following, Task)
    assert (following.workflow_instance_id, following.status) == (second_wf, "IN_PROGRESS")
    assert (following.worker_id, following.poll_count) == ("w-9", 1)
    assert conductor.workflow(first_wf).status == "COMPLETED"
    assert conductor.task_api.update_task_v2(conductor.result(following, "COMPLETED")) is None  # 204
    assert conductor.workflow(second_wf).status == "COMPLETED"
    assert conductor.emulator.request_count("update_v2") == 2


def test_get_task_and_404_error_body(conductor):
    conductor.chain("wf", "work")
    workflow_id = conductor.start("wf", {"value": 1})
    task = conductor.poll_one("work")
    assert conductor.tasks.get_task(task.task_id).workflow_instance_id == workflow_id
    assert conductor.emulator.get_task(task.task_id)["status"] == "IN_PROGRESS"

    with pytest.raises(ApiException) as caught:
        conductor.tasks.get_task("no-such-task")
    assert caught.value.status == 404  # TaskResource.getTask
    assert '"message":"Task not found for taskId: no-such-task"' in caught.value.body


def test_task_logs_from_log_endpoint_and_task_result(manual):
    manual.chain("wf", "work")
    manual.start("wf", {"value": 1})
    task = manual.poll_one("work")

    manual.tasks.add_task_log(task.task_id, "downloading ref main")
    manual.clock.advance(1)
    result = manual.result(task, "COMPLETED")
    result.log("merged 3 files")
    result.logs[-1].created_time = int(manual.clock.now() * 1000)  # the emulator's (manual) clock, not the wall's
    manual.tasks.update_task(result)

    # SqliteIndexDAO / PostgresIndexDAO.getTaskExecutionLogs: ORDER BY created_time ASC
    logs = manual.tasks.get_task_logs(task.task_id)
    assert all(isinstance(entry, TaskExecLog) for entry in logs)
    assert [(entry.log, entry.task_id) for entry in logs] == [
        ("downloading ref main", task.task_id),
        ("merged 3 files", task.task_id),
    ]
    # ExecutionService.log stores a line for any task id, and TaskResource.getTaskLogs answers 204 when
    # there is none (conductor-python then returns [])
    manual.tasks.add_task_log("missing", "x")
    assert manual.tasks.get_task_logs("never-logged") == []
    with urllib.request.urlopen(manual.emulator.url + "/tasks/never-logged/log", timeout=5) as response:
        assert response.status == 204


def test_task_logs_follow_the_servers_limits_and_order(manual):
    """ExecutionDAOFacade.addTaskExecLog keeps 10 entries of a TaskResult; the index answers by createdTime;
    TaskResource.getTaskLogs answers 204 for a task without entries."""
    manual.chain("wf", "work")
    manual.start("wf", {"value": 1})
    task = manual.poll_one("work")
    with urllib.request.urlopen(f"{manual.emulator.url}/tasks/{task.task_id}/log") as response:
        assert (response.status, response.read()) == (204, b"")

    manual.clock.advance(5)
    manual.tasks.add_task_log(task.task_id, "posted at +5 s")
    result = manual.result(task, "COMPLETED")
    result.logs = [TaskExecLog(log=f"entry {n}", task_id=task.task_id, created_time=1_000 + n) for n in range(12)]
    manual.tasks.update_task(result)

    logs = [entry.log for entry in manual.tasks.get_task_logs(task.task_id)]
    assert logs == [f"entry {n}" for n in range(10)] + ["posted at +5 s"]


def test_extend_lease_only_moves_update_time(manual):
    manual.chain("wf", "work", response_timeout_seconds=10)
    manual.start("wf", {"value": 1})
    task = manual.poll_one("work")
    manual.clock.advance(8)

    lease = manual.result(task, "IN_PROGRESS", extend_lease=True, output_data={"ignored": True})
    manual.tasks.update_task(lease)

    after = manual.tasks.get_task(task.task_id)
    assert (after.status, after.poll_count, after.output_data) == ("IN_PROGRESS", 1, {})
    assert after.update_time == task.update_time + 8000
    assert after.start_time == task.start_time
    manual.clock.advance(8)  # 16 s since poll, 8 s since the lease extension: still alive
    assert manual.tasks.get_task(task.task_id).status == "IN_PROGRESS"
    manual.clock.advance(2)
    assert manual.tasks.get_task(task.task_id).status == "TIMED_OUT"


def test_in_progress_with_callback_requeues_same_task(manual):
    manual.chain("wf", "work")
    manual.start("wf", {"value": 1})
    task = manual.poll_one("work")

    update = manual.result(task, "IN_PROGRESS", callback_after_seconds=30, output_data={"progress": 50})
    manual.tasks.update_task(update)

    parked = manual.tasks.get_task(task.task_id)
    assert (parked.status, parked.callback_after_seconds, parked.output_data) == (
        "SCHEDULED",
        30,
        {"progress": 50},
    )
    assert manual.poll_now("work", count=1) == []
    manual.clock.advance(29)
    assert manual.poll_now("work", count=1) == []
    manual.clock.advance(1)

    again = manual.poll_one("work", worker_id="w-2")
    assert (again.task_id, again.poll_count, again.worker_id) == (task.task_id, 2, "w-2")
    assert (again.status, again.callback_after_seconds, again.start_time) == (
        "IN_PROGRESS",
        0,
        task.start_time,
    )


def test_updates_to_finished_tasks_are_ignored_with_200(conductor):
    conductor.chain("wf", "work")
    workflow_id = conductor.start("wf", {"value": 1})
    task = conductor.poll_one("work")
    conductor.complete(task, {"first": True})

    assert conductor.tasks.update_task(conductor.result(task, "FAILED", reason_for_incompletion="late")) == task.task_id
    assert conductor.task_api.update_task_v2(conductor.result(task, "COMPLETED", output_data={"x": 1})) is None

    again = conductor.tasks.get_task(task.task_id)
    assert (again.status, again.output_data) == ("COMPLETED", {"first": True})
    assert conductor.workflow(workflow_id).status == "COMPLETED"


def test_update_of_unknown_task_is_404(conductor):
    from conductor.client.http.models import TaskResult

    with pytest.raises(ApiException) as caught:
        conductor.tasks.update_task(TaskResult(workflow_instance_id="w", task_id="ghost", status="COMPLETED"))
    assert caught.value.status == 404


def test_concurrent_exec_limit_postpones_excess_tasks_by_60s(manual):
    # ExecutionService.poll + RedisExecutionDAO.exceedsLimit: a task over concurrentExecLimit is not delivered
    # but postponed in its queue by taskExecutionPostponeDuration (60 s)
    manual.chain("wf", "limited", concurrent_exec_limit=2)
    for n in range(3):
        manual.start("wf", {"value": n})

    first = manual.poll_now("limited", count=3)
    assert len(first) == 2
    manual.complete(first[0])
    assert manual.poll_now("limited", count=3) == []  # the third one waits out its postponement
    manual.clock.advance(59)
    assert manual.poll_now("limited", count=3) == []
    manual.clock.advance(1)
    assert len(manual.poll_now("limited", count=3)) == 1


def test_queue_size(conductor):
    conductor.chain("wf", "queued")
    conductor.start("wf", {"value": 1})
    conductor.start("wf", {"value": 2})
    assert conductor.tasks.get_queue_size_for_task("queued") == 2
    conductor.poll_one("queued")
    assert conductor.tasks.get_queue_size_for_task("queued") == 1


def test_update_replaces_output_reason_and_worker_like_conductor(manual):
    manual.chain("wf", "work")
    manual.start("wf", {"value": 1})
    task = manual.poll_one("work", worker_id="w-1")
    manual.tasks.update_task(manual.result(task, "IN_PROGRESS", output_data={"step": 1}, callback_after_seconds=1))
    manual.clock.advance(1)
    again = manual.poll_one("work", worker_id="w-2")
    result = manual.result(again, "COMPLETED")
    result.output_data = None
    manual.tasks.update_task(result)

    done = manual.tasks.get_task(task.task_id)
    assert (done.status, done.output_data, done.worker_id, done.poll_count) == ("COMPLETED", {}, "w-2", 2)


def test_invalid_result_status_is_400(conductor):
    conductor.chain("wf", "work")
    conductor.start("wf", {"value": 1})
    task = conductor.poll_one("work")
    body = json.dumps({"taskId": task.task_id, "workflowInstanceId": task.workflow_instance_id, "status": "SKIPPED"})
    request = urllib.request.Request(
        conductor.emulator.url + "/tasks", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400
    assert "status must be one of" in json.loads(caught.value.read())["message"]
    caught.value.close()
    assert conductor.tasks.get_task(task.task_id).status == "IN_PROGRESS"


def test_long_poll_timeout_above_five_seconds_is_rejected(conductor):
    with pytest.raises(ApiException) as caught:
        conductor.task_api.batch_poll("work", workerid="w", count=1, timeout=5001)
    assert caught.value.status == 400
    assert "cannot be more than 5 seconds" in caught.value.body


def test_log_lines_need_a_body_and_result_logs_keep_their_created_time(conductor):
    """TaskResource.log (@RequestBody is required) and IndexDAO logs stored as sent (createdTime 0 when absent),
    returned oldest first (SqliteIndexDAO.getTaskExecutionLogs: ORDER BY created_time ASC)."""
    conductor.chain("wf", "work")
    workflow_id = conductor.start("wf", {"value": 1})
    task = conductor.poll_one("work")
    empty = urllib.request.Request(conductor.emulator.url + f"/tasks/{task.task_id}/log", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(empty, timeout=5)
    assert caught.value.code == 400
    caught.value.close()
    result = {
        "taskId": task.task_id,
        "workflowInstanceId": workflow_id,
        "status": "COMPLETED",
        "logs": [{"log": "dated", "createdTime": 1234}, {"log": "undated"}],
    }
    request = urllib.request.Request(
        conductor.emulator.url + "/tasks",
        data=json.dumps(result).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()
    logs = conductor.tasks.get_task_logs(task.task_id)
    assert [(entry.log, entry.created_time) for entry in logs] == [("undated", 0), ("dated", 1234)]
