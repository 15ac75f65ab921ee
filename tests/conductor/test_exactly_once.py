"""Issue 12, acceptance 1: exactly-once effect under at-least-once delivery (DESIGN §2), deterministically.

The kill point is injected: the first attempt's merge is applied, then its worker "dies" (it never reports). The
Conductor emulator's manual clock then times the task out (responseTimeoutSeconds) and Conductor schedules a retry
with a new task id whose ``retriedTaskId`` names the first (DeciderService.retry). The retry must find the merge
(a bounded log scan of the target branch) and complete with it without running the body again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perago import run_workspace_task_attempt
from perago.conductor import Worker
from perago.conductor.chain import load_chain
from perago.conductor.client import ConductorApi
from perago.conductor.light import task_from_json
from perago.conductor.registration import register_task_definitions
from perago.execution import StepChain
from perago.lakefs.store import LakeFSWorkspaceStore
from perago.models import AttemptSnapshot
from perago.testing.conductor import ConductorEmulator
from perago.testing.lakefs import LakeFSEmulator
from tests.conductor import once_tasks
from tests.conductor.helpers import http, register_workflow, simple, start, task_log_events
from tests.conductor.once_tasks import stamp
from tests.conductor.test_pipeline import REPO, lakefs_get, merges, seed, settings_for, staging_branches


class KilledAfterMerge(Exception):
    """Stands for SIGKILL right after the merge request reached lakeFS: the attempt never reports."""


@pytest.fixture(autouse=True)
def body_runs() -> Iterator[list[str]]:
    once_tasks.BODY_RUNS.clear()
    yield once_tasks.BODY_RUNS


def start_step(conductor: ConductorEmulator, lakefs: LakeFSEmulator, tmp_path: Path, ref_type: str) -> str:
    seed(lakefs)
    head = lakefs_get(lakefs, f"/repositories/{REPO}/branches/main")["commit_id"]
    ref = head if ref_type == "commit" else "main"
    workspace = {"repository": REPO, "branch": "main", "ref_type": ref_type, "ref": ref}
    register_task_definitions([stamp], settings_for(conductor, lakefs, tmp_path))
    register_workflow(conductor, "once", [simple("stamp", "stamp_step", {"workspace": workspace, "params": {}})])
    return start(conductor, "once", {})


def die_after_merge(conductor: ConductorEmulator, lakefs: LakeFSEmulator, tmp_path: Path) -> tuple[str, str]:
    """Poll the step as a worker would, run it, merge — then die without reporting. Returns (task id, merge)."""
    settings = settings_for(conductor, lakefs, tmp_path)
    polled = task_from_json(http("GET", f"{conductor.url}/tasks/poll/stamp?workerid=doomed-worker"))
    store = LakeFSWorkspaceStore.from_settings(settings)
    landed: list[str] = []

    def publish_then_die(*args: Any) -> str:
        landed.append(store.publish_workspace(*args))
        raise KilledAfterMerge("killed 60 ms after the merge reached lakeFS")

    result = run_workspace_task_attempt(
        stamp,
        dict(polled.input_data),
        polled,
        settings.workspace_root,
        **(store.callbacks() | {"publish_workspace": publish_then_die}),
        load_current_attempt=lambda attempt: ConductorApi(settings).get_task(attempt.task_id),
        owner_worker_id="doomed-worker",
        failure_reason_max_length=500,
    )
    assert result.status == "FAILED" and len(landed) == 1  # nobody will ever send this result
    return str(polled.task_id), landed[0]


@pytest.mark.parametrize("ref_type", ["branch", "commit"])
def test_a_retry_completes_with_the_merge_its_killed_predecessor_landed(
    conductor_emulator_manual: ConductorEmulator,
    lakefs_emulator: LakeFSEmulator,
    tmp_path: Path,
    ref_type: str,
    body_runs: list[str],
) -> None:
    conductor = conductor_emulator_manual
    workflow_id = start_step(conductor, lakefs_emulator, tmp_path, ref_type)
    first_id, first_merge = die_after_merge(conductor, lakefs_emulator, tmp_path)
    conductor.clock.advance(11)  # type: ignore[attr-defined]  # responseTimeoutSeconds: TIMED_OUT, retry scheduled

    Worker([stamp], settings_for(conductor, lakefs_emulator, tmp_path)).run_until_idle(idle_s=0.3)

    workflow = conductor.get_workflow(workflow_id)
    assert workflow["status"] == "COMPLETED"
    timed_out, retry = workflow["tasks"]
    assert timed_out["taskId"] == first_id and timed_out["status"] == "TIMED_OUT"
    assert retry["retriedTaskId"] == first_id and retry["status"] == "COMPLETED"
    assert retry["outputData"]["workspace"]["ref"] == first_merge
    assert retry["outputData"]["result"] == {"by": first_id, "label": "x"}, "the first attempt's result"
    assert body_runs == [first_id], "the retry did not run the body again"
    assert [m["id"] for m in merges(lakefs_emulator)] == [first_merge], "the step's effect landed exactly once"
    logs = task_log_events(conductor.url, retry["taskId"])
    assert any(f"retry chain: task {first_id} already published it" in line for line in logs)
    assert staging_branches(lakefs_emulator) == []


def test_the_first_attempt_of_a_chain_makes_no_request() -> None:
    """A first attempt (retryCount 0, first delivery) — and a restart, which makes new tasks — cannot have published
    before: no Conductor request, so no lakeFS scan either."""

    def no_requests(task_id: str) -> Any:
        raise AssertionError("the first attempt of a chain must not read Conductor")

    first = AttemptSnapshot("t-1", "wf", poll_count=1, retry_count=0, worker_id="w", reference_task_name="s")
    assert load_chain(no_requests, first) is None


def test_the_chain_is_walked_back_through_retried_task_ids() -> None:
    """DeciderService.retry: each retry is a new task whose retriedTaskId names the previous one, scheduled
    (ExecutionDAO.createTasks) in the decider pass that ended it."""
    tasks = {
        "t-2": AttemptSnapshot("t-2", "wf", 1, 1, "w", retried_task_id="t-1", scheduled_time=2_000, end_time=2_900),
        "t-1": AttemptSnapshot("t-1", "wf", 1, 0, "w", scheduled_time=1_000, end_time=1_990),
    }
    asked: list[str] = []

    def get_task(task_id: str) -> Any:
        asked.append(task_id)
        return tasks.get(task_id)

    third = AttemptSnapshot(
        "t-3", "wf", 1, 2, "w", reference_task_name="step__2", retried_task_id="t-2", scheduled_time=3_000
    )
    expected = StepChain("wf", "step__2", (("t-3", 3_000), ("t-2", 2_000), ("t-1", 1_000)), 1_000)
    assert load_chain(get_task, third) == expected
    assert asked == ["t-2", "t-1"], "at most retryCount requests"
    redelivered = AttemptSnapshot("t-9", "wf", poll_count=2, retry_count=0, worker_id="w", scheduled_time=5)
    assert load_chain(get_task, redelivered) == StepChain("wf", "", (("t-9", 5),), 5)
    assert asked == ["t-2", "t-1"], "a re-delivery of the same task id needs no request"


def test_a_rerun_breaks_the_chain() -> None:
    """WorkflowExecutorOps.rerunWF keeps the task's id (and its retryCount and retriedTaskId) but gives it a new
    scheduledTime: scheduled long after its predecessor ended, it starts a chain of its own."""
    predecessor = AttemptSnapshot("t-1", "wf", 1, 0, "w", scheduled_time=1_000, end_time=2_000)
    rerun = AttemptSnapshot(
        "t-2", "wf", 1, 1, "w", reference_task_name="s", retried_task_id="t-1", scheduled_time=900_000
    )
    assert load_chain(lambda task_id: predecessor, rerun) == StepChain("wf", "s", (("t-2", 900_000),), 900_000)


def test_a_merge_of_another_chain_of_the_same_step_is_not_reused() -> None:
    """A rerun's or restart's chain does not claim the merges of the chain before it: a member is a (task id,
    scheduled time) pair, and a rerun keeps the task id but not the scheduled time."""
    chain = StepChain("wf", "step", (("t-new", 5),), 0)
    old = {
        "perago.workflow_id": "wf",
        "perago.task_ref": "step",
        "perago.task_id": "t-old",
        "perago.scheduled_time": "5",
    }
    assert not chain.published(old)
    assert chain.published(old | {"perago.task_id": "t-new"})
    assert not chain.published(old | {"perago.task_id": "t-new", "perago.scheduled_time": "4"}), "before a rerun"
    assert not chain.published(old | {"perago.task_id": "t-new", "perago.task_ref": "step__1"})
    assert not chain.published(
        {k: v for k, v in old.items() if k != "perago.scheduled_time"} | {"perago.task_id": "t-new"}
    )


def test_an_operator_rerun_of_the_step_publishes_again(
    conductor_emulator_manual: ConductorEmulator, lakefs_emulator: LakeFSEmulator, tmp_path: Path, body_runs: list[str]
) -> None:
    """After the killed-then-retried step completed with its predecessor's merge, the operator reruns the workflow
    from that step (POST /api/workflow/{id}/rerun, WorkflowExecutorOps.rerunWF): the same task id, a new
    scheduledTime. It is a deliberate new run: the body runs again and publishes a second merge."""
    conductor = conductor_emulator_manual
    workflow_id = start_step(conductor, lakefs_emulator, tmp_path, "branch")
    first_id, first_merge = die_after_merge(conductor, lakefs_emulator, tmp_path)
    conductor.clock.advance(11)  # type: ignore[attr-defined]
    settings = settings_for(conductor, lakefs_emulator, tmp_path)
    Worker([stamp], settings).run_until_idle(idle_s=0.3)
    retry = conductor.get_workflow(workflow_id)["tasks"][1]
    assert retry["status"] == "COMPLETED" and body_runs == [first_id]

    conductor.clock.advance(600)  # type: ignore[attr-defined]  # the operator looks at it ten minutes later
    http("POST", f"{conductor.url}/workflow/{workflow_id}/rerun", {"reRunFromTaskId": retry["taskId"]})
    Worker([stamp], settings).run_until_idle(idle_s=0.3)

    workflow = conductor.get_workflow(workflow_id)
    rerun = workflow["tasks"][1]
    assert workflow["status"] == "COMPLETED" and rerun["taskId"] == retry["taskId"], "rerun keeps the task id"
    assert body_runs == [first_id, retry["taskId"]], "the rerun ran the body"
    second_merge = rerun["outputData"]["workspace"]["ref"]
    assert [m["id"] for m in merges(lakefs_emulator)] == [second_merge, first_merge], "and published again"
