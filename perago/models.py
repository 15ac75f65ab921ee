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

from perago.names import branch_name_problem, repository_name_problem, tag_name_problem
from perago.spec import WorkspaceSpec

if TYPE_CHECKING:
    from perago.snapshot import Entry, SnapshotDiff

# lakeFS naming rules (lakeFS pkg/graveler validation).
COMMIT_ID_RE = re.compile(r"^[a-fA-F0-9]{6,64}$")
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
        problem = repository_name_problem(value)
        if problem:
            raise ValueError(f"repository {value!r} is not a valid lakeFS repository name ({problem})")
        return value

    @field_validator("branch")
    @classmethod
    def _branch_name(cls, value: str) -> str:
        problem = branch_name_problem(value)
        if problem:
            raise ValueError(f"branch {value!r} is not a valid lakeFS branch name ({problem})")
        return value

    @model_validator(mode="after")
    def _ref_matches_type(self) -> WorkspaceInput:
        problems = {
            "commit": None if COMMIT_ID_RE.match(self.ref) else "6-64 hexadecimal digits",
            "branch": branch_name_problem(self.ref),
            "tag": tag_name_problem(self.ref),
        }
        problem = problems[self.ref_type]
        if problem:
            raise ValueError(f"ref {self.ref!r} is not a valid lakeFS {self.ref_type} reference ({problem})")
        return self

    def published_output(self, ref: str) -> WorkspaceInput:
        """The workspace a later task should read: same repository and target branch, pinned to ``ref``."""
        return WorkspaceInput(repository=self.repository, branch=self.branch, ref_type="commit", ref=ref)


# Where each attempt attribute may be found: perago's own name first, then conductor-python's snake_case model
# attribute, then the wire's camelCase key (a mapping such as the JSON of GET /api/tasks/{taskId}).
_ATTEMPT_FIELDS: dict[str, tuple[str, ...]] = {
    "task_id": ("task_id", "taskId"),
    "workflow_id": ("workflow_id", "workflow_instance_id", "workflowInstanceId"),
    "poll_count": ("poll_count", "pollCount"),
    "retry_count": ("retry_count", "retryCount"),
    "worker_id": ("worker_id", "workerId"),
    "status": ("status",),
    "task_type": ("task_type", "task_def_name", "taskDefName", "taskType"),
    "reference_task_name": ("reference_task_name", "referenceTaskName"),
    "retried_task_id": ("retried_task_id", "retriedTaskId"),
    "scheduled_time": ("scheduled_time", "scheduledTime"),
    "end_time": ("end_time", "endTime"),
}


def _read(source: object, names: tuple[str, ...]) -> object:
    for name in names:
        value = source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)
        if value is not None:
            return value
    return None


@dataclass(frozen=True, slots=True)
class AttemptSnapshot:
    """The identity of one delivery of a Conductor task, as polled (DESIGN §2).

    Attributes:
        task_id: Conductor's task id (a retry is a new task id).
        workflow_id: The workflow instance id.
        poll_count: How many times this task id was delivered (the fence compares it).
        retry_count: Which retry of the workflow step this task is (0 for the first try).
        worker_id: The worker id the task was polled with.
        status: The task's status (``IN_PROGRESS`` when polled).
        task_type: The task definition name.
        reference_task_name: The workflow step (with a DO_WHILE iteration's ``__N`` suffix).
        retried_task_id: The task id of the attempt this one retries (Conductor's ``retriedTaskId``), if any.
        scheduled_time: When Conductor scheduled this task (epoch milliseconds, 0 when unknown).
        end_time: When it ended (epoch milliseconds, 0 while it runs or when unknown).
    """

    task_id: str
    workflow_id: str
    poll_count: int
    retry_count: int
    worker_id: str | None
    status: str = "IN_PROGRESS"
    task_type: str = ""
    reference_task_name: str = ""
    retried_task_id: str | None = None
    scheduled_time: int = 0
    end_time: int = 0

    @classmethod
    def of(cls, attempt: object) -> AttemptSnapshot:
        """Read an attempt's identity from any object that exposes it.

        ``attempt`` may be an :class:`AttemptSnapshot`, a conductor-python ``Task`` as polled or re-read, any object
        with the same attribute names (a ``SimpleNamespace``), or a mapping with the wire's camelCase keys. Missing
        numbers read as 0, a missing status as ``IN_PROGRESS`` (a task is handed to a worker in that status).

        Raises:
            TypeError: ``attempt`` exposes no task id, so it cannot be fenced.
        """
        if isinstance(attempt, AttemptSnapshot):
            return attempt
        values = {name: _read(attempt, keys) for name, keys in _ATTEMPT_FIELDS.items()}
        if not values["task_id"]:
            raise TypeError(
                f"{type(attempt).__name__} is not a Conductor task attempt: it has no task_id (or taskId); pass the "
                "polled conductor Task, a perago AttemptSnapshot, or an object with task_id, poll_count and worker_id"
            )
        retried = values["retried_task_id"]
        return cls(
            task_id=str(values["task_id"]),
            workflow_id=str(values["workflow_id"] or ""),
            poll_count=int(str(values["poll_count"] or 0)),
            retry_count=int(str(values["retry_count"] or 0)),
            worker_id=None if values["worker_id"] is None else str(values["worker_id"]),
            status=str(values["status"] or "IN_PROGRESS"),
            task_type=str(values["task_type"] or ""),
            reference_task_name=str(values["reference_task_name"] or ""),
            retried_task_id=str(retried) if retried else None,
            scheduled_time=int(str(values["scheduled_time"] or 0)),
            end_time=int(str(values["end_time"] or 0)),
        )


@dataclass(frozen=True, slots=True)
class StagedWorkspace:
    """A committed staging branch, ready to be merged into the target branch.

    What ``stage_workspace`` returns and ``publish_workspace`` and ``cleanup_staging`` receive: the staged reference
    itself carries everything cleanup needs, so no worker-local state is involved.

    Attributes:
        repository: The lakeFS repository that owns the staging branch.
        branch: The staging branch holding the attempt's changes.
        commit: The commit that staging made on it.

    Example:
        >>> StagedWorkspace(repository="songs", branch="perago-stg-wf-task", commit="abc123").branch
        'perago-stg-wf-task'
    """

    repository: str
    branch: str
    commit: str


@dataclass(frozen=True, slots=True)
class DownloadRecord:
    """What ``download_workspace`` wrote: the pinned commit and every file's snapshot entry (with SHA-256).

    Attributes:
        commit_id: The commit the ref was pinned to.
        entries: Every file's snapshot entry (path -> entry with its SHA-256 and stamp).
        bytes_downloaded: Bytes fetched from lakeFS (files served by the local content cache are not counted).
        cache_hits: Files the local content cache served.
    """

    commit_id: str
    entries: Mapping[str, Entry] = field(default_factory=dict)
    bytes_downloaded: int = 0
    cache_hits: int = 0


@dataclass(frozen=True, slots=True)
class StageRequest:
    """Everything the lakeFS stager needs to put an attempt's changes on a staging branch (internal).

    The lakeFS store builds it from the seed-shaped ``stage_workspace`` arguments and the execution context.

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


__all__ = [
    "AttemptSnapshot",
    "DownloadRecord",
    "RefType",
    "StageRequest",
    "StagedWorkspace",
    "WorkspaceInput",
    "WorkspaceSpec",
]
