"""Tasks with concurrency keys for the worker tests; each body appends its interval to a JSON-lines file."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from perago import current_task_context, task


class Guarded(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    log: str
    body_s: float = 0.05


class Done(BaseModel):
    key: str


def _record(log: str, key: str, body_s: float) -> None:
    start = time.monotonic()  # system-wide on Linux: comparable across the worker processes
    time.sleep(body_s)
    line = {
        "key": key,
        "start": start,
        "end": time.monotonic(),
        "pid": os.getpid(),
        "task": current_task_context().task_id,
    }
    with open(log, "a") as out:
        out.write(json.dumps(line) + "\n")


@task(concurrency_key=["params.key"], retry_count=0, response_timeout_s=30)
def guarded(params: Guarded) -> Done:
    """At most one running body per ``key`` across every worker."""
    _record(params.log, params.key, params.body_s)
    return Done(key=params.key)


class BranchParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    log: str


@task(concurrency_key=["workspace.branch"], retry_count=0, response_timeout_s=30)
def on_branch(workspace_dir: Path, params: BranchParams) -> Done:
    """At most one running body per target branch; writes one file."""
    _record(params.log, "branch", 0.05)
    (workspace_dir / "notes").mkdir(exist_ok=True)
    (workspace_dir / "notes" / f"{params.name}.txt").write_text(params.name)
    return Done(key=params.name)
