"""``python -m perago.testing conductor``: serves on the given port until SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.orkes_clients import OrkesClients

from perago.testing.conductor.cli import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("pick_port", [True, False], ids=["given-port", "port-0"])
def test_cli_serves_until_sigterm(pick_port):
    port = _free_port() if pick_port else 0
    command = [sys.executable, "-m", "perago.testing", "conductor", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        try:
            url = process.stdout.readline().strip()
            served_port = int(url.removesuffix("/api").rsplit(":", 1)[1])
            assert url == f"http://127.0.0.1:{served_port}/api"
            assert served_port == port if pick_port else served_port > 0
            metadata = OrkesClients(configuration=Configuration(server_api_url=url)).get_metadata_client()
            assert metadata.get_all_task_defs() == []
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=10)
    assert code == 0


def test_cli_reports_a_busy_port_in_one_line(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--host", "127.0.0.1", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err


def test_cli_auth_key_without_secret_is_refused(capsys):
    assert main(["--port", "0", "--auth-key", "only-the-key"]) == 2
    assert "--auth-key and --auth-secret go together" in capsys.readouterr().err
