"""``WorkspaceSpec``: how a task uses its workspace."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from perago.guards import Guardrail, refuse_misplaced_guardrails


class WorkspaceSpec(BaseModel):
    """How a task uses its workspace.

    Attributes:
        read_only: The task only reads: no before-snapshot, no staging; its output is the commit it read.
        pre: Guardrails checked after download, before the task body.
        post: Guardrails checked after the body (``ChangesOnlyUnder`` compares with the before-snapshot).
        full_rehash: Re-hash every file after the body instead of trusting the download stamps.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    read_only: bool = False
    pre: list[Guardrail] = Field(default_factory=list)
    post: list[Guardrail] = Field(default_factory=list)
    full_rehash: bool = False

    @model_validator(mode="after")
    def _guardrails_fit_their_phase(self) -> WorkspaceSpec:
        # A misplaced ChangesOnlyUnder could only fail at run time; refuse it where the task is defined.
        refuse_misplaced_guardrails(self.pre, self.post, self.read_only)
        return self
