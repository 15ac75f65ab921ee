"""The soak's processes: both emulators (with faults and latency), K worker processes, and their logs."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = "soak"


@dataclass
class Faults:
    """What both emulators are told to do to the soak's requests."""

    latency_ms: float = 2.0
    fault_rate: float = 0.02
    ambiguous_rate: float = 0.02

    def flags(self) -> list[str]:
        return [
            f"--latency-ms={self.latency_ms}",
            f"--fault-rate={self.fault_rate}",
            f"--ambiguous-rate={self.ambiguous_rate}",
        ]


@dataclass
class Stack:
    """Running emulators, their endpoints and credentials, and the directory holding every log."""

    run_dir: Path
    lakefs_url: str = ""
    conductor_url: str = ""
    lakefs_key: str = "AKIASOAKEXAMPLE00001"
    lakefs_secret: str = field(default_factory=lambda: "soak-lakefs-" + secrets.token_hex(12))
    conductor_key: str = "soak-key"
    conductor_secret: str = field(default_factory=lambda: "soak-conductor-" + secrets.token_hex(12))
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def secrets(self) -> tuple[str, str]:
        return (self.lakefs_secret, self.conductor_secret)

    def env(self) -> dict[str, str]:
        """The environment a worker (or the janitor) runs with: lakectl's and conductor-python's names."""
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "LAKECTL_SERVER_ENDPOINT_URL": self.lakefs_url,
            "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": self.lakefs_key,
            "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": self.lakefs_secret,
            "CONDUCTOR_SERVER_URL": self.conductor_url,
            "CONDUCTOR_AUTH_KEY": self.conductor_key,
            "CONDUCTOR_AUTH_SECRET": self.conductor_secret,
            "PERAGO_WORKSPACE_ROOT": str(self.run_dir / "attempts"),
            "PERAGO_HTTP_RETRIES": "8",
            "PERAGO_DRAIN_TIMEOUT_S": "2",
            "PERAGO_POLL_TIMEOUT_MS": "100",
            "PERAGO_LOG_LEVEL": "DEBUG",
        }

    def log(self, name: str) -> IO[bytes]:
        return (self.run_dir / f"{name}.log").open("ab")

    def _serve(self, name: str, argv: list[str]) -> str:
        process = subprocess.Popen(
            [sys.executable, "-m", "perago.testing", *argv],
            stdout=subprocess.PIPE,
            stderr=self.log(name),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.processes.append(process)
        assert process.stdout is not None
        seen = []
        for raw in process.stdout:
            line = raw.decode(errors="replace")
            seen.append(line)
            found = re.search(r"https?://[^\s'\"]+", line)
            if found:
                threading_drain(process.stdout, self.run_dir / f"{name}.out")
                return found.group(0)
        raise RuntimeError(f"the {name} emulator did not start: {''.join(seen)[-500:]}")

    def start_emulators(self, faults: Faults) -> None:
        self.lakefs_url = self._serve_root(
            "lakefs",
            [
                "lakefs",
                "--port=0",
                f"--access-key-id={self.lakefs_key}",
                f"--secret-access-key={self.lakefs_secret}",
                *faults.flags(),
            ],
        )
        self.conductor_url = self._serve(
            "conductor",
            [
                "conductor",
                "--port=0",
                f"--auth-key={self.conductor_key}",
                f"--auth-secret={self.conductor_secret}",
                *faults.flags(),
            ],
        )

    def _serve_root(self, name: str, argv: list[str]) -> str:
        """lakeFS's endpoint as lakectl takes it: the server root, without ``/api/v1``."""
        return self._serve(name, argv).removesuffix("/").removesuffix("/api/v1")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def threading_drain(stream: IO[bytes], path: Path) -> None:
    """Copy the rest of a child's stdout to a file on a daemon thread (so its pipe never fills)."""
    import threading

    def copy() -> None:
        with path.open("ab", buffering=0) as sink:
            for chunk in stream:
                sink.write(chunk)

    threading.Thread(target=copy, daemon=True).start()


def request(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, tries: int = 20) -> Any:
    """A JSON request that rides out the injected faults (the soak's own reads must not be what fails)."""
    data = None if body is None else json.dumps(body).encode()
    last: Exception | None = None
    for attempt in range(tries):
        req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                raw = response.read().decode()
            return json.loads(raw) if raw[:1] and raw[0] in "[{" else raw
        except urllib.error.HTTPError as exc:
            if exc.code < 500 and exc.code != 429:
                raise RuntimeError(f"{method} {url}: HTTP {exc.code} {exc.read()[:300]!r}") from exc
            last = exc
        except OSError as exc:
            last = exc
        time.sleep(min(1.0, 0.05 * 2**attempt))
    raise RuntimeError(f"{method} {url} kept failing: {last}")
