"""Faults and timing: queued faults for tests, random ones for soaks (seeded), added latency; thread safety."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import urllib3
from lakefs_sdk import BranchCreation, CommitCreation
from lakefs_sdk.client import LakeFSClient

from perago.testing.lakefs import LakeFSEmulator
from perago.testing.lakefs.faults import FaultOptions
from tests.testing.lakefs.conftest import raw, status_of


def branch_status(emu: LakeFSEmulator, name: str = "main") -> int | str:
    try:
        return raw(emu, "GET", f"/repositories/songs/branches/{name}", retries=False).status
    except urllib3.exceptions.ProtocolError:
        return "dropped"


def test_queued_faults(lakefs_emulator: LakeFSEmulator) -> None:
    emu = lakefs_emulator
    emu.create_repository("songs")
    emu.inject_fault("getBranch", status=503, times=2)
    emu.drop_connection("getBranch")
    assert [branch_status(emu) for _ in range(4)] == [503, 503, "dropped", 200]
    assert raw(emu, "GET", "/repositories/songs/branches/main").status == 200
    with pytest.raises(ValueError, match="unknown lakeFS operationId"):
        emu.inject_fault("noSuchOperation")


def test_dropped_calls_do_nothing_lost_answers_did_it(lakefs_emulator: LakeFSEmulator) -> None:
    emu = lakefs_emulator
    emu.create_repository("songs")
    body = {"name": "dropped", "source": "main"}
    emu.drop_connection("createBranch")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        raw(emu, "POST", "/repositories/songs/branches", json=body, retries=False)
    assert "dropped" not in emu.api.repos["songs"].branches
    emu.lose_answer("createBranch")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        raw(emu, "POST", "/repositories/songs/branches", json={"name": "lost", "source": "main"}, retries=False)
    assert "lost" in emu.api.repos["songs"].branches  # applied: a retry now gets 409
    assert raw(emu, "POST", "/repositories/songs/branches", json={"name": "lost", "source": "main"}).status == 409


def random_statuses(seed: int) -> list[int | str]:
    with LakeFSEmulator(faults=FaultOptions(fault_rate=0.3, ambiguous_rate=0.1, seed=seed)) as emu:
        emu.create_repository("songs")
        return [branch_status(emu) for _ in range(200)]


def test_random_faults_are_seeded_and_at_the_asked_rates() -> None:
    first, again = random_statuses(7), random_statuses(7)
    assert first == again != random_statuses(8)
    counts = Counter(first)
    assert set(counts) == {200, 429, 500, 503, "dropped"}
    assert 40 <= counts[429] + counts[500] + counts[503] <= 80 and 8 <= counts["dropped"] <= 35


@pytest.mark.parametrize("lakefs_emulator", [{"faults": FaultOptions(route_rates={"getBranch": 1.0})}], indirect=True)
def test_per_route_rates_through_the_fixture(lakefs_emulator: LakeFSEmulator) -> None:
    lakefs_emulator.create_repository("songs")
    assert branch_status(lakefs_emulator) in (429, 500, 503)
    assert raw(lakefs_emulator, "GET", "/repositories/songs/branches").status == 200
    lakefs_emulator.set_faults()  # off again
    assert branch_status(lakefs_emulator) == 200


def test_latency_per_operation_and_global(lakefs_emulator: LakeFSEmulator) -> None:
    emu = lakefs_emulator
    emu.create_repository("songs")
    emu.add_latency("getBranch", 0.2)
    started = time.monotonic()
    branch_status(emu)
    assert time.monotonic() - started >= 0.2
    emu.clear_faults()
    assert emu.latency == {}
    emu.set_faults(latency_s=0.2)
    started = time.monotonic()
    with ThreadPoolExecutor(10) as pool:  # sleeping requests do not hold each other (or the GIL) up
        assert list(pool.map(lambda _: branch_status(emu), range(10))) == [200] * 10
    assert 0.2 <= time.monotonic() - started < 1.5


def test_concurrent_writers(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    """Many threads create branches, upload, commit and merge at once; every disjoint change lands."""
    emu.create_repository("songs")

    def writer(n: int) -> int:
        sdk.branches_api.create_branch("songs", BranchCreation(name=f"w{n}", source="main"))
        for i in range(5):
            sdk.objects_api.upload_object("songs", f"w{n}", f"w{n}/{i}.txt", content=f"{n}-{i}".encode())
        sdk.commits_api.commit("songs", f"w{n}", CommitCreation(message=f"writer {n}"))
        return status_of(lambda: sdk.refs_api.merge_into_branch("songs", f"w{n}", "main"))

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(writer, range(8))) == [200] * 8
    listed = sdk.objects_api.list_objects("songs", "main", amount=1000).results
    assert len(listed) == 40 and sdk.objects_api.get_object("songs", "main", "w7/4.txt") == b"7-4"
