"""Memoized tasks for the worker tests: a read-only count and a writable copy, each counting its body runs."""

from __future__ import annotations

import threading
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from perago import WorkspaceSpec, current_task_context, task

BODY_RUNS: list[str] = []
HOLD = threading.Event()  # set: bodies run through; cleared: a body waits for it (up to 20 s)
HOLD.set()
STARTED = threading.Event()


class CountParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suffix: str = ".csv"


class Counted(BaseModel):
    files: int
    by: str


@task(workspace=WorkspaceSpec(read_only=True), cache=True, response_timeout_s=30, retry_count=1, retry_delay_s=0)
def count(workspace_dir: Path, params: CountParams) -> Counted:
    """Counts the files with a suffix (read-only, memoized)."""
    BODY_RUNS.append("count")
    found = [p for p in workspace_dir.rglob(f"*{params.suffix}") if p.is_file()]
    return Counted(files=len(found), by=current_task_context().task_id)


class CopyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = "x"


class Copied(BaseModel):
    label: str
    by: str


def _copy(workspace_dir: Path, params: CopyParams) -> Copied:
    BODY_RUNS.append("copy")
    STARTED.set()
    if not HOLD.wait(20):
        raise AssertionError("the test never let the body finish")
    (workspace_dir / "copies").mkdir(exist_ok=True)
    (workspace_dir / "copies" / f"{params.label}.txt").write_text(f"copy {params.label}\n")
    return Copied(label=params.label, by=current_task_context().task_id)


copy = task(name="copy", cache=True, response_timeout_s=30, retry_count=1, retry_delay_s=0)(_copy)
