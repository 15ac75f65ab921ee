"""``python -m perago dev --tasks ... --workflow ...``: your own package and workflow on the in-process stack.

The package and workflow are written by the test (not the songs example). The workflow is a FORK_JOIN of two
writers followed by a reader whose workspace is the documented way to read the branch after a fork of writers:
``ref_type: "branch"`` built from a fork output, so it reads the branch head holding both merges.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from perago import dev

TASKS = """
from pathlib import Path

from pydantic import BaseModel

from perago import NonRetryableError, WorkspaceSpec, task
from perago.guards import ChangesOnlyUnder


class Line(BaseModel):
    text: str


class Wrote(BaseModel):
    path: str


def _write(workspace: Path, side: str, text: str) -> Wrote:
    (workspace / side).mkdir(exist_ok=True)
    (workspace / side / "out.txt").write_text(text + " " + (workspace / "seed/hello.txt").read_text())
    return Wrote(path=f"{side}/out.txt")


@task(workspace=WorkspaceSpec(post=[ChangesOnlyUnder(prefixes=["left"])]), retry_count=0)
def write_left(workspace: Path, params: Line) -> Wrote:
    return _write(workspace, "left", params.text)


@task(workspace=WorkspaceSpec(post=[ChangesOnlyUnder(prefixes=["right"])]), retry_count=0)
def write_right(workspace: Path, params: Line) -> Wrote:
    return _write(workspace, "right", params.text)


class Nothing(BaseModel):
    pass


class Seen(BaseModel):
    texts: list[str]


@task(workspace=WorkspaceSpec(read_only=True), retry_count=0)
def read_both(workspace: Path, params: Nothing) -> Seen:
    paths = [workspace / "left/out.txt", workspace / "right/out.txt"]
    if not all(path.is_file() for path in paths):
        raise NonRetryableError("the branch head after the join lacks a writer's output")
    return Seen(texts=[path.read_text() for path in paths])
"""


def _branch_head_of(ref: str) -> dict[str, str]:
    return {
        "repository": f"${{{ref}.output.workspace.repository}}",
        "branch": f"${{{ref}.output.workspace.branch}}",
        "ref_type": "branch",
        "ref": f"${{{ref}.output.workspace.branch}}",
    }


def _writer(side: str) -> dict[str, object]:
    return {
        "name": f"write_{side}",
        "taskReferenceName": side,
        "type": "SIMPLE",
        "inputParameters": {"workspace": "${workflow.input.workspace}", "params": f"${{workflow.input.{side}}}"},
    }


WORKFLOW = {
    "name": "fork_flow",
    "version": 1,
    "schemaVersion": 2,
    "ownerEmail": "tests@perago.local",
    "tasks": [
        {
            "name": "fork",
            "taskReferenceName": "fork",
            "type": "FORK_JOIN",
            "forkTasks": [[_writer("left")], [_writer("right")]],
        },
        {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["left", "right"]},
        {
            "name": "read_both",
            "taskReferenceName": "reader",
            "type": "SIMPLE",
            "inputParameters": {"workspace": _branch_head_of("left"), "params": {}},
        },
    ],
    "outputParameters": {"texts": "${reader.output.result.texts}"},
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "mytasks").mkdir()
    (tmp_path / "mytasks/__init__.py").write_text(TASKS)
    (tmp_path / "flow.json").write_text(json.dumps(WORKFLOW, indent=2))
    (tmp_path / "data/seed").mkdir(parents=True)
    (tmp_path / "data/seed/hello.txt").write_text("hello")
    return tmp_path


def test_dev_runs_your_package_and_workflow_and_summarises_it(project: Path) -> None:
    command = ["--tasks", "mytasks", "--workflow", "flow.json", "--data", "data", "--summary-json", "s.json"]
    inputs = json.dumps({"left": {"text": "L"}, "right": {"text": "R"}})
    process = subprocess.run(
        [sys.executable, "-m", "perago", "dev", *command, "--input", inputs, "--quiet-logs"],
        cwd=project,  # as a user runs it: from the directory holding their package
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )

    assert process.returncode == 0, process.stdout + process.stderr
    assert "demo completed: every task COMPLETED." in process.stdout
    summary = json.loads((project / "s.json").read_text())
    flow = summary["workflows"]["fork_flow"]
    assert (summary["repository"], flow["branch"], flow["status"]) == ("dev", "fork-flow", "COMPLETED")
    tasks = {t["reference"]: t for t in flow["tasks"]}
    assert {ref: t["status"] for ref, t in tasks.items()} == dict.fromkeys(("left", "right", "reader"), "COMPLETED")
    for ref in tasks:
        assert f"[fork_flow] {ref} ({tasks[ref]['task']}) COMPLETED" in process.stdout
    merges = {c["metadata"]["perago.task"]: c["id"] for c in flow["commits"] if len(c["parents"]) > 1}
    assert tasks["left"]["workspace"]["ref"] == merges["write_left"]  # each writer's output pins its own merge
    assert tasks["right"]["workspace"]["ref"] == merges["write_right"]
    assert tasks["reader"]["workspace"]["ref"] == flow["commits"][0]["id"] in merges.values()  # the head: both
    assert [c["message"] for c in flow["commits"]][-2:] == [
        f"perago dev: seed from data ({dev_digest(project / 'data')})",
        "Repository created",
    ]


def dev_digest(directory: Path) -> str:
    from perago.devdemo.project import data_digest, read_data

    return data_digest(read_data(directory))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tasks", "mytasks"], "--tasks mytasks needs --workflow FILE.json"),
        (["--tasks", "mytasks", "--workflow", "nope.json"], "--workflow nope.json: cannot read it"),
        (["--tasks", "mytasks", "--workflow", "bad.json"], "--workflow bad.json: not valid JSON"),
        (["--tasks", "mytasks", "--workflow", "list.json"], "expected a Conductor workflow definition"),
        (["--tasks", "mytasks", "--workflow", "flow.json", "--data", "nowhere"], "--data nowhere: not a directory"),
        (["--tasks", "mytasks", "--workflow", "flow.json", "--input", "[1]"], "--input must be a JSON object"),
        (["--tasks", "mytasks", "--workflow", "flow.json", "--input", "{x"], "--input is not valid JSON"),
        (["--tasks", "mytasks", "--workflow", "flow.json", "--song-id", "s"], "with --tasks, pass --input"),
        (["--tasks", "mytasks", "--workflow", "other.json"], "workflow 'other' uses task(s) missing_task that mytasks"),
        (["--tasks", "no_such_pkg", "--workflow", "flow.json"], "cannot import 'no_such_pkg'"),
        (
            ["--workflow", "songs_fork", "--workflow", "songs_nope"],
            "--workflow 'songs_nope': no such workflow (known: ",
        ),
        (["--conductor-url", "http://localhost:8080"], "try CONDUCTOR_SERVER_URL=http://localhost:8080/api"),
    ],
)
def test_option_mistakes_are_one_line_before_any_server_starts(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    (project / "bad.json").write_text("{not json")
    (project / "list.json").write_text("[1, 2]")
    other = WORKFLOW | {
        "name": "other",
        "tasks": [{"name": "missing_task", "taskReferenceName": "m", "type": "SIMPLE"}],
    }
    (project / "other.json").write_text(json.dumps(other))
    monkeypatch.setattr(dev, "start_servers", _no_servers)

    assert dev.main(["--quiet-logs", *argv]) == 2

    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("perago dev: ") and message in line


def test_input_may_not_set_the_workspace(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--tasks", "mytasks", "--workflow", str(project / "flow.json"), "--input", '{"workspace": {}}']
    assert dev.main(["--quiet-logs", *argv]) == 2
    assert "refer to it as ${workflow.input.workspace}" in capsys.readouterr().err


def _no_servers(*args: object) -> object:
    raise AssertionError("a server was started before the options were checked")


def test_input_from_a_file_and_worker_tasks_found_in_every_branch(tmp_path: Path) -> None:
    from perago.devdemo.project import parse_input, worker_task_names

    (tmp_path / "input.json").write_text('{"left": {"text": "L"}}')
    assert parse_input(f"@{tmp_path / 'input.json'}") == {"left": {"text": "L"}}
    switch = {
        "name": "s",
        "taskReferenceName": "s",
        "type": "SWITCH",
        "decisionCases": {"a": [{"name": "in_case", "taskReferenceName": "c"}]},
        "defaultCase": [{"name": "in_default", "taskReferenceName": "d", "type": "SIMPLE"}],
    }
    loop = {"name": "l", "taskReferenceName": "l", "type": "DO_WHILE", "loopOver": [_writer("left")]}
    assert worker_task_names([switch, loop, WORKFLOW["tasks"]]) == {
        "in_case",
        "in_default",
        "write_left",
        "write_right",
        "read_both",
    }
