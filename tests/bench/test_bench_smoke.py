"""The benchmarks keep running: ``python -m bench --smoke`` exits 0 and prints every scenario's table.

No timing is asserted here: figures are measured by ``make bench`` and recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_smoke_prints_every_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for title in (
        "## 1. Cold download",
        "## 2. Peak memory",
        "## 3. Snapshot",
        "## 4. Change detection after a small edit",
        "## 5. Staging a small edit",
        "## 6. Worker throughput",
        "## 7. Download at network distance",
        "## 8. Local content cache",
        "## 9. Sparse download",
        "## 10. Download at scale",
    ):
        assert title in result.stdout
    assert "| figure | perago | baseline | ratio |" in result.stdout
    assert "targets met:" in result.stdout
