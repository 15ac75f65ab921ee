"""A writable step whose output names the attempt that wrote it (so a second publication would be visible)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from perago import WorkspaceSpec, current_task_context, task

BODY_RUNS: list[str] = []


class StampParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = "x"


class Stamped(BaseModel):
    by: str
    label: str


@task(workspace=WorkspaceSpec(), response_timeout_s=10, retry_count=2, retry_delay_s=0)
def stamp(workspace_dir: Path, params: StampParams) -> Stamped:
    """Writes out/stamp.txt naming the task id that ran it."""
    task_id = current_task_context().task_id
    BODY_RUNS.append(task_id)
    (workspace_dir / "out").mkdir(exist_ok=True)
    (workspace_dir / "out/stamp.txt").write_text(f"{params.label} written by {task_id}\n")
    return Stamped(by=task_id, label=params.label)
