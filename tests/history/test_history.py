"""Issue 14, acceptance 4: attempt history and provenance on the emulators, for one step that timed out (its worker
SIGKILLed mid-attempt), then failed, then published (tests/history/scenario.py)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from perago.__main__ import main
from perago.conductor.records import ConductorRecords
from perago.eventlog import parse_log
from perago.history import build_history
from perago.testing.conductor.clock import ManualClock
from perago.testing.conductor.fixtures import ManualConductorEmulator
from perago.testing.lakefs import LakeFSEmulator
from tests.history.scenario import REPO, Scenario, run_scenario

FULL_RUN = ["received", "downloaded", "body", "fence", "staged", "fence", "published", "completed", "cleaned"]


@dataclass
class Ran:
    scenario: Scenario
    conductor: ManualConductorEmulator
    lakefs: LakeFSEmulator

    def run(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str]:
        monkeypatch.setenv("CONDUCTOR_SERVER_URL", self.conductor.url)
        monkeypatch.setenv("LAKECTL_SERVER_ENDPOINT_URL", self.lakefs.endpoint)
        monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", self.lakefs.access_key_id)
        monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", self.lakefs.secret_access_key)
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    def tasks(self) -> list[dict[str, Any]]:
        return list(self.conductor.get_workflow(self.scenario.workflow_id)["tasks"])


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    """The scenario, once for the module (it starts a worker process). The manual clock times the killed try out."""
    with ManualConductorEmulator(clock=ManualClock(time.time())) as conductor, LakeFSEmulator() as lakefs:
        root = tmp_path_factory.mktemp("history")
        scenario = run_scenario(conductor, lakefs, root, lambda task_id: conductor.clock.advance(11))
        yield Ran(scenario, conductor, lakefs)


def phases(ran: Ran, task_id: str) -> list[str]:
    return [event.phase for event in parse_log(ConductorRecords(ran.scenario.settings).task_logs(task_id))[0]]


def test_the_killed_attempts_events_reached_conductor_as_they_happened(ran: Ran) -> None:
    """Its worker was SIGKILLed in the body: no final update was ever sent, yet its first events are in the log."""
    killed = ran.tasks()[0]
    assert killed["taskId"] == ran.scenario.killed_task_id and killed["status"] == "TIMED_OUT"
    assert phases(ran, killed["taskId"]) == ["received", "downloaded"]


def test_each_event_is_logged_once_streamed_or_in_the_final_update(ran: Ran) -> None:
    _killed, failed, completed = ran.tasks()
    assert phases(ran, failed["taskId"]) == ["received", "downloaded", "failed", "cleaned"]
    assert phases(ran, completed["taskId"]) == FULL_RUN


def test_the_history_links_the_retries_of_the_step(ran: Ran) -> None:
    records = ConductorRecords(ran.scenario.settings)
    history = build_history(records.workflow(ran.scenario.workflow_id) or {}, records.task_logs)
    [step] = history.steps
    [chain] = step.chains
    assert [a.task["status"] for a in chain] == ["TIMED_OUT", "FAILED", "COMPLETED"]
    assert [a.task.get("retriedTaskId") for a in chain[1:]] == [chain[0].task_id, chain[1].task_id]
    assert [len(a.deliveries) for a in chain] == [1, 1, 1]
    assert not chain[0].deliveries[0].finished and chain[2].deliveries[0].finished
    assert [e.ref for e in chain[2].published] == [ran.scenario.commit]


def test_history_prints_status_worker_times_phases_and_publications(
    ran: Ran, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = ran.run(capsys, monkeypatch, "history", ran.scenario.workflow_id)
    assert code == 0, out
    killed, failed, completed = (t["taskId"] for t in ran.tasks())
    assert f"workflow {ran.scenario.workflow_id} (plays v1): COMPLETED" in out
    assert "step count (task count_plays): 3 attempt(s)" in out
    assert f"attempt 1, task {killed}: TIMED_OUT" in out
    assert f"attempt 2, task {failed}, retry of {killed}: FAILED" in out
    assert f"attempt 3, task {completed}, retry of {failed}: COMPLETED" in out
    assert "no final update: the worker went silent after downloaded" in out
    assert "failed: ConnectionError: lyrics service unavailable (HTTP 503)" in out
    assert "(traceback: " in out and "Traceback (most recent call last)" not in out
    assert f"published merge commit {ran.scenario.commit} on main" in out
    assert f"output songs@{ran.scenario.commit} (commit)" in out
    assert re.search(r"^    retry 2, polled 1 time\(s\), worker \S+-\d+-[0-9a-f]{6}$", out, re.MULTILINE)
    assert re.search(r"^      \d\d:\d\d:\d\d\.\d{3} downloaded: songs@[0-9a-f]{64}: 3 object\(s\)", out, re.MULTILINE)


def test_history_tracebacks_prints_the_failed_attempts_traceback(
    ran: Ran, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = ran.run(capsys, monkeypatch, "history", ran.scenario.workflow_id, "--tracebacks")
    assert code == 0
    assert "        Traceback (most recent call last):" in out
    assert "        ConnectionError: lyrics service unavailable (HTTP 503)" in out


def test_explain_names_the_workflow_step_attempt_params_and_input_and_conductors_record(
    ran: Ran, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = ran.run(capsys, monkeypatch, "explain", REPO, "main")
    assert code == 0, out
    _killed, failed, completed = ran.tasks()
    assert f"commit {ran.scenario.commit} in songs" in out
    assert f"  workflow  {ran.scenario.workflow_id} (plays v1)" in out
    assert "  step      count" in out
    assert f"  attempt   task {completed['taskId']}, retry of {failed['taskId']}, retry 2, poll 1" in out
    assert f"  input     songs@{ran.scenario.input_commit}" in out
    assert '  params    {"year": 2024} (Conductor\'s input; call identity ' in out
    assert '  result    {"plays": 16, "songs": 3}' in out
    assert f"  task {completed['taskId']}: COMPLETED" in out
    assert f"published: merge commit {ran.scenario.commit} on main" in out
    assert f"  reported as the output of task {completed['taskId']} (step count, COMPLETED)" in out


def test_explain_and_history_say_what_is_missing(
    ran: Ran, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = ran.run(capsys, monkeypatch, "explain", REPO, "main~1")  # the seeded commit: not perago's
    assert code == 1 and "carries no perago.* metadata: perago did not publish it" in out
    code, out = ran.run(capsys, monkeypatch, "explain", REPO, "no-such-branch")
    assert code == 1 and "lakeFS has no ref no-such-branch in repository songs" in out
    code, out = ran.run(capsys, monkeypatch, "history", "no-such-workflow")
    assert code == 1 and "Conductor has no workflow no-such-workflow" in out
    monkeypatch.setenv("PERAGO_HTTP_RETRIES", "0")
    code, out = ran.run(capsys, monkeypatch, "history", "wf", "--conductor-url", "http://127.0.0.1:9/api")
    assert code == 2 and out.startswith("perago history: error: cannot reach Conductor at http://127.0.0.1:9/api")
