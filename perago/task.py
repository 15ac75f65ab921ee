"""Task definitions: the ``@task`` decorator, ``load_module_task`` and package discovery.

A task is a typed function. Workspace tasks take ``(workspace_dir: Path, params: P) -> R``; workspace-free tasks
take ``(params: P) -> R``; ``P`` and ``R`` are pydantic models inferred from the annotations. Whether a task has a
workspace follows from its signature, and a workspace task without an explicit ``WorkspaceSpec`` gets a writable
one with no guardrails.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from perago.errors import TaskDefinitionError
from perago.spec import WorkspaceSpec

RetryLogic = Literal["FIXED", "EXPONENTIAL_BACKOFF", "LINEAR_BACKOFF"]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class TaskDefinition:
    """Everything perago and Conductor need to know about one task type (see docs/architecture.md)."""

    name: str
    fn: Callable[..., BaseModel]
    params_model: type[BaseModel]
    output_model: type[BaseModel]
    workspace: WorkspaceSpec | None = None
    version: int = 1
    description: str = ""
    response_timeout_s: int = 300
    timeout_s: int = 0
    retry_count: int = 3
    retry_delay_s: int = 10
    retry_logic: RetryLogic = "FIXED"
    concurrency: int = 1
    concurrency_limit: int | None = None
    non_retryable: tuple[type[BaseException], ...] = field(default=())
    module: str = ""

    @property
    def has_workspace(self) -> bool:
        """True for workspace tasks (read-only or writable)."""
        return self.workspace is not None

    def __call__(self, *args: Any, **kwargs: Any) -> BaseModel:
        """Call the task function directly (handy in unit tests)."""
        return self.fn(*args, **kwargs)


def _model(hint: Any, where: str, what: str) -> type[BaseModel]:
    if not (inspect.isclass(hint) and issubclass(hint, BaseModel)):
        raise TaskDefinitionError(f"{where}: the {what} must be annotated with a pydantic BaseModel, got {hint!r}")
    return hint


def _infer(fn: Callable[..., Any]) -> tuple[bool, type[BaseModel], type[BaseModel]]:
    """Return (has_workspace, params model, output model) from the function's annotations."""
    where = f"task {fn.__module__}.{fn.__qualname__}"
    try:
        hints = typing.get_type_hints(fn)
    except Exception as exc:
        raise TaskDefinitionError(f"{where}: cannot resolve its annotations ({exc})") from exc
    params = list(inspect.signature(fn).parameters)
    if len(params) not in (1, 2):
        raise TaskDefinitionError(
            f"{where}: expected fn(params) or fn(workspace_dir: Path, params), got {len(params)} parameters"
        )
    if len(params) == 2 and hints.get(params[0]) is not Path:
        raise TaskDefinitionError(f"{where}: the first parameter {params[0]!r} must be annotated `Path`")
    if params[-1] not in hints or "return" not in hints:
        raise TaskDefinitionError(f"{where}: annotate the params argument and the return type with pydantic models")
    return (
        len(params) == 2,
        _model(hints[params[-1]], where, "params argument"),
        _model(hints["return"], where, "return type"),
    )


def task(
    name: str | None = None,
    *,
    workspace: WorkspaceSpec | None = None,
    version: int = 1,
    description: str | None = None,
    response_timeout_s: int = 300,
    timeout_s: int = 0,
    retry_count: int = 3,
    retry_delay_s: int = 10,
    retry_logic: RetryLogic = "FIXED",
    concurrency: int = 1,
    concurrency_limit: int | None = None,
    non_retryable: tuple[type[BaseException], ...] = (),
) -> Callable[[Callable[..., Any]], TaskDefinition]:
    """Declare a task from a typed function; returns its :class:`TaskDefinition`.

    Example:
        >>> @task(retry_count=0)
        ... def greet(params: Hello) -> Greeting: ...

    Raises:
        TaskDefinitionError: When annotations are missing or not pydantic models, or a workspace spec is given
            to a workspace-free function.
    """

    def build(fn: Callable[..., Any]) -> TaskDefinition:
        has_workspace, params_model, output_model = _infer(fn)
        if workspace is not None and not has_workspace:
            raise TaskDefinitionError(
                f"task {fn.__qualname__}: a WorkspaceSpec was given but the function takes no workspace_dir"
            )
        return TaskDefinition(
            name=name or fn.__name__,
            fn=fn,
            params_model=params_model,
            output_model=output_model,
            workspace=(workspace or WorkspaceSpec()) if has_workspace else None,
            version=version,
            description=description if description is not None else inspect.cleandoc(fn.__doc__ or ""),
            response_timeout_s=response_timeout_s,
            timeout_s=timeout_s,
            retry_count=retry_count,
            retry_delay_s=retry_delay_s,
            retry_logic=retry_logic,
            concurrency=concurrency,
            concurrency_limit=concurrency_limit,
            non_retryable=tuple(non_retryable),
            module=fn.__module__,
        )

    return build


def _import(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise TaskDefinitionError(f"cannot import {module_name!r}: {exc}; check the module path") from exc


def module_tasks(module: ModuleType) -> list[TaskDefinition]:
    """The task definitions defined at the top level of ``module`` (not those it imports from elsewhere)."""
    return [
        value
        for value in vars(module).values()
        if isinstance(value, TaskDefinition) and value.module == module.__name__
    ]


def load_module_task(module_name: str) -> TaskDefinition:
    """Import ``module_name`` and return its single task.

    Raises:
        TaskDefinitionError: The module cannot be imported, or defines no task or several (all named).
    """
    found = module_tasks(_import(module_name))
    if len(found) != 1:
        names = ", ".join(sorted(t.name for t in found)) or "none"
        raise TaskDefinitionError(f"module {module_name!r} must define exactly one task, found {len(found)}: {names}")
    return found[0]


def discover_tasks(name: str) -> list[TaskDefinition]:
    """Every task of a module, or of a package and all its submodules, sorted by name.

    Raises:
        TaskDefinitionError: Import failure, or two tasks with the same name (both modules named).
    """
    root = _import(name)
    modules = [root]
    if hasattr(root, "__path__"):
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{name}."):
            modules.append(_import(info.name))
    return merge_task_lists([module_tasks(module) for module in modules])


def merge_task_lists(groups: list[list[TaskDefinition]]) -> list[TaskDefinition]:
    """Combine the tasks of several modules, refusing duplicate names (both modules named)."""
    seen: dict[str, TaskDefinition] = {}
    for definition in (d for group in groups for d in group):
        if definition.name in seen and seen[definition.name] is not definition:
            raise TaskDefinitionError(
                f"duplicate task name {definition.name!r}: defined in {seen[definition.name].module} "
                f"and in {definition.module}"
            )
        seen[definition.name] = definition
    return [seen[key] for key in sorted(seen)]
