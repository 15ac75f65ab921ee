"""``WorkspaceSpec``: how a task uses its workspace."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from perago.guards import Guardrail, refuse_misplaced_guardrails
from perago.sparse import check_sparse_path


class WorkspaceSpec(BaseModel):
    """How a task uses its workspace.

    Attributes:
        read_only: The task only reads: no before-snapshot, no staging; its output is the commit it read.
        pre: Guardrails checked after download, before the task body.
        post: Guardrails checked after the body (``ChangesOnlyUnder`` compares with the before-snapshot).
        full_rehash: Re-hash every file after the body instead of trusting the download stamps.
        paths: A sparse workspace: only objects under these prefixes or matching these globs are listed and
            downloaded (``["raw/meta/", "config/*.json"]``, see :mod:`perago.sparse`); None downloads the whole ref.
            Change detection covers what was downloaded plus what the task writes, so an object that was not
            downloaded is never deleted; a file written outside these paths is published like any other (a post
            guardrail such as ``ChangesOnlyUnder`` can forbid it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    read_only: bool = False
    pre: list[Guardrail] = Field(default_factory=list)
    post: list[Guardrail] = Field(default_factory=list)
    full_rehash: bool = False
    paths: list[str] | None = None

    @field_validator("paths")
    @classmethod
    def _sparse_paths(cls, value: list[str] | None) -> list[str] | None:
        for i, entry in enumerate(value or []):
            try:
                check_sparse_path(entry)
            except ValueError as exc:
                raise ValueError(f"paths[{i}]: {exc}") from None
        return value

    @model_validator(mode="after")
    def _guardrails_fit_their_phase(self) -> WorkspaceSpec:
        # A misplaced ChangesOnlyUnder could only fail at run time; refuse it where the task is defined.
        refuse_misplaced_guardrails(self.pre, self.post, self.read_only)
        return self
