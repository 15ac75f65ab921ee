"""``python -m perago.worker``: the errors a user can fix print one line and exit 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from perago.testing.conductor import ConductorEmulator

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perago.worker", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_module_path() -> None:
    result = run_cli("no_such_pkg.workers")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "perago.worker: error: cannot import 'no_such_pkg.workers': "
        "No module named 'no_such_pkg'; check the module path"
    ]


def test_module_without_tasks() -> None:
    result = run_cli("tests.conductor.helpers")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "perago.worker: error: no perago tasks found in tests.conductor.helpers; decorate functions with @task"
    )


def test_unreachable_conductor() -> None:
    result = run_cli("tests.conductor.free_tasks", "--conductor-url", "http://127.0.0.1:9/api")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "perago.worker: error: cannot reach Conductor at http://127.0.0.1:9/api"
    )
    assert "Traceback" not in result.stderr


def test_bad_credentials(tmp_path: Path) -> None:
    with ConductorEmulator(auth=("good-key", "good-secret")) as emu:
        result = run_cli(
            "tests.conductor.free_tasks",
            env={
                "CONDUCTOR_SERVER_URL": emu.url,
                "CONDUCTOR_AUTH_KEY": "good-key",
                "CONDUCTOR_AUTH_SECRET": "wrong-secret",
            },
        )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "refused the credentials" in lines[0] and "wrong-secret" not in result.stderr


def test_conductor_url_without_api_says_to_add_it() -> None:
    with ConductorEmulator() as emu:
        bare = emu.url.removesuffix("/api")
        result = run_cli("tests.conductor.free_tasks", "--conductor-url", bare)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "(HTTP 404" in line
    assert line.endswith(f"the URL must be Conductor's API base, ending in /api: try CONDUCTOR_SERVER_URL={bare}/api")


def test_a_404_under_api_asks_whether_it_is_the_api_base() -> None:
    from perago.conductor.client import api_base_hint

    assert api_base_hint("http://host:8080/api/").startswith("is this Conductor's API base?")
    assert api_base_hint("http://host:8080/") == (
        "the URL must be Conductor's API base, ending in /api: try CONDUCTOR_SERVER_URL=http://host:8080/api"
    )


def test_a_response_timeout_conductor_would_refuse() -> None:
    """TaskDef.responseTimeoutSeconds is @Min(1): refused before any call, with the task and the fix named."""
    result = run_cli("tests.conductor.bad_tasks", "--conductor-url", "http://127.0.0.1:9/api")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "perago.worker: error: task never_leased (tests.conductor.bad_tasks): response_timeout_s=0, but Conductor "
        "requires at least 1 second (TaskDef.responseTimeoutSeconds @Min(1)); set @task(response_timeout_s=...) to "
        "how long one attempt may go without a lease extension"
    ]


def test_a_poll_timeout_above_the_servers_limit() -> None:
    """ExecutionService.poll refuses a long-poll timeout above 5000 ms with 400: say so at start, not on every poll."""
    result = run_cli("tests.conductor.free_tasks", env={"PERAGO_POLL_TIMEOUT_MS": "6000"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perago.worker: error: PERAGO_POLL_TIMEOUT_MS is 6000, but")
