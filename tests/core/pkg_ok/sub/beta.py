from pathlib import Path

from pydantic import BaseModel

from perago import WorkspaceSpec, task
from tests.core.pkg_ok.alpha import alpha  # noqa: F401  (imported, not defined here: not counted twice)


class P(BaseModel):
    x: int = 0


class R(BaseModel):
    y: int


@task(workspace=WorkspaceSpec(read_only=True))
def beta(workspace_dir: Path, params: P) -> R:
    return R(y=params.x)


@task(name="gamma")
def gamma_fn(params: P) -> R:
    return R(y=2)
