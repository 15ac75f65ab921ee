"""Wire models and the small value types that the runtime passes to its adapters.

Everything that comes from outside (Conductor task input) is a pydantic model with ``extra="forbid"``;
values the runtime hands to adapters are frozen dataclasses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from perago.snapshot import Entry, SnapshotDiff

# lakeFS naming rules (lakeFS pkg/graveler validation).
REPOSITORY_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")
BRANCH_NAME_RE = re.compile(r"^\w[-\w]*$")
COMMIT_ID_RE = re.compile(r"^[a-fA-F0-9]{6,64}$")
TAG_NAME_RE = re.compile(r"^[^\s~^:?*\[\\/]+(?:/[^\s~^:?*\[\\/]+)*$")
RefType = Literal["commit", "branch", "tag"]


class WorkspaceInput(BaseModel):
    """Where a task's workspace comes from and where its changes go.

    Attributes:
        repository: lakeFS repository name.
        branch: The branch that publication targets.
        ref_type: ``"commit"``, ``"branch"`` or ``"tag"``: what kind of ref ``ref`` is.
        ref: The ref to read (a commit id, a branch name or a tag).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    repository: str = Field(min_length=3, max_length=63)
    branch: str = Field(min_length=1, max_length=256)
    ref_type: RefType
    ref: str = Field(min_length=1, max_length=256)

    @field_validator("repository")
    @classmethod
    def _repository_name(cls, value: str) -> str:
        if not REPOSITORY_NAME_RE.match(value):
            raise ValueError(
                f"repository {value!r} is not a valid lakeFS repository name "
                "(3-63 characters: lowercase letters, digits and '-', not starting with '-')"
            )
        return value

    @field_validator("branch")
    @classmethod
    def _branch_name(cls, value: str) -> str:
        if not BRANCH_NAME_RE.match(value):
            raise ValueError(
                f"branch {value!r} is not a valid lakeFS branch name "
                "(letters, digits, '_' and '-', not starting with '-'; no slashes)"
            )
        return value

    @model_validator(mode="after")
    def _ref_matches_type(self) -> WorkspaceInput:
        rules = {"commit": COMMIT_ID_RE, "branch": BRANCH_NAME_RE, "tag": TAG_NAME_RE}
        if not rules[self.ref_type].match(self.ref):
            raise ValueError(f"ref {self.ref!r} is not a valid lakeFS {self.ref_type} reference")
        return self

    def published_output(self, ref: str) -> WorkspaceInput:
        """The workspace a later task should read: same repository and target branch, pinned to ``ref``."""
        return WorkspaceInput(repository=self.repository, branch=self.branch, ref_type="commit", ref=ref)


@dataclass(frozen=True, slots=True)
class AttemptSnapshot:
    """The identity of one delivery of a Conductor task, as polled (DESIGN §2)."""

    task_id: str
    workflow_id: str
    poll_count: int
    retry_count: int
    worker_id: str | None
    status: str = "IN_PROGRESS"
    task_type: str = ""
    reference_task_name: str = ""


@dataclass(frozen=True, slots=True)
class StagedWorkspace:
    """A committed staging branch, ready to be merged into the target branch."""

    repository: str
    branch: str
    commit: str


@dataclass(frozen=True, slots=True)
class DownloadRecord:
    """What ``download_workspace`` wrote: the pinned commit and every file's snapshot entry (with SHA-256)."""

    commit_id: str
    entries: Mapping[str, Entry] = field(default_factory=dict)
    bytes_downloaded: int = 0


@dataclass(frozen=True, slots=True)
class StageRequest:
    """Everything ``stage_workspace`` needs to put an attempt's changes on a staging branch.

    Attributes:
        workspace: The input workspace pinned to the commit that was downloaded (``ref_type="commit"``).
        directory: The attempt directory.
        diff: What changed relative to the downloaded commit.
        after: The after-snapshot (SHA-256 of every file, symlink targets).
        metadata: The ``perago.*`` commit metadata (all strings).
        attempt: The attempt identity (used to name the staging branch).
        task_name: The task's name.
        execution_id: The attempt's execution id.
    """

    workspace: WorkspaceInput
    directory: Path
    diff: SnapshotDiff
    after: Mapping[str, Entry]
    metadata: Mapping[str, str]
    attempt: AttemptSnapshot
    task_name: str
    execution_id: str
