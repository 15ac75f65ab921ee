"""The worker's gate on its own: lock renewal, a lost key cancelling the attempt, all-or-nothing key taking."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from conductor.client.http.models.task import Task

from perago.concurrency import AttemptHandedBack, LockKey
from perago.conductor.gate import AttemptGate, GateServices
from perago.lakefs.client import LakeFSConnection
from perago.lakefs.locks import Held, LakeFSLocks, Lease
from perago.testing.lakefs import LakeFSEmulator
from tests.conductor.lock_tasks import guarded
from tests.conductor.test_pipeline import REPO, settings_for


class Now:
    def __init__(self) -> None:
        self.value = 1_000_000.0

    def __call__(self) -> float:
        return self.value


def gate_for(lakefs: LakeFSEmulator, tmp_path: Path, now: Now) -> AttemptGate:
    lakefs.create_repository(REPO)
    settings = settings_for(SimpleNamespace(url="http://127.0.0.1:9/api"), lakefs, tmp_path)  # type: ignore[arg-type]
    worker = SimpleNamespace(settings=settings, worker_id="w-1", store=None, api=None)
    services = GateServices(worker)  # type: ignore[arg-type]
    services.locks.clock = now
    task = Task(task_id="t-1", workflow_instance_id="wf", poll_count=1, retry_count=0, response_timeout_seconds=30)
    task.input_data = {"params": {"key": "A", "log": "x"}}
    return AttemptGate(services, guarded, task, threading.Event())


def keys(*names: str) -> list[tuple[LockKey, str]]:
    return [(LockKey.of({"test-key": n}), "concurrency key") for n in names]


def test_renewal_keeps_the_key_and_a_key_taken_after_the_lease_cancels_the_attempt(
    lakefs_emulator: LakeFSEmulator, tmp_path: Path
) -> None:
    now = Now()
    gate = gate_for(lakefs_emulator, tmp_path, now)
    other = LakeFSLocks(LakeFSConnection(gate.settings), clock=now)
    gate._lock(keys("A"), REPO)
    try:
        now.value += 20
        assert gate.renew() and not gate.cancel.is_set()
        now.value += 20  # within the renewed lease
        assert isinstance(other.acquire(REPO, LockKey.of({"test-key": "A"}), "w-2", 30), Held)
        now.value += 31  # the keeper stalled past the lease: another worker takes the key
        assert isinstance(other.acquire(REPO, LockKey.of({"test-key": "A"}), "w-2", 30), Lease)
        assert not gate.renew() and gate.cancel.is_set(), "the attempt is told to stop"
        assert [e.phase for e in gate.events] == ["locked", "lock lost"]
    finally:
        gate.release()


def test_keys_are_taken_all_or_none(lakefs_emulator: LakeFSEmulator, tmp_path: Path) -> None:
    now = Now()
    gate = gate_for(lakefs_emulator, tmp_path, now)
    other = LakeFSLocks(LakeFSConnection(gate.settings), clock=now)
    assert isinstance(other.acquire(REPO, LockKey.of({"test-key": "B"}), "w-2", 30), Lease)
    with pytest.raises(AttemptHandedBack, match=re.escape('concurrency key {"test-key":"B"} is held by w-2')) as info:
        gate._lock(keys("A", "B"), REPO)
    assert info.value.after_s == gate.settings.blocked_callback_s
    assert isinstance(other.acquire(REPO, LockKey.of({"test-key": "A"}), "w-2", 30), Lease), "A was given back"
