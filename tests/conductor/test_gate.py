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
from perago.testing.conductor import ManualClock
from perago.testing.lakefs import LakeFSEmulator
from tests.conductor.lock_tasks import guarded
from tests.conductor.test_pipeline import REPO, settings_for


def gate_for(lakefs: LakeFSEmulator, tmp_path: Path, now: ManualClock) -> AttemptGate:
    lakefs.create_repository(REPO)
    settings = settings_for(SimpleNamespace(url="http://127.0.0.1:9/api"), lakefs, tmp_path)  # type: ignore[arg-type]
    worker = SimpleNamespace(settings=settings, worker_id="w-1", store=None, api=None)
    services = GateServices(worker)  # type: ignore[arg-type]
    services.locks.clock = now.now
    task = Task(task_id="t-1", workflow_instance_id="wf", poll_count=1, retry_count=0, response_timeout_seconds=30)
    task.input_data = {"params": {"key": "A", "log": "x"}}
    return AttemptGate(services, guarded, task, threading.Event())


def keys(*names: str) -> list[tuple[LockKey, str]]:
    return [(LockKey.of({"test-key": n}), "concurrency key") for n in names]


def test_renewal_keeps_the_key_and_a_key_taken_after_the_lease_cancels_the_attempt(
    lakefs_emulator: LakeFSEmulator, tmp_path: Path
) -> None:
    now = ManualClock(1_000_000.0)
    gate = gate_for(lakefs_emulator, tmp_path, now)
    other = LakeFSLocks(LakeFSConnection(gate.settings), clock=now.now)
    gate._lock(keys("A"), REPO)
    try:
        now.advance(20)
        assert gate.renew() and not gate.cancel.is_set()
        now.advance(20)  # within the renewed lease
        assert isinstance(other.acquire(REPO, LockKey.of({"test-key": "A"}), "w-2", 30), Held)
        now.advance(31)  # the keeper stalled past the lease: another worker takes the key
        assert isinstance(other.acquire(REPO, LockKey.of({"test-key": "A"}), "w-2", 30), Lease)
        assert not gate.renew() and gate.cancel.is_set(), "the attempt is told to stop"
        assert [e.phase for e in gate.events] == ["locked", "lock lost"]
    finally:
        gate.release()


def test_keys_are_taken_all_or_none(lakefs_emulator: LakeFSEmulator, tmp_path: Path) -> None:
    now = ManualClock(1_000_000.0)
    gate = gate_for(lakefs_emulator, tmp_path, now)
    other = LakeFSLocks(LakeFSConnection(gate.settings), clock=now.now)
    assert isinstance(other.acquire(REPO, LockKey.of({"test-key": "B"}), "w-2", 30), Lease)
    with pytest.raises(AttemptHandedBack, match=re.escape('concurrency key {"test-key":"B"} is held by w-2')) as info:
        gate._lock(keys("A", "B"), REPO)
    assert info.value.after_s == gate.settings.blocked_callback_s
    assert isinstance(other.acquire(REPO, LockKey.of({"test-key": "A"}), "w-2", 30), Lease), "A was given back"


def test_a_memo_recorded_between_the_lookup_and_the_lock_is_found_after_the_lock(tmp_path: Path) -> None:
    """Check, lock, check again: the identical call that held the lock may have recorded its memo and released it
    just after this attempt's first lookup; the second lookup finds it, and the lock is given back."""
    from perago.memo import MemoRecord
    from perago.models import WorkspaceInput
    from perago.spec import WorkspaceSpec
    from tests.conductor.memo_tasks import count

    record = MemoRecord(key="k", output_ref="a" * 64, result={"files": 2, "by": "t-0"}, input_commit="a" * 64)
    lookups: list[str] = []
    released: list[Lease] = []

    class Memo:
        def resolve(self, workspace: WorkspaceInput) -> str:
            return "a" * 64

        def lookup(self, repository: str, key: str) -> MemoRecord | None:
            lookups.append(key)
            return record if len(lookups) > 1 else None  # recorded by the other attempt in between

    class Locks:
        def acquire(self, repository: str, key: LockKey, holder: str, lease_s: float) -> Lease:
            return Lease(repository, key, holder, lease_s, 2, 0.0)

        def release(self, lease: Lease) -> None:
            released.append(lease)

    worker = SimpleNamespace(
        settings=settings_for(
            SimpleNamespace(url="x"), SimpleNamespace(endpoint="x", access_key_id="k", secret_access_key="s"), tmp_path
        ),
        worker_id="w",
        store=None,
        api=None,
    )  # type: ignore[arg-type]
    services = GateServices(worker)  # type: ignore[arg-type]
    services._memo, services._locks = Memo(), Locks()  # type: ignore[assignment]
    task = Task(task_id="t-1", workflow_instance_id="wf", poll_count=1, retry_count=0, response_timeout_seconds=30)
    task.input_data = {"params": {}}
    gate = AttemptGate(services, count, task, threading.Event())
    workspace = WorkspaceInput(repository=REPO, branch="main", ref_type="commit", ref="a" * 64)
    found = gate.find_earlier_result(workspace, WorkspaceSpec(read_only=True), None)  # type: ignore[arg-type]
    assert found == record.earlier() and len(lookups) == 2
    assert len(released) == 1, "the memo lock was given back at once"
