"""``perago.dev.main`` in-process (the subprocess tests check the user's view; these cover the code paths)."""

from __future__ import annotations

import contextlib
import json
import shlex

import pytest

from perago import dev
from perago.devdemo import pipeline
from perago.devdemo.progress import duration_s, worker_tasks
from perago.devdemo.stack import start_servers
from perago.devdemo.summary import format_commits
from perago.errors import ConfigurationError
from perago.testing.conductor import ConductorEmulator
from perago.testing.lakefs import LakeFSEmulator
from perago.testing.lakefs.emulator import DEFAULT_SECRET_ACCESS_KEY


def test_main_runs_one_workflow_and_writes_the_summary(tmp_path, capsys):
    summary = tmp_path / "s.json"

    code = dev.main(["--quiet-logs", "--workflow", "songs_pipeline", "--summary-json", str(summary)])

    out = capsys.readouterr().out
    assert code == 0, out
    data = json.loads(summary.read_text())
    assert list(data["workflows"]) == ["songs_pipeline"]
    assert data["workflows"]["songs_pipeline"]["branch"] == "pipeline"
    assert "lakeFS log of songs/pipeline" in out and "perago.task = features_build" in out


def test_main_against_given_servers_uses_fresh_timestamped_branches(tmp_path, capsys, monkeypatch):
    with ConductorEmulator() as conductor, LakeFSEmulator() as lakefs:
        monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", lakefs.access_key_id)
        monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", lakefs.secret_access_key)
        argv = ["--quiet-logs", "--conductor-url", conductor.url, "--lakefs-endpoint", lakefs.endpoint]

        code = dev.main([*argv, "--workflow", "songs_fork", "--summary-json", str(tmp_path / "s.json")])

    assert code == 0, capsys.readouterr()
    branch = json.loads((tmp_path / "s.json").read_text())["workflows"]["songs_fork"]["branch"]
    assert branch.startswith("fork-2") and len(branch) == len("fork-20260101T000000")


def test_main_reports_the_failing_task_and_exits_1(capsys):
    code = dev.main(["--quiet-logs", "--workflow", "songs_pipeline", "--params", '{"year": 1700}'])

    captured = capsys.readouterr()
    assert code == 1
    assert "task validate (metadata_validate) FAILED_WITH_TERMINAL_ERROR: ValidationError" in captured.err
    assert "year" in captured.err and "demo failed." in captured.out


@pytest.mark.parametrize(
    ("params", "message"),
    [("{not json", "--params is not valid JSON"), ("[1]", "--params must be a JSON object")],
)
def test_bad_params_option_exits_2(params, message, capsys):
    assert dev.main(["--quiet-logs", "--params", params]) == 2
    assert message in capsys.readouterr().err


def test_missing_example_package_is_a_clear_error(capsys):
    assert dev.main(["--quiet-logs", "--examples", "no_such_examples_pkg"]) == 2
    err = capsys.readouterr().err
    assert "cannot import the example package 'no_such_examples_pkg'" in err and "checkout" in err
    with pytest.raises(ConfigurationError):
        pipeline.import_examples("no_such_examples_pkg")


def test_progress_helpers_skip_system_tasks_and_time_tasks():
    workflow = {
        "tasks": [
            {"taskType": "JOIN", "seq": 3},
            {"taskType": "b", "seq": 2, "startTime": 1000, "endTime": 2500},
            {"taskType": "FORK", "seq": 1},
        ]
    }
    [task] = worker_tasks(workflow)
    assert duration_s(task) == 1.5
    assert duration_s({"startTime": 5}) is None


def test_commit_log_shows_metadata_on_merges_only():
    commits = [
        {"id": "m" * 64, "parents": ["a", "b"], "message": "merge", "metadata": {"perago.task": "t", "x": "y"}},
        {"id": "s" * 64, "parents": ["a"], "message": "stage", "metadata": {"perago.task": "t"}},
    ]
    lines = format_commits("repo", "main", commits)
    assert lines == [
        "lakeFS log of repo/main (newest first):",
        f"  merge  {'m' * 12}  merge",
        "      perago.task = t",
        f"  commit {'s' * 12}  stage",
    ]


def test_unreachable_server_is_one_clear_line(capsys):
    code = dev.main(
        ["--quiet-logs", "--conductor-url", "http://127.0.0.1:9/api", "--lakefs-endpoint", "http://127.0.0.1:9"]
    )

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("perago dev: ") and "127.0.0.1:9" in err[-1]


def test_http_error_names_the_call_and_status():
    from perago.devdemo.http import DemoHTTPError, call_json

    with ConductorEmulator() as conductor, pytest.raises(DemoHTTPError) as caught:
        call_json("GET", f"{conductor.url}/workflow/no-such-workflow")
    assert caught.value.status == 404 and "GET " in str(caught.value) and "HTTP 404" in str(caught.value)


def test_keep_running_prints_endpoints_and_waits_for_ctrl_c(capsys, monkeypatch):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(dev, "_wait_forever", interrupted)

    code = dev.main(["--quiet-logs", "--workflow", "songs_pipeline", "--keep-running"])

    out = capsys.readouterr().out
    assert code == 0
    assert "stays up for exploration" in out
    exports = [line.strip() for line in out.splitlines() if line.strip().startswith("export ")]
    names = [line.split("=", 1)[0] for line in exports]
    assert names == [
        "export CONDUCTOR_SERVER_URL",
        "export LAKECTL_SERVER_ENDPOINT_URL",
        "export LAKECTL_CREDENTIALS_ACCESS_KEY_ID",
        "export LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY",
    ]  # once each, after the summary
    [secret] = [line.split("=", 1)[1] for line in exports if "SECRET" in line]
    assert shlex.split(secret) == [DEFAULT_SECRET_ACCESS_KEY] and "<" not in out


def test_keep_running_on_real_servers_prints_no_secret():
    urls = ("http://conductor.example:8080/api", "http://lakefs.example:8000")
    endpoints = start_servers(contextlib.ExitStack(), *urls, ("AKIAREALKEY", "real-secret"))

    assert dev.export_lines(endpoints) == [
        f"export CONDUCTOR_SERVER_URL={urls[0]}",
        f"export LAKECTL_SERVER_ENDPOINT_URL={urls[1]}",
    ]
