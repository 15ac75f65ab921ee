"""Issue 12: a short run of the chaos soak (``make soak`` runs the full one): both emulators with faults, two worker
processes SIGKILLed and SIGTERMed at random, and every check of the full soak on the final state."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_soak_smoke_finds_no_violation() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "soak", "--smoke"], cwd=ROOT, capture_output=True, text=True, timeout=280, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    (line,) = [line for line in run.stdout.splitlines() if line.startswith("soak: ")]
    figures = dict(re.findall(r"(\w+)=(\d+)", line))
    assert figures["workflows"] == figures["completed"] == "16"
    assert figures["failed"] == figures["lost"] == figures["doubled"] == "0"
    assert figures["staging_left"] == figures["attempt_dirs"] == figures["secrets_leaked"] == "0"
    assert int(figures["kills"]) >= 4
