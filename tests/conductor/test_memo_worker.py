"""Issue 14, acceptance 1: memoized tasks on both emulators, through perago's worker.

A second run of the same call on the same input commit completes with the first one's output without running
the body (counted) and in O(1) requests; a changed param, input commit, version or cache version runs again;
identical calls arriving at once compute once (the others are handed back, no retry spent); the memo lives in
lakeFS, so it survives a worker restart (every run below is a new Worker with a new store).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lakefs_sdk import BranchCreation

from perago.conductor import Worker
from perago.conductor.registration import register_task_definitions
from perago.lakefs.client import LakeFSConnection
from perago.lakefs.memo import MEMO_PREFIX, LakeFSMemo
from perago.settings import PeragoSettings
from perago.task import TaskDefinition, task
from perago.testing.conductor import ConductorEmulator
from perago.testing.lakefs import LakeFSEmulator
from tests.conductor import memo_tasks
from tests.conductor.helpers import register_workflow, simple, start, task_log_events, wait_until
from tests.conductor.memo_tasks import copy, count
from tests.conductor.test_concurrency_worker import ROOT, worker_env
from tests.conductor.test_pipeline import REPO, lakefs_get, merges, seed, settings_for, staging_branches


@pytest.fixture(autouse=True)
def body_runs() -> Iterator[list[str]]:
    memo_tasks.BODY_RUNS.clear()
    memo_tasks.HOLD.set()
    memo_tasks.STARTED.clear()
    yield memo_tasks.BODY_RUNS
    memo_tasks.HOLD.set()


class Stack:
    """Both emulators, a seeded repository, and one-step workflows of a memoized task."""

    def __init__(self, conductor: ConductorEmulator, lakefs: LakeFSEmulator, tmp_path: Path) -> None:
        seed(lakefs)
        self.conductor, self.lakefs = conductor, lakefs
        self.settings = replace_settings(settings_for(conductor, lakefs, tmp_path), blocked_callback_s=0)
        self.head = lakefs_get(lakefs, f"/repositories/{REPO}/branches/main")["commit_id"]

    def workspace(self, ref: str | None = None) -> dict[str, Any]:
        ref_type = "branch" if ref in (None, "main") else "commit"
        return {"repository": REPO, "branch": "main", "ref_type": ref_type, "ref": ref or "main"}

    def start(self, definition: TaskDefinition, params: dict[str, Any], ref: str | None = None) -> str:
        register_task_definitions([definition], self.settings)
        step = simple(
            definition.name, "step", {"workspace": "${workflow.input.workspace}", "params": "${workflow.input.params}"}
        )
        register_workflow(self.conductor, f"memo_{definition.name}", [step])
        return start(self.conductor, f"memo_{definition.name}", {"workspace": self.workspace(ref), "params": params})

    def run(self, definition: TaskDefinition, params: dict[str, Any], ref: str | None = None) -> dict[str, Any]:
        """Start one workflow and serve it with a brand-new worker (a restart every time)."""
        workflow_id = self.start(definition, params, ref)
        Worker([definition], self.settings).run_until_idle(idle_s=0.3)
        workflow = self.conductor.get_workflow(workflow_id)
        assert workflow["status"] == "COMPLETED", workflow.get("reasonForIncompletion")
        step: dict[str, Any] = workflow["tasks"][-1]
        return step

    def memo_branches(self) -> list[str]:
        branches = lakefs_get(self.lakefs, f"/repositories/{REPO}/branches?show_hidden=true&amount=1000")["results"]
        return [b["id"] for b in branches if b["id"].startswith(MEMO_PREFIX)]


def replace_settings(settings: PeragoSettings, **changes: Any) -> PeragoSettings:
    return settings.model_copy(update=changes)


@pytest.fixture
def stack(conductor_emulator: ConductorEmulator, lakefs_emulator: LakeFSEmulator, tmp_path: Path) -> Stack:
    return Stack(conductor_emulator, lakefs_emulator, tmp_path)


@pytest.mark.parametrize("definition", [count, copy], ids=["read-only", "writable"])
def test_a_second_identical_call_completes_from_the_memo_without_running_the_body(
    stack: Stack, definition: TaskDefinition, body_runs: list[str]
) -> None:
    first = stack.run(definition, {}, ref=stack.head)
    assert body_runs == [definition.name]
    stack.lakefs.reset_requests()
    second = stack.run(definition, {}, ref=stack.head)
    assert body_runs == [definition.name], "the memo hit did not run the body"
    assert second["outputData"] == first["outputData"], "the same output workspace and result"
    assert second["outputData"]["result"]["by"] == first["taskId"]
    assert stack.lakefs.request_count() == 1, "a commit input: one lakeFS request (the memo's commit)"
    logs = task_log_events(stack.conductor.url, second["taskId"])
    assert any(f"memo: computed by {first['workflowInstanceId']}/{first['taskId']}" in line for line in logs)
    assert len(merges(stack.lakefs)) == (1 if definition is copy else 0), "published once"
    assert len(stack.memo_branches()) == 1 and staging_branches(stack.lakefs) == []


def test_a_branch_input_costs_one_resolve_of_its_head_first(stack: Stack, body_runs: list[str]) -> None:
    first = stack.run(count, {}, ref="main")
    stack.lakefs.reset_requests()
    second = stack.run(count, {}, ref="main")
    assert body_runs == ["count"] and second["outputData"] == first["outputData"]
    assert stack.lakefs.request_count("getCommit") == 2 and stack.lakefs.request_count() == 2
    assert second["outputData"]["workspace"]["ref"] == stack.head


def test_changed_params_input_commit_version_or_cache_version_run_again(stack: Stack, body_runs: list[str]) -> None:
    stack.run(count, {}, ref=stack.head)
    stack.run(count, {"suffix": ".txt"}, ref=stack.head)
    assert body_runs == ["count"] * 2, "a changed param"
    stack.run(copy, {"label": "a"}, ref=stack.head)
    moved = merges(stack.lakefs)[0]["id"]
    stack.run(count, {}, ref=moved)
    assert body_runs == ["count", "count", "copy", "count"], "another input commit"
    stack.run(task(name="count", version=2, cache=True, workspace=count.workspace)(count.fn), {}, ref=stack.head)
    assert body_runs[-1:] == ["count"] and len(body_runs) == 5, "another task version"
    stack.run(task(name="count", cache=True, cache_version=2, workspace=count.workspace)(count.fn), {}, ref=stack.head)
    assert len(body_runs) == 6, "another cache version"
    stack.run(count, {}, ref=stack.head)
    assert len(body_runs) == 6, "the original call is still memoized"


def test_a_writable_call_on_another_target_branch_is_not_the_same_call(stack: Stack, body_runs: list[str]) -> None:
    """A writable task's output is a merge on its target branch, which another branch does not contain."""
    first = stack.run(copy, {"label": "a"}, ref=stack.head)
    LakeFSConnection(stack.settings).sdk.branches_api.create_branch(REPO, BranchCreation(name="other", source="main"))
    stack.run(copy, {"label": "a"}, ref=stack.head)
    assert body_runs == ["copy"], "the same target branch: a hit"
    other = {"repository": REPO, "branch": "other", "ref_type": "commit", "ref": stack.head}
    workflow_id = start(stack.conductor, "memo_copy", {"workspace": other, "params": {"label": "a"}})
    Worker([copy], stack.settings).run_until_idle(idle_s=0.3)
    step = stack.conductor.get_workflow(workflow_id)["tasks"][0]
    assert body_runs == ["copy", "copy"], "another target branch: computed again"
    assert step["outputData"]["workspace"]["branch"] == "other"
    assert step["outputData"]["workspace"]["ref"] != first["outputData"]["workspace"]["ref"]


def test_identical_calls_arriving_at_once_compute_once(stack: Stack, body_runs: list[str]) -> None:
    """Cache serialize: the second delivery finds the call being computed, is handed back (IN_PROGRESS, no retry
    spent), and on its next delivery completes from the memo."""
    memo_tasks.HOLD.clear()
    first_id = stack.start(copy, {"label": "same"}, ref=stack.head)
    second_id = stack.start(copy, {"label": "same"}, ref=stack.head)
    worker = Worker([copy], replace_settings(stack.settings, concurrency=2))
    worker.start()
    try:
        wait_until(memo_tasks.STARTED.is_set, what="one body to start")

        def handed_back() -> bool:
            tasks = [stack.conductor.get_workflow(w)["tasks"][0] for w in (first_id, second_id)]
            return any(t["pollCount"] >= 2 for t in tasks)

        wait_until(handed_back, what="the identical call to be handed back")
        memo_tasks.HOLD.set()
        wait_until(
            lambda: all(stack.conductor.get_workflow(w)["status"] == "COMPLETED" for w in (first_id, second_id)),
            what="both workflows",
        )
    finally:
        memo_tasks.HOLD.set()
        worker.stop(drain_timeout_s=5)
    tasks = [stack.conductor.get_workflow(w)["tasks"] for w in (first_id, second_id)]
    assert [len(t) for t in tasks] == [1, 1] and all(t[0]["retryCount"] == 0 for t in tasks), "no retry spent"
    assert body_runs == ["copy"], "the body ran once"
    assert tasks[0][0]["outputData"] == tasks[1][0]["outputData"]
    assert len(merges(stack.lakefs)) == 1
    waiting = max((t[0] for t in tasks), key=lambda t: t["pollCount"])
    logs = task_log_events(stack.conductor.url, waiting["taskId"])
    assert any(line.startswith("handed back: an identical call") for line in logs)


def test_the_janitor_expires_memos_and_the_call_then_runs_again(stack: Stack, body_runs: list[str]) -> None:
    stack.run(count, {}, ref=stack.head)
    memo = LakeFSMemo(LakeFSConnection(stack.settings))
    assert memo.expire(REPO, timedelta(days=1), dry_run=True) == []
    assert memo.expire(REPO, timedelta(0), task="copy") == [], "another task's memos only"
    assert memo.expire(REPO, timedelta(0), dry_run=True) == stack.memo_branches()
    assert len(memo.expire(REPO, timedelta(0))) == 1 and stack.memo_branches() == []
    stack.run(count, {}, ref=stack.head)
    assert body_runs == ["count", "count"]


def test_a_memo_that_cannot_be_recorded_leaves_the_attempt_completed(stack: Stack, body_runs: list[str]) -> None:
    stack.settings = replace_settings(stack.settings, http_retries=0)
    stack.lakefs.inject_fault("commit", 503)  # the memo commit (a read-only task makes no other)
    first = stack.run(count, {}, ref=stack.head)
    logs = task_log_events(stack.conductor.url, first["taskId"])
    assert any(line.startswith("memo: not recorded (LakeFSError: lakeFS could not commit memo") for line in logs)
    assert stack.memo_branches() == [] and staging_branches(stack.lakefs) == [], "no temporary branch left"
    stack.run(count, {}, ref=stack.head)
    assert body_runs == ["count", "count"], "nothing memoized: computed again (and recorded this time)"
    assert len(stack.memo_branches()) == 1


def test_a_memo_survives_a_worker_restart(stack: Stack, body_runs: list[str]) -> None:
    """Computed here, then served by a new worker process: its output names the first task as the one that ran."""
    first = stack.run(count, {}, ref="main")
    workflow_id = stack.start(count, {}, ref="main")
    argv = [sys.executable, "-m", "perago.worker", "tests.conductor.memo_tasks"]
    env = worker_env(stack.settings)
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(
            lambda: stack.conductor.get_workflow(workflow_id)["status"] == "COMPLETED", timeout_s=60, what="the step"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        assert proc.stderr is not None
        proc.stderr.close()
    step = stack.conductor.get_workflow(workflow_id)["tasks"][0]
    assert step["outputData"] == first["outputData"], "the result says the first task computed it"
    assert body_runs == ["count"]
