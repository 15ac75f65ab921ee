"""Invoking a task body: params model -> pre guardrails -> fn -> output model -> post guardrails.

Params and outputs are checked strictly: keys the model does not declare are refused even when the user's
model would ignore them (DESIGN §1: ``extra=forbid``), so a typo in a workflow's input mapping fails loudly
instead of being dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, AliasPath, BaseModel, ValidationError

from perago.errors import TaskInputError, TaskOutputError
from perago.guards import check_guardrails
from perago.models import WorkspaceInput
from perago.snapshot import Entry, Snapshot, snapshot_directory
from perago.task import TaskDefinition


@dataclass(frozen=True)
class BodyOutcome:
    """What the body produced: validated output and params and, for writable tasks, the after-snapshot."""

    output: BaseModel
    params: BaseModel
    after: dict[str, Entry] | None = None


def _alias_keys(alias: str | AliasPath | AliasChoices | None) -> set[str]:
    """Top-level input keys an alias accepts (an ``AliasPath`` names its first key)."""
    if isinstance(alias, str):
        return {alias}
    if isinstance(alias, AliasPath):
        first = alias.path[0] if alias.path else None
        return {first} if isinstance(first, str) else set()
    if isinstance(alias, AliasChoices):
        return set().union(*(_alias_keys(choice) for choice in alias.choices))
    return set()


def _known_keys(model: type[BaseModel]) -> set[str]:
    keys = set()
    for name, info in model.model_fields.items():
        keys |= {name} | _alias_keys(info.alias) | _alias_keys(info.validation_alias)
    return keys


def validate_params(task: TaskDefinition, params: Any) -> BaseModel:
    """Validate raw params against the task's params model, refusing undeclared keys.

    Raises:
        TaskInputError: Params are not an object, or carry keys the model does not declare.
        pydantic.ValidationError: The params do not validate.
    """
    if isinstance(params, BaseModel):
        params = params.model_dump(mode="json", by_alias=True)
    if not isinstance(params, Mapping):
        raise TaskInputError(f"task {task.name}: 'params' must be a JSON object, got {type(params).__name__}")
    unknown = sorted(set(params) - _known_keys(task.params_model))
    if unknown:
        raise TaskInputError(
            f"task {task.name}: unknown params key(s) {', '.join(map(repr, unknown))}; "
            f"{task.params_model.__name__} accepts {', '.join(sorted(task.params_model.model_fields)) or 'none'}"
        )
    return task.params_model.model_validate(dict(params))


def validate_output(task: TaskDefinition, value: Any) -> BaseModel:
    """Validate what the function returned against the task's output model.

    Raises:
        TaskOutputError: The value is not the output model (or a dict that validates as it).
    """
    model = task.output_model
    if isinstance(value, BaseModel) and not isinstance(value, model):
        raise TaskOutputError(f"task {task.name} returned {type(value).__name__}, expected {model.__name__}")
    data = value.model_dump(by_alias=True, warnings=False) if isinstance(value, BaseModel) else value
    if not isinstance(data, Mapping):
        raise TaskOutputError(f"task {task.name} returned {type(value).__name__}, expected {model.__name__}")
    unknown = sorted(set(data) - _known_keys(model))
    try:
        if unknown:
            raise TaskOutputError(f"task {task.name} returned unknown output key(s) {', '.join(unknown)}")
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise TaskOutputError(f"task {task.name} returned an invalid {model.__name__}: {exc}") from exc


def invoke_workspace_task_body(
    task: TaskDefinition,
    directory: Path,
    params: Any,
    *,
    before: Snapshot | None = None,
    full_rehash: bool = False,
) -> BodyOutcome:
    """Run one workspace task body with its guardrails (DESIGN §1 step 6).

    Args:
        task: A workspace task.
        directory: The attempt directory, already downloaded.
        params: Raw params (a JSON object) or a params model instance.
        before: The before-snapshot (required for writable tasks; optional for read-only ones, where it only
            saves the pre guardrails a walk of the directory).
        full_rehash: Re-hash every file for the after-snapshot.

    Returns:
        The validated output and, for writable tasks, the after-snapshot (used for the diff).
    """
    spec = task.workspace
    if spec is None:
        raise TaskInputError(f"task {task.name} is workspace-free; use invoke_workspace_free_task")
    if not spec.read_only and before is None:
        raise TaskInputError(f"task {task.name} is writable: its body needs the before-snapshot")
    model = validate_params(task, params)
    check_guardrails(directory, spec.pre, "pre", snapshot=before)
    output = validate_output(task, task.fn(directory, model))
    after = None
    if not spec.read_only:
        after = snapshot_directory(directory, previous=before, full_rehash=full_rehash or spec.full_rehash)
    check_guardrails(directory, spec.post, "post", before=before, snapshot=after)
    return BodyOutcome(output=output, params=model, after=after)


def invoke_workspace_free_task(task: TaskDefinition, params: Any) -> BaseModel:
    """Validate params, call ``fn(params)`` and validate its output."""
    if task.workspace is not None:
        raise TaskInputError(f"task {task.name} needs a workspace; use run_workspace_task_attempt")
    return validate_output(task, task.fn(validate_params(task, params)))


def build_workspace_task_output(workspace: WorkspaceInput, output: BaseModel) -> dict[str, Any]:
    """``{"workspace": {... ref_type "commit"}, "result": {...}}`` (DESIGN wire shape)."""
    return {
        "workspace": workspace.model_dump(mode="json"),
        "result": output.model_dump(mode="json", by_alias=True),
    }


def build_workspace_free_task_output(output: BaseModel) -> dict[str, Any]:
    """``{"result": {...}}`` (DESIGN wire shape)."""
    return {"result": output.model_dump(mode="json", by_alias=True)}
