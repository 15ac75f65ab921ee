"""Attempt events reach Conductor's task log as they happen, once each, without a request per event on the hot path."""

from __future__ import annotations

import threading
from pathlib import Path

from perago.conductor import Worker
from perago.conductor.events import EventStream
from perago.conductor.registration import register_task_definitions
from perago.errors import ConductorError
from perago.eventlog import parse_log
from perago.execution import AttemptEvent
from perago.result import completed_result
from perago.testing.conductor import ConductorEmulator
from tests.conductor import free_tasks
from tests.conductor.free_tasks import double
from tests.conductor.helpers import Gate, http, register_workflow, simple, start, wait_until
from tests.conductor.test_worker import run_slow_workflow, settings_for


class Posts:
    """A fake ``POST /tasks/{id}/log``: records what it was sent, can fail or block."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures: list[Exception] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, task_id: str, text: str) -> None:
        self.release.wait(10)
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((task_id, text))


def phases(texts: list[str]) -> list[str]:
    return [event.phase for event in parse_log(texts)[0]]


def test_events_of_a_short_attempt_wait_for_the_final_update() -> None:
    posts = Posts()
    stream = EventStream(posts, "w-1", linger_s=60)
    listen = stream.listener("t-1", "t-1-p1")
    listen(AttemptEvent("received", "poll 1, retry 0"))
    listen(AttemptEvent("completed", "output ref c1", fields={"ref": "c1"}))

    result = stream.settle("t-1", "t-1-p1", completed_result({"result": {}}, ["phase lines"]), reported=True)

    assert posts.sent == [], "no request of its own"
    [entry] = result.logs  # one entry: the server keeps at most 10 of a TaskResult
    assert phases([entry]) == ["received", "completed"] and result.events == ()
    assert stream.take("t-1", "t-1-p1") == [], "taken once"


def test_events_older_than_the_linger_are_posted_one_request_each_and_not_again() -> None:
    posts = Posts()
    stream = EventStream(posts, "w-1", linger_s=0.02)
    listen = stream.listener("t-1", "t-1-p1")
    listen(AttemptEvent("received", ""))
    listen(AttemptEvent("downloaded", "songs@c0: 1 object(s), 5 byte(s)"))
    wait_until(lambda: len(posts.sent) == 2, what="the sender")

    assert [task for task, _ in posts.sent] == ["t-1", "t-1"]
    assert phases([text for _, text in posts.sent]) == ["received", "downloaded"]
    result = stream.settle("t-1", "t-1-p1", completed_result({"result": {}}), reported=True)
    assert result.logs == (), "nothing left for the final update"


def test_an_unreported_attempt_sends_its_pending_events_at_once() -> None:
    posts = Posts()
    stream = EventStream(posts, "w-1", linger_s=60)
    stream.listener("t-1", "t-1-p1")(AttemptEvent("failed", "StaleAttemptError: superseded"))
    result = completed_result({"result": {}})

    assert stream.settle("t-1", "t-1-p1", result, reported=False) is result
    assert phases([text for _, text in posts.sent]) == ["failed"]


def test_the_listener_never_waits_for_conductor_and_the_sender_survives_failures() -> None:
    posts = Posts()
    posts.failures = [ConductorError("Conductor could not add to the log (HTTP 503)"), RuntimeError("bug")]
    posts.release.clear()  # Conductor hangs
    stream = EventStream(posts, "w-1", linger_s=0)
    listen = stream.listener("t-1", "t-1-p1")
    for phase in ("received", "downloaded", "body"):
        listen(AttemptEvent(phase, ""))  # returns although the sender is stuck in a request
    posts.release.set()

    wait_until(lambda: len(posts.sent) == 1, what="the sender after two failed requests")
    listen(AttemptEvent("fence", "passed before staging"))
    wait_until(lambda: len(posts.sent) == 2, what="a later batch")
    assert phases([text for _, text in posts.sent]) == ["body", "fence"]


def test_a_burst_of_short_attempts_makes_no_log_request(conductor_emulator: ConductorEmulator, tmp_path: Path) -> None:
    settings = settings_for(conductor_emulator, tmp_path, concurrency=4)
    register_task_definitions([double], settings)
    register_workflow(conductor_emulator, "doubler", [simple("double", "d", {"params": {"x": "${workflow.input.x}"}})])
    ids = [start(conductor_emulator, "doubler", {"x": i}) for i in range(20)]
    worker = Worker([double], settings)
    assert worker.run_until_idle(idle_s=0.3) == 20

    assert conductor_emulator.request_count("add_log") == 0
    for workflow_id in ids:
        task = conductor_emulator.get_workflow(workflow_id)["tasks"][0]
        entries = [entry["log"] for entry in http("GET", f"{conductor_emulator.url}/tasks/{task['taskId']}/log")]
        assert len(entries) == 1 and phases(entries) == ["received", "completed"]
        assert {event.worker_id for event in parse_log(entries)[0]} == {worker.worker_id}


def test_a_long_attempt_shows_its_events_while_it_runs(conductor_emulator: ConductorEmulator, tmp_path: Path) -> None:
    free_tasks.GATE = Gate()
    worker, workflow_id = run_slow_workflow(conductor_emulator, tmp_path)
    task_id = conductor_emulator.get_workflow(workflow_id)["tasks"][0]["taskId"]

    def logged() -> list[str]:
        return phases([entry["log"] for entry in http("GET", f"{conductor_emulator.url}/tasks/{task_id}/log") or []])

    wait_until(lambda: logged() == ["received"], what="the received event, before the attempt ends")
    free_tasks.GATE.opened.set()
    wait_until(lambda: conductor_emulator.get_workflow(workflow_id)["status"] == "COMPLETED", what="completion")
    worker.stop(drain_timeout_s=5)
    assert logged() == ["received", "completed"], "each event once"
    assert conductor_emulator.request_count("add_log") == 1


def test_a_stale_attempt_is_not_reported_but_its_events_are_logged(
    conductor_emulator_manual: ConductorEmulator, tmp_path: Path
) -> None:
    free_tasks.GATE = Gate()
    emu = conductor_emulator_manual
    worker, workflow_id = run_slow_workflow(emu, tmp_path)
    emu.clock.advance(11)  # type: ignore[attr-defined]  # response timeout: TIMED_OUT, retry scheduled
    worker.lease.tick()  # the keeper finds the task TIMED_OUT and cancels the attempt
    free_tasks.GATE.opened.set()
    wait_until(lambda: emu.get_workflow(workflow_id)["status"] == "COMPLETED", what="the retry's completion")
    worker.stop(drain_timeout_s=5)

    stale, retry = emu.get_workflow(workflow_id)["tasks"]
    entries = [entry["log"] for entry in http("GET", f"{emu.url}/tasks/{stale['taskId']}/log")]
    events = parse_log(entries)[0]
    assert [event.phase for event in events] == ["received", "failed"] and stale["status"] == "TIMED_OUT"
    assert events[1].detail.startswith("AttemptCancelledError"), events[1]
    assert retry["status"] == "COMPLETED"
