"""The soak's two writable steps. Each writes one file named after its workflow, with content that depends only on
the call, so a second publication is visible only in the branch's merge log (as it would be in production)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from perago import WorkspaceSpec, current_task_context, task


class StepParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: int = 3


class StepResult(BaseModel):
    path: str


def _write(workspace_dir: Path, step: str, rows: int) -> StepResult:
    workflow_id = current_task_context().workflow_id
    path = f"runs/{workflow_id}/{step}.csv"
    target = workspace_dir / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(f"{workflow_id},{step},{i}\n" for i in range(rows)))
    return StepResult(path=path)


SPEC = WorkspaceSpec()
RETRIES = 12  # SIGKILLs time attempts out: a step may be hit several times in one soak


@task(workspace=SPEC, response_timeout_s=3, retry_count=RETRIES, retry_delay_s=0)
def soak_extract(workspace_dir: Path, params: StepParams) -> StepResult:
    """First step: reads its branch's head, writes runs/<workflow>/extract.csv."""
    return _write(workspace_dir, "extract", params.rows)


@task(workspace=SPEC, response_timeout_s=3, retry_count=RETRIES, retry_delay_s=0)
def soak_load(workspace_dir: Path, params: StepParams) -> StepResult:
    """Second step: reads the commit the first published (a pinned input), writes runs/<workflow>/load.csv."""
    if not (workspace_dir / f"runs/{current_task_context().workflow_id}/extract.csv").is_file():
        raise RuntimeError("the first step's output is missing from this step's input commit")
    return _write(workspace_dir, "load", params.rows)


STEPS = (("soak_extract", "extract"), ("soak_load", "load"))
