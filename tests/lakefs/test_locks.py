"""Issue 14, acceptance 3 (the primitive): perago's leased locks on lakeFS conditional uploads.

Never two holders of one key at once while different keys are held in parallel (K threads here; 3 worker processes
in tests/conductor/test_concurrency_worker.py); an expired lease is taken over by exactly one of several takers; a
SIGKILLed holder process's key frees itself within its lease while two other processes wait for it (the clock is
injected: the test moves it forward instead of waiting).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perago.concurrency import LockKey
from perago.lakefs.client import LakeFSConnection
from perago.lakefs.locks import LOCK_BRANCH, Held, LakeFSLocks, Lease
from perago.settings import PeragoSettings
from perago.testing.lakefs import LakeFSEmulator

ROOT = Path(__file__).resolve().parents[2]
REPO = "songs"
KEY = LockKey.of({"test-key": "K"})


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def emu() -> Iterator[LakeFSEmulator]:
    with LakeFSEmulator() as emulator:
        emulator.create_repository(REPO)
        yield emulator


def settings(emu: LakeFSEmulator) -> PeragoSettings:
    return PeragoSettings(
        lakefs_endpoint=emu.endpoint,
        lakefs_access_key_id=emu.access_key_id,
        lakefs_secret_access_key=emu.secret_access_key,
    )


def locks_for(emu: LakeFSEmulator, clock: Clock | None = None) -> LakeFSLocks:
    return LakeFSLocks(LakeFSConnection(settings(emu)), clock=clock or Clock())


def test_a_held_key_is_refused_until_released(emu: LakeFSEmulator) -> None:
    clock = Clock()
    one, two = locks_for(emu, clock), locks_for(emu, clock)
    lease = one.acquire(REPO, KEY, "w-1", 30)
    assert isinstance(lease, Lease) and lease.expires == clock.now + 30
    held = two.acquire(REPO, KEY, "w-2", 30)
    assert held == Held(KEY, "w-1", clock.now + 30)
    assert isinstance(two.acquire(REPO, LockKey.of({"test-key": "other"}), "w-2", 30), Lease), "other keys are free"
    emu.reset_requests()
    one.release(lease)
    assert emu.request_count() == 1, "a release is one conditional upload"
    emu.reset_requests()
    again = two.acquire(REPO, KEY, "w-2", 30)
    assert isinstance(again, Lease) and again.holder == "w-2"
    assert emu.request_count() == 4, "list, create, confirm, prune (the lock branch exists already)"
    assert emu.request_count("deleteObjects") == 1
    branches = LakeFSConnection(settings(emu)).sdk.branches_api.list_branches(REPO, show_hidden=True).results
    assert LOCK_BRANCH in [b.id for b in branches]


def test_a_lease_expires_and_renewing_keeps_it(emu: LakeFSEmulator) -> None:
    clock = Clock()
    holder, taker = locks_for(emu, clock), locks_for(emu, clock)
    lease = holder.acquire(REPO, KEY, "w-1", 30)
    assert isinstance(lease, Lease)
    clock.now += 20
    renewed = holder.renew(lease)
    assert renewed is not None and renewed.expires == clock.now + 30 and renewed.generation == lease.generation + 1
    clock.now += 20  # past the first expiry, within the renewed one
    assert isinstance(taker.acquire(REPO, KEY, "w-2", 30), Held)
    clock.now += 11
    taken = taker.acquire(REPO, KEY, "w-2", 30)
    assert isinstance(taken, Lease), "a holder that stopped renewing loses the key after its lease"
    assert holder.renew(renewed) is None, "a late renewal learns that the key was taken"
    assert isinstance(holder.acquire(REPO, KEY, "w-1", 30), Held)


def test_an_expired_lease_is_taken_by_exactly_one_of_many_takers(emu: LakeFSEmulator) -> None:
    """Every taker tries to create the same next generation: lakeFS's If-None-Match lets exactly one through."""
    clock = Clock()
    assert isinstance(locks_for(emu, clock).acquire(REPO, KEY, "dead", 30), Lease)
    clock.now += 31
    takers = [locks_for(emu, clock) for _ in range(6)]
    start = threading.Barrier(len(takers))
    results: list[Lease | Held] = []

    def take(locks: LakeFSLocks, name: str) -> None:
        start.wait()
        results.append(locks.acquire(REPO, KEY, name, 30))

    threads = [threading.Thread(target=take, args=(locks, f"t-{i}")) for i, locks in enumerate(takers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if isinstance(r, Lease)]
    assert len(winners) == 1 and len(results) == 6
    assert {r.holder for r in results if isinstance(r, Held)} <= {winners[0].holder, "dead"}


def test_a_stale_taker_that_recreates_a_pruned_generation_is_refused(emu: LakeFSEmulator) -> None:
    """Pruning frees old paths for If-None-Match; the confirmation after every creation catches the re-creation."""
    clock = Clock()
    live = locks_for(emu, clock)
    first = live.acquire(REPO, KEY, "w-1", 30)
    assert isinstance(first, Lease) and first.generation == 1
    stale_view = live.generations(REPO, KEY)  # what a taker saw before stalling: generation 1, soon expired
    clock.now += 31
    live.release(first)
    second = live.acquire(REPO, KEY, "w-2", 30)  # creates 3, prunes 1 and 2
    assert isinstance(second, Lease) and second.generation == 3
    assert [g.number for g in live.generations(REPO, KEY)] == [3]
    stalled = locks_for(emu, clock)
    stalled.generations = lambda repository, key, _calls=[stale_view]: (  # type: ignore[method-assign]
        _calls.pop() if _calls else LakeFSLocks.generations(stalled, repository, key)
    )
    refused = stalled.acquire(REPO, KEY, "stalled", 30)
    assert refused == Held(KEY, "w-2", second.expires), "its generation 2 was created, but 3 is newer"


def test_generations_stay_few_however_often_a_key_is_taken(emu: LakeFSEmulator) -> None:
    locks = locks_for(emu)
    for i in range(12):
        lease = locks.acquire(REPO, KEY, f"w-{i}", 30)
        assert isinstance(lease, Lease)
        locks.release(lease)
    assert len(locks.generations(REPO, KEY)) <= 3


def overlaps(intervals: list[tuple[float, float]]) -> bool:
    ordered = sorted(intervals)
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(ordered))


def cross_overlap(left: list[tuple[float, float]], right: list[tuple[float, float]]) -> bool:
    return any(a[0] < b[1] and b[0] < a[1] for a in left for b in right)


def test_k_threads_never_hold_one_key_at_once_and_hold_different_keys_in_parallel(emu: LakeFSEmulator) -> None:
    keys = {name: LockKey.of({"test-key": name}) for name in ("A", "B")}
    intervals: dict[str, list[tuple[float, float]]] = {"A": [], "B": []}
    guard = threading.Lock()

    def work(index: int) -> None:
        locks = LakeFSLocks(LakeFSConnection(settings(emu)))
        for iteration in range(4):
            name = "AB"[(index + iteration) % 2]
            taken = locks.acquire(REPO, keys[name], f"thread-{index}", 30)
            while not isinstance(taken, Lease):
                time.sleep(0.005)
                taken = locks.acquire(REPO, keys[name], f"thread-{index}", 30)
            start = time.monotonic()
            time.sleep(0.05)
            with guard:
                intervals[name].append((start, time.monotonic()))
            locks.release(taken)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [len(intervals["A"]), len(intervals["B"])] == [12, 12]
    assert not overlaps(intervals["A"]) and not overlaps(intervals["B"])
    assert cross_overlap(intervals["A"], intervals["B"]), "A and B were held at the same time"


class Children:
    """Child processes running tests/lakefs/lock_child.py against the emulator."""

    def __init__(self, emu: LakeFSEmulator, tmp_path: Path) -> None:
        self.emu, self.tmp_path = emu, tmp_path
        self.offset = tmp_path / "clock-offset"
        self.offset.write_text("0")
        self.env = os.environ | {"TEST_LAKEFS_KEY": emu.access_key_id, "TEST_LAKEFS_SECRET": emu.secret_access_key}
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, keys: str, **options: Any) -> tuple[subprocess.Popen[bytes], Path]:
        out = self.tmp_path / f"child-{len(self.procs)}.jsonl"
        argv = [sys.executable, "-m", "tests.lakefs.lock_child", "--endpoint", self.emu.endpoint, "--keys", keys]
        argv += ["--out", str(out), "--offset-file", str(self.offset)]
        for name, value in options.items():
            argv += [f"--{name.replace('_', '-')}"] + ([] if value is True else [str(value)])
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stderr=subprocess.PIPE)
        self.procs.append((proc, out))
        return proc, out

    @staticmethod
    def records(out: Path) -> list[dict[str, Any]]:
        return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []

    def wait_for(self, out: Path, event: str, count: int = 1, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while sum(r["event"] == event for r in self.records(out)) < count:
            assert time.monotonic() < deadline, f"{out.name} never recorded {count} {event!r}"
            time.sleep(0.02)

    def finish(self, timeout_s: float = 90) -> None:
        for proc, _ in self.procs:
            if proc.poll() is None and proc.returncode is None:
                assert proc.wait(timeout_s) == 0, proc.stderr.read().decode() if proc.stderr else ""

    def intervals(self) -> dict[str, list[tuple[float, float]]]:
        found: dict[str, list[tuple[float, float]]] = {}
        for _, out in self.procs:
            for record in self.records(out):
                if record["event"] == "end":
                    found.setdefault(record["key"], []).append((record["start"], record["end"]))
        return found

    def kill_all(self) -> None:
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stderr:
                proc.stderr.close()


@pytest.fixture
def children(emu: LakeFSEmulator, tmp_path: Path) -> Iterator[Children]:
    spawned = Children(emu, tmp_path)
    yield spawned
    spawned.kill_all()


def test_a_sigkilled_holders_key_frees_itself_within_its_lease(children: Children) -> None:
    holder, holder_out = children.start("K", hold=True, lease_s=30)
    children.wait_for(holder_out, "start")
    held_until = children.records(holder_out)[0]["expires"]
    waiters = [children.start("K", lease_s=30)[1] for _ in range(2)]
    for out in waiters:
        children.wait_for(out, "blocked", count=3)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    killed_at = time.monotonic()
    for out in waiters:
        children.wait_for(out, "blocked", count=sum(r["event"] == "blocked" for r in children.records(out)) + 3)
    assert not any(r["event"] == "start" for out in waiters for r in children.records(out)), "still within the lease"
    children.offset.write_text("30.5")  # the lock clock passes the dead holder's lease
    children.finish()
    starts = [r for out in waiters for r in children.records(out) if r["event"] == "start"]
    assert len(starts) == 2 and all(r["at"] > killed_at for r in starts)
    first = min(starts, key=lambda r: r["at"])
    assert held_until <= first["clock"] <= held_until + 30 + 5, "taken as soon as the lease ran out, within it"
    assert not overlaps(children.intervals()["K"])


def test_the_janitor_removes_only_keys_idle_for_long_enough(
    emu: LakeFSEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    clock.now = time.time()  # the release's age comes from lakeFS's mtime: use the wall clock here
    locks = locks_for(emu, clock)
    released = locks.acquire(REPO, LockKey.of({"test-key": "released"}), "w-1", 30)
    held = locks.acquire(REPO, KEY, "w-2", 3000)
    assert isinstance(released, Lease) and isinstance(held, Lease)
    locks.release(released)
    clock.now += 3600  # an hour later: released an hour ago; the held lease expired 10 minutes ago
    assert locks.expire_idle(REPO, 7200) == [], "not idle for two hours yet"
    assert locks.expire_idle(REPO, 3500, dry_run=True) == [LockKey.of({"test-key": "released"}).digest]
    assert len(locks.generations(REPO, LockKey.of({"test-key": "released"}))) == 2, "a dry run deletes nothing"
    assert locks.expire_idle(REPO, 3500) == [LockKey.of({"test-key": "released"}).digest]
    assert locks.generations(REPO, LockKey.of({"test-key": "released"})) == []
    assert [g.holder for g in locks.generations(REPO, KEY)] == ["w-2"], "expired 10 minutes ago: kept"
    assert locks.expire_idle(REPO, 500) == [KEY.digest] and locks.generations(REPO, KEY) == []
    emu.create_repository("plain")
    assert locks.expire_idle("plain", 0) == [], "a repository that never held a lock"

    from perago.lakefs.janitor import main

    monkeypatch.setenv("LAKECTL_SERVER_ENDPOINT_URL", emu.endpoint)
    monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", emu.access_key_id)
    monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", emu.secret_access_key)
    assert main(["--repository", REPO, "--locks-idle-for", "1s", "--memos-older-than", "1d", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        f"would delete 0 memo(s) older than 1 day, 0:00:00 in {REPO}",
        f"would delete the objects of 0 lock(s) idle for 0:00:01 in {REPO}",
    ]
