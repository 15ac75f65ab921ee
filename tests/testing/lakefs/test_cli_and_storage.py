"""``python -m perago.testing lakefs``, directory persistence across restarts, and latency injection."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import urllib3
from lakefs_sdk import CommitCreation, Configuration
from lakefs_sdk.client import LakeFSClient

from perago.testing.lakefs import LakeFSEmulator


def client(emu: LakeFSEmulator) -> LakeFSClient:
    return LakeFSClient(
        Configuration(host=f"{emu.endpoint}/api/v1", username=emu.access_key_id, password=emu.secret_access_key)
    )


def test_cli_serves_until_terminated(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "perago.testing",
        "lakefs",
        "--port",
        "0",
        "--access-key-id",
        "AK",
        "--secret-access-key",
        "SK",
    ]
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    ) as process:
        assert process.stdout is not None
        endpoint = process.stdout.readline().strip()
        assert endpoint.startswith("http://127.0.0.1:")
        auth = urllib3.make_headers(basic_auth="AK:SK")
        assert urllib3.request("GET", f"{endpoint}/api/v1/repositories", headers=auth).status == 200
        assert (
            urllib3.request(
                "GET", f"{endpoint}/api/v1/repositories", headers=urllib3.make_headers(basic_auth="AK:no")
            ).status
            == 401
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


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


def test_added_latency(lakefs_emulator: LakeFSEmulator) -> None:
    lakefs_emulator.create_repository("songs")
    lakefs_emulator.add_latency("getBranch", 0.2)
    sdk = client(lakefs_emulator)
    started = time.monotonic()
    sdk.branches_api.get_branch("songs", "main")
    assert time.monotonic() - started >= 0.2
    lakefs_emulator.clear_faults()
    assert lakefs_emulator.latency == {}
