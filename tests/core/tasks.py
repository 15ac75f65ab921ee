"""Tasks used by the core tests."""

from __future__ import annotations

import threading
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from perago import (
    ATTEMPT_WORKSPACE_MARKER,
    ChangesOnlyUnder,
    NonRetryableError,
    RequiredPaths,
    WorkspaceSpec,
    current_task_context,
    task,
)


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: str = "write"


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: int


class UserBug(Exception):
    pass


class BadData(Exception):
    pass


BODY_STARTED = threading.Event()


@task(workspace=WorkspaceSpec(post=[ChangesOnlyUnder(prefixes=["out/"])]), non_retryable=(BadData,))
def writer(workspace_dir: Path, params: Params) -> Out:
    """Writes, deletes, or misbehaves depending on ``mode``."""
    mode = params.mode
    if mode == "write":
        (workspace_dir / "out").mkdir()
        (workspace_dir / "out/result.txt").write_text("done")
    elif mode == "outside":
        (workspace_dir / "raw/a.csv").write_text("tampered")
    elif mode == "boom":
        raise UserBug("the task crashed at row 7")
    elif mode == "terminal":
        raise NonRetryableError("input data is corrupt: row 3 has no id")
    elif mode == "baddata":
        raise BadData("listed in non_retryable")
    elif mode == "badoutput":
        return Out.model_construct(files="many")  # type: ignore[arg-type]
    elif mode == "cancel":
        current_task_context().cancel_event.set()
    return Out(files=len(list(workspace_dir.rglob("*"))))


@task(workspace=WorkspaceSpec(read_only=True, pre=[RequiredPaths(paths=["raw/*.csv"], min_count=1)]))
def reader(workspace_dir: Path, params: Params) -> Out:
    """Counts files."""
    return Out(files=sum(1 for p in workspace_dir.rglob("*") if p.is_file() and p.name != ATTEMPT_WORKSPACE_MARKER))


@task(workspace=WorkspaceSpec(pre=[RequiredPaths(paths=["missing/*.csv"], min_count=2)]))
def needs_missing(workspace_dir: Path, params: Params) -> Out:
    """Never runs: its pre guardrail fails."""
    raise AssertionError("body must not run")


class Greeting(BaseModel):
    text: str


class Hello(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


@task(retry_count=0)
def greet(params: Hello) -> Greeting:
    """A workspace-free task."""
    if params.name == "crash":
        raise UserBug("no")
    return Greeting(text=f"hello {params.name}")
