"""``python -m perago.testing lakefs`` (endpoint, credentials and exports on start; faults and latency from the
shell; ``--help`` with defaults), and directory persistence across restarts."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import urllib3
from lakefs_sdk import CommitCreation, Configuration
from lakefs_sdk.client import LakeFSClient

from perago.testing.lakefs import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, LakeFSEmulator

COMMAND = [sys.executable, "-m", "perago.testing", "lakefs"]


def client(emu: LakeFSEmulator) -> LakeFSClient:
    return LakeFSClient(
        Configuration(host=f"{emu.endpoint}/api/v1", username=emu.access_key_id, password=emu.secret_access_key)
    )


def test_cli_prints_how_to_connect_and_serves_until_terminated() -> None:
    args = ["--port", "0", "--access-key-id", "AK", "--secret-access-key", "SK", "--repository", "songs"]
    with subprocess.Popen([*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(7)]
        endpoint = lines[0]
        assert endpoint.startswith("http://127.0.0.1:")
        assert lines[4:] == [
            f"export LAKECTL_SERVER_ENDPOINT_URL={endpoint}",
            "export LAKECTL_CREDENTIALS_ACCESS_KEY_ID=AK",
            "export LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY=SK",
        ]
        assert "# access key id:     AK" in lines and "# secret access key: SK" in lines
        auth = urllib3.make_headers(basic_auth="AK:SK")
        listed = urllib3.request("GET", f"{endpoint}/api/v1/repositories", headers=auth).json()
        assert [r["id"] for r in listed["results"]] == ["songs"]
        bad = urllib3.make_headers(basic_auth="AK:no")
        assert urllib3.request("GET", f"{endpoint}/api/v1/repositories", headers=bad).status == 401
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_cli_faults_and_latency_from_the_shell() -> None:
    """The issue's command line: 10 ms per request, 3 % errors, 5 % applied-then-lost answers (seeded)."""
    args = ["--port", "0", "--latency-ms", "10", "--fault-rate", "0.03", "--ambiguous-rate", "0.05", "--seed", "1"]
    with subprocess.Popen([*COMMAND, *args, "--repository", "songs"], stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        endpoint = process.stdout.readline().strip()
        auth = urllib3.make_headers(basic_auth=f"{DEFAULT_ACCESS_KEY_ID}:{DEFAULT_SECRET_ACCESS_KEY}")
        seen: Counter[object] = Counter()
        for _ in range(300):
            try:
                answer = urllib3.request("GET", f"{endpoint}/api/v1/repositories/songs", headers=auth, retries=False)
                seen[answer.status] += 1
            except urllib3.exceptions.ProtocolError:
                seen["lost"] += 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert seen[200] > 250 and 1 <= seen["lost"] <= 35 and 1 <= seen[429] + seen[500] + seen[503] <= 25


def test_help_shows_defaults_and_bad_options_are_refused() -> None:
    shown = subprocess.run([*COMMAND, "--help"], capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0
    for text in ("--latency-ms", "(default: 0.0)", "--fault-rate", "--ambiguous-rate", "(default: 8000)", "--seed"):
        assert text in shown.stdout
    for bad in (["--fault-rate", "2"], ["--fault-rate", "0.6", "--ambiguous-rate", "0.6"], ["--route-fault", "x=1"]):
        refused = subprocess.run([*COMMAND, *bad], capture_output=True, text=True, timeout=30)
        assert refused.returncode == 2 and "error:" in refused.stderr and "Traceback" not in refused.stderr


def test_storage_dir_survives_a_restart(tmp_path: Path) -> None:
    with LakeFSEmulator(storage_dir=tmp_path) as emu:
        emu.create_repository("songs")
        sdk = client(emu)
        sdk.objects_api.upload_object("songs", "main", "a.txt", content=b"kept")
        commit = sdk.commits_api.commit("songs", "main", CommitCreation(message="before restart")).id
    with LakeFSEmulator(storage_dir=tmp_path) as again:
        sdk = client(again)
        assert sdk.commits_api.get_commit("songs", "main").id == commit
        assert sdk.objects_api.get_object("songs", "main", "a.txt") == b"kept"
        sdk.objects_api.upload_object("songs", "main", "b.txt", content=b"new")  # the repository lock works again
        assert sdk.commits_api.commit("songs", "main", CommitCreation(message="after")).message == "after"
        with pytest.raises(Exception, match="already in use"):
            again.create_repository("other", storage_namespace="mem://songs")
