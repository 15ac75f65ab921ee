"""A task whose response timeout Conductor would refuse (TaskDef.responseTimeoutSeconds is @Min(1))."""

from __future__ import annotations

from pydantic import BaseModel

from perago import task


class Nothing(BaseModel):
    pass


@task(response_timeout_s=0)
def never_leased(params: Nothing) -> Nothing:
    """Cannot be registered: Conductor refuses a response timeout under 1 second."""
    return params
