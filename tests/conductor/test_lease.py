"""The lease keeper alone, with a fake Conductor and an injected clock: when it extends, when it cancels."""

from __future__ import annotations

import threading
from typing import Any

from conductor.client.http.models.task import Task

from perago.conductor.lease import LeaseKeeper
from perago.errors import ConductorError
from perago.models import AttemptSnapshot


class FakeApi:
    def __init__(self) -> None:
        self.extended: list[float] = []
        self.budgets: list[tuple[str, float | None]] = []
        self.current: Task | None = None
        self.fail = False
        self.now = 0.0

    def extend_lease(self, task: Task, worker_id: str, within_s: float | None = None) -> None:
        self.budgets.append(("extend", within_s))
        if self.fail:
            raise ConductorError("cannot reach Conductor", retryable=True)
        self.extended.append(self.now)

    def get_task(self, task_id: str, within_s: float | None = None) -> Task | None:
        self.budgets.append(("read", within_s))
        return self.current


def polled(**changes: Any) -> Task:
    fields = {
        "task_id": "t1",
        "workflow_instance_id": "wf",
        "poll_count": 1,
        "retry_count": 0,
        "worker_id": "w",
        "status": "IN_PROGRESS",
        "task_def_name": "slow",
        "reference_task_name": "s",
        "response_timeout_seconds": 10,
    }
    return Task(**(fields | changes))


def keeper_with(api: FakeApi, stale: list[Task]) -> tuple[LeaseKeeper, threading.Event]:
    keeper = LeaseKeeper(api, "w", clock=lambda: api.now, fraction=0.5, on_stale=stale.append)  # type: ignore[arg-type]
    task, cancel = polled(), threading.Event()
    api.current = task
    keeper.track(task, AttemptSnapshot.of(task), cancel)
    return keeper, cancel


def test_extends_every_half_response_timeout_and_keeps_a_current_attempt() -> None:
    api, stale = FakeApi(), []
    keeper, cancel = keeper_with(api, stale)
    for now in (1.0, 4.9, 5.0, 9.9, 10.0, 12.0, 15.0):
        api.now = now
        keeper.tick()
    assert api.extended == [5.0, 10.0, 15.0]
    assert not cancel.is_set() and stale == []


def test_transport_errors_do_not_cancel_and_the_next_tick_retries() -> None:
    api, stale = FakeApi(), []
    keeper, cancel = keeper_with(api, stale)
    api.fail, api.now = True, 5.0
    keeper.tick()
    api.fail, api.now = False, 10.0
    keeper.tick()
    assert api.extended == [10.0] and not cancel.is_set()


def test_a_redelivered_or_cancelled_task_cancels_the_attempt_once() -> None:
    for current in (polled(poll_count=2, worker_id="other"), polled(status="CANCELED"), None):
        api, stale = FakeApi(), []
        keeper, cancel = keeper_with(api, stale)
        api.current, api.now = current, 5.0
        keeper.tick()
        api.now = 10.0
        keeper.tick()  # forgotten after the first detection: no second extension
        assert cancel.is_set() and len(stale) == 1 and api.extended == [5.0]


def test_tasks_without_a_response_timeout_cost_nothing() -> None:
    api = FakeApi()
    keeper = LeaseKeeper(api, "w", clock=lambda: api.now)  # type: ignore[arg-type]
    task = polled(response_timeout_seconds=0)
    keeper.track(task, AttemptSnapshot.of(task), threading.Event())
    api.now = 1e6
    keeper.tick()
    assert api.extended == []


def test_calls_retry_within_the_lease_left_and_an_extension_renews_it() -> None:
    api, stale = FakeApi(), []
    keeper, _ = keeper_with(api, stale)  # polled at 0 with a 10 s response timeout: the lease runs out at 10
    api.now = 3.0
    assert keeper.remaining("t1") == 7.0
    api.now = 5.0
    keeper.tick()  # extended at 5: the lease now runs out at 15
    assert api.budgets == [("extend", 5.0), ("read", 10.0)]
    api.now = 12.0
    assert keeper.remaining("t1") == 3.0
    api.fail, api.now = True, 14.0
    keeper.tick()  # the extension failed (after its own retries): the deadline stays at 15
    assert api.budgets[-1] == ("extend", 1.0) and keeper.remaining("t1") == 1.0
    api.now = 20.0
    assert keeper.remaining("t1") == 0.0 and keeper.remaining("unknown") is None
