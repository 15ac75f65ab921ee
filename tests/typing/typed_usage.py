"""Checked by mypy --strict in tests/core/test_typing.py (never imported by pytest): ``@task`` keeps the user's
models in the types, so what a harness run returns is typed as the user's result model."""

from __future__ import annotations

from pathlib import Path
from typing import reveal_type

from pydantic import BaseModel

from perago import TaskDefinition, WorkspaceSpec, task
from perago.testing import TaskEnvironment, TaskRun


class Hello(BaseModel):
    name: str


class Greeting(BaseModel):
    message: str


class Count(BaseModel):
    files: int


@task
def greet(params: Hello) -> Greeting:
    return Greeting(message=params.name)


@task(workspace=WorkspaceSpec(read_only=True), retry_count=0)
def count(workspace_dir: Path, params: Hello) -> Count:
    return Count(files=len(list(workspace_dir.iterdir())))


reveal_type(greet)
reveal_type(count)
run = TaskEnvironment(greet).run({"name": "Ada"})
reveal_type(run.result)
definition: TaskDefinition[Hello, Greeting] = greet
counted: TaskRun[Count] = TaskEnvironment(count).run({"name": "x"}, directory=Path("."))
if counted.result is not None:
    files: int = counted.result.files
    message: str = counted.result.message  # error: Count has no attribute "message"
