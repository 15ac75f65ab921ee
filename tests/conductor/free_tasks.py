"""Workspace-free tasks for the worker tests."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from perago import current_task_context, task
from tests.conductor.helpers import Gate

GATE = Gate()


class Numbers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: int


class Doubled(BaseModel):
    y: int


@task(retry_count=0)
def double(params: Numbers) -> Doubled:
    """Doubles."""
    return Doubled(y=params.x * 2)


@task(response_timeout_s=10, retry_count=2, retry_delay_s=0)
def slow(params: Numbers) -> Doubled:
    """Blocks on the gate; stops early when cancelled."""
    GATE.wait()
    current_task_context().raise_if_cancelled("the end of the body")
    return Doubled(y=params.x)


SECRET = "tr4ceback-Secret-77"


@task(retry_count=0)
def divide(params: Numbers) -> Doubled:
    """Fails with a traceback whose text would carry a credential if it were not redacted."""
    if params.x:
        raise ZeroDivisionError(f"division by zero while holding {SECRET}")
    return Doubled(y=0)
