"""Invoking a task body: params model -> pre guardrails -> fn -> output model -> post guardrails.

Params and outputs are validated with ``extra="forbid"`` (DESIGN §1) even when the user's model would ignore
unknown keys, so a typo in a workflow's input mapping fails loudly (a pydantic ``ValidationError`` naming the key)
instead of being dropped.

The four public functions have the seed's signatures: they take the Conductor task input (``{"workspace",
"params"}`` or ``{"params"}``) and return the wire shapes (``{"result": ...}``, ``{"workspace", "result"}``).
The attempt runtime uses :func:`run_task_body`, which also returns the after-snapshot so nothing is hashed twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from perago.errors import TaskInputError
from perago.guards import check_guardrails
from perago.models import WorkspaceInput
from perago.snapshot import Entry, Snapshot, snapshot_directory
from perago.task import P, R, TaskDefinition


@dataclass(frozen=True)
class BodyOutcome:
    """What the body produced: validated output and params and, when a before-snapshot was given, the after one."""

    output: BaseModel
    params: BaseModel
    after: dict[str, Entry] | None = None


def _keys(input_data: object) -> list[str] | str:
    return sorted(map(str, input_data)) if isinstance(input_data, Mapping) else type(input_data).__name__


def parse_workspace_task_input(input_data: object) -> tuple[WorkspaceInput, Any]:
    """Steps 1-2: exactly ``{"workspace", "params"}``; the workspace validated as :class:`WorkspaceInput`.

    Raises:
        TaskInputError: Wrong shape (the keys found are named).
        pydantic.ValidationError: An invalid workspace.
    """
    if not isinstance(input_data, Mapping) or set(input_data) != {"workspace", "params"}:
        raise TaskInputError(
            f"workspace task input must be exactly {{'workspace', 'params'}}, got {_keys(input_data)}; "
            "map only `workspace` and `params` in the workflow's inputParameters"
        )
    return WorkspaceInput.model_validate(input_data["workspace"]), input_data["params"]


def validate_params(task: TaskDefinition[P, Any], params: object) -> P:
    """Validate raw params against the task's params model, refusing undeclared keys.

    Raises:
        TaskInputError: Params are not a JSON object.
        pydantic.ValidationError: The params do not validate (an unknown key is ``extra_forbidden``).
    """
    if isinstance(params, BaseModel):
        params = params.model_dump(mode="json", by_alias=True)
    if not isinstance(params, Mapping):
        raise TaskInputError(f"task {task.name}: 'params' must be a JSON object, got {type(params).__name__}")
    try:
        return task.params_model.model_validate(dict(params), extra="forbid")
    except ValidationError as exc:
        exc.add_note(
            f"in the params of task {task.name}: fix the workflow's inputParameters or {task.params_model.__name__} "
            f"(it accepts {', '.join(sorted(task.params_model.model_fields)) or 'no keys'})"
        )
        raise


def validate_output(task: TaskDefinition[Any, R], raw_result: object) -> R:
    """Validate what the function returned against the task's output model (``extra="forbid"``).

    A pydantic model instance (of any class) is dumped and validated again, as the seed does; a mapping is
    validated directly.

    Raises:
        pydantic.ValidationError: The value does not satisfy the output model or carries undeclared fields.
    """
    if isinstance(raw_result, BaseModel):
        raw_result = raw_result.model_dump(by_alias=True, warnings=False)
    try:
        return task.output_model.model_validate(raw_result, extra="forbid")
    except ValidationError as exc:
        exc.add_note(f"in the result of task {task.name}: return a valid {task.output_model.__name__}")
        raise


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def run_task_body(
    task: TaskDefinition[Any, Any],
    directory: Path,
    params: object,
    *,
    before: Snapshot | None = None,
    full_rehash: bool = False,
) -> BodyOutcome:
    """Run one workspace task body with its guardrails (DESIGN §1 step 6).

    Args:
        task: A workspace task.
        directory: The attempt directory, already downloaded.
        params: Raw params (a JSON object) or a params model instance.
        before: The before-snapshot: given, the after-snapshot is taken (re-hashing only files whose stamp moved)
            and ``ChangesOnlyUnder`` compares with it; the pre guardrails also use it instead of walking.
        full_rehash: Re-hash every file for the after-snapshot.
    """
    spec = task.workspace
    if spec is None:
        raise TaskInputError(f"task {task.name} is workspace-free; use invoke_workspace_free_task")
    model = validate_params(task, params)
    check_guardrails(directory, spec.pre, "pre", snapshot=before)
    output = validate_output(task, task.fn(directory, model))
    after = None
    if before is not None and not spec.read_only:
        after = snapshot_directory(directory, previous=before, full_rehash=full_rehash or spec.full_rehash)
    check_guardrails(directory, spec.post, "post", before=before, snapshot=after)
    return BodyOutcome(output=output, params=model, after=after)


def invoke_workspace_task_body(
    task: TaskDefinition[Any, Any], input_data: Mapping[str, Any], workspace_dir: Path
) -> dict[str, Any]:
    """Invoke a workspace task body against a prepared local workspace.

    Checks the input wrapper, validates the workspace and params, applies the pre guardrails, calls the task
    function, validates its output and applies the post guardrails. A writable task's directory is hashed first
    so that post guardrails comparing before and after (``ChangesOnlyUnder``) can run.

    Args:
        task: A workspace task definition.
        input_data: The Conductor task input, exactly ``{"workspace", "params"}``.
        workspace_dir: The attempt-local workspace, already populated.

    Returns:
        ``{"result": ...}``: the validated result, as sent to Conductor.

    Raises:
        TaskInputError: The task is workspace-free or the input wrapper is not ``{"workspace", "params"}``.
        PreGuardrailViolation: A pre guardrail failed.
        PostGuardrailViolation: A post guardrail failed.
        pydantic.ValidationError: The workspace, the params or the result do not validate.

    Example:
        >>> output = invoke_workspace_task_body(features_build, {"workspace": {...}, "params": {}}, directory)
        >>> sorted(output)
        ['result']
    """
    if task.workspace is None:
        raise TaskInputError(f"task {task.name} is workspace-free: invoke_workspace_task_body needs a workspace task")
    _, params = parse_workspace_task_input(input_data)
    before = None if task.workspace.read_only else snapshot_directory(workspace_dir)
    return {"result": _dump(run_task_body(task, workspace_dir, params, before=before).output)}


def invoke_workspace_free_task(task: TaskDefinition[Any, Any], input_data: Mapping[str, Any]) -> dict[str, Any]:
    """Invoke a workspace-free task: validate ``{"params"}``, call ``fn(params)``, validate its output.

    Returns:
        ``{"result": ...}``.

    Raises:
        TaskInputError: The task has a workspace, or the input is not exactly ``{"params"}``.
        pydantic.ValidationError: The params or the result do not validate.

    Example:
        >>> invoke_workspace_free_task(metadata_validate, {"params": {"song_id": "song-1", "min_duration_seconds": 30}})
        {'result': {'valid': True, 'reason': None}}
    """
    if task.workspace is not None:
        raise TaskInputError(f"task {task.name} needs a workspace; use run_workspace_task_attempt")
    if not isinstance(input_data, Mapping) or set(input_data) != {"params"}:
        raise TaskInputError(
            f"workspace-free task input must be exactly {{'params'}}, got {_keys(input_data)}; "
            "map only `params` in the workflow's inputParameters"
        )
    raw_result = task.fn(validate_params(task, input_data["params"]))
    return build_workspace_free_task_output(task, raw_result)


def build_workspace_free_task_output(task: TaskDefinition[Any, Any], raw_result: object) -> dict[str, Any]:
    """Validate a workspace-free task's raw result and wrap it: ``{"result": ...}``.

    Raises:
        TaskInputError: The task has a workspace.
        pydantic.ValidationError: ``raw_result`` does not satisfy the output model or has extra fields.

    Example:
        >>> build_workspace_free_task_output(metadata_validate, {"valid": False, "reason": "missing"})
        {'result': {'valid': False, 'reason': 'missing'}}
    """
    if task.workspace is not None:
        raise TaskInputError(f"task {task.name} has a workspace: use build_workspace_task_output")
    return {"result": _dump(validate_output(task, raw_result))}


def output_workspace(workspace_input: WorkspaceInput, published_ref: str) -> WorkspaceInput:
    """The output workspace: the input pinned to ``published_ref``; an unpinned input reported as itself.

    A download callback that records nothing leaves a branch or tag input unpinned; reporting its own ref back is
    then the honest answer (it cannot be called a commit).
    """
    if published_ref == workspace_input.ref and workspace_input.ref_type != "commit":
        return workspace_input
    return workspace_input.published_output(published_ref)


def build_workspace_task_output(
    task: TaskDefinition[Any, Any],
    input_workspace: WorkspaceInput | Mapping[str, Any],
    published_ref: str,
    raw_result: object,
) -> dict[str, Any]:
    """Validate a workspace task's raw result and wrap it with the published workspace.

    Args:
        task: A workspace task definition.
        input_workspace: The attempt's input workspace (repository, target branch, ref type are kept).
        published_ref: The commit publication produced (or the pinned input commit for read-only and no-op runs).
        raw_result: What the task function returned.

    Returns:
        ``{"workspace": {... "ref_type": "commit", "ref": published_ref}, "result": ...}``.

    Raises:
        TaskInputError: The task is workspace-free.
        pydantic.ValidationError: ``input_workspace`` or ``raw_result`` are invalid.
    """
    if task.workspace is None:
        raise TaskInputError(f"task {task.name} is workspace-free: use build_workspace_free_task_output")
    workspace = output_workspace(WorkspaceInput.model_validate(input_workspace), published_ref)
    return {"workspace": workspace.model_dump(mode="json"), "result": _dump(validate_output(task, raw_result))}
