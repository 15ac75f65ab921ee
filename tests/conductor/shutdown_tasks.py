"""A slow writable task for the shutdown tests (served by a CLI worker subprocess)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from perago import current_task_context, task


class LingerParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float


class Lingered(BaseModel):
    slept: float


@task(response_timeout_s=30, retry_count=2, retry_delay_s=0)
def linger(workspace_dir: Path, params: LingerParams) -> Lingered:
    """Writes a file, says it started, then works for ``seconds`` (stopping early when cancelled)."""
    (workspace_dir / "features").mkdir(exist_ok=True)
    (workspace_dir / "features/linger.txt").write_text(f"{params.seconds}\n")
    Path(os.environ["PERAGO_TEST_STARTED"]).write_text(str(os.getpid()))
    deadline = time.monotonic() + params.seconds
    while time.monotonic() < deadline:
        current_task_context().raise_if_cancelled("the end of linger")
        time.sleep(0.05)
    return Lingered(slept=params.seconds)
