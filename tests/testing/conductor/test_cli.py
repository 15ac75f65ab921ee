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
            assert process.stdout.readline().strip() == f"Conductor emulator serving at {url}"
            assert process.stdout.readline().strip() == f"export CONDUCTOR_SERVER_URL={url}"
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


def test_cli_prints_the_auth_key_and_export_lines_with_faults():
    command = [sys.executable, "-m", "perago.testing", "conductor", "--port", "0", "--auth-key", "k-1"]
    command += ["--auth-secret", "s-1", "--fault-rate", "0.03", "--ambiguous-rate", "0.1", "--latency-ms", "2"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        try:
            out = [process.stdout.readline().rstrip("\n") for _ in range(6)]
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
    url = out[0]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/api")
    assert "auth key id: k-1" in out and "  export CONDUCTOR_AUTH_KEY=k-1" in out
    assert f"  export CONDUCTOR_SERVER_URL={url}" in out
    assert not any("s-1" in line for line in out)  # the secret is never printed


def test_cli_help_shows_defaults_and_rejects_bad_rates(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "--fault-rate" in text and "--ambiguous-rate" in text and "--latency-ms" in text
    assert "(default: 8080)" in text
    with pytest.raises(SystemExit):
        main(["--fault-rate", "2"])
    assert "must be between 0 and 1" in capsys.readouterr().err


def test_package_help_lists_both_emulators():
    done = subprocess.run(
        [sys.executable, "-m", "perago.testing", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert any(line.strip().startswith("lakefs ") for line in lines)
    assert any(line.strip().startswith("conductor ") for line in lines)
