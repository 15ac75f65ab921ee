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
from typing import Any, Generic, Literal, Protocol, overload

from pydantic import BaseModel
from typing_extensions import TypeVar

from perago.concurrency import ConcurrencyKey
from perago.errors import TaskDefinitionError
from perago.spec import WorkspaceSpec

RetryLogic = Literal["FIXED", "EXPONENTIAL_BACKOFF", "LINEAR_BACKOFF"]
# Defaults (PEP 696) let a bare ``TaskDefinition`` annotation mean "any task".
P = TypeVar("P", bound=BaseModel, default=BaseModel)
R = TypeVar("R", bound=BaseModel, default=BaseModel)


@dataclass(frozen=True)
class TaskDefinition(Generic[P, R]):
    """Everything perago and Conductor need to know about one task type (see docs/architecture.md).

    Generic in the params model ``P`` and the result model ``R``, so that what a harness run returns is typed as
    the user's own result model.
    """

    name: str
    fn: Callable[..., R]
    params_model: type[P]
    output_model: type[R]
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
    cache: bool = False
    cache_version: int | str = 1
    concurrency_key: ConcurrencyKey | None = None

    def __post_init__(self) -> None:
        check_conductor_limits(self)

    @property
    def has_workspace(self) -> bool:
        """True for workspace tasks (read-only or writable)."""
        return self.workspace is not None

    def __call__(self, *args: Any, **kwargs: Any) -> R:
        """Call the task function directly (handy in unit tests)."""
        return self.fn(*args, **kwargs)


def check_conductor_limits(definition: TaskDefinition[Any, Any]) -> None:
    """Refuse ``@task`` settings whose TaskDef Conductor would refuse, naming the task, the value and the fix.

    Called when a :class:`TaskDefinition` is made, so the mistake surfaces at import time, not at start-up.

    ``TaskDef.responseTimeoutSeconds`` is ``@Min(1)``; ``TaskTimeoutConstraint`` refuses a response timeout above
    ``timeoutSeconds`` when that is set; ``retryCount`` is ``@Min(0)``.

    Raises:
        TaskDefinitionError: One of those constraints is violated.
    """
    where = f"task {definition.name} ({definition.module or 'unknown module'})"
    if definition.response_timeout_s < 1:
        raise TaskDefinitionError(
            f"{where}: response_timeout_s={definition.response_timeout_s}, but Conductor requires at least 1 second "
            "(TaskDef.responseTimeoutSeconds @Min(1)); set @task(response_timeout_s=...) to how long one attempt "
            "may go without a lease extension"
        )
    if definition.timeout_s > 0 and definition.response_timeout_s > definition.timeout_s:
        raise TaskDefinitionError(
            f"{where}: response_timeout_s={definition.response_timeout_s} is above timeout_s={definition.timeout_s}, "
            "which Conductor refuses (TaskTimeoutConstraint); lower response_timeout_s or raise timeout_s "
            "(0 means no overall timeout)"
        )
    if definition.retry_count < 0 or definition.timeout_s < 0:
        raise TaskDefinitionError(
            f"{where}: retry_count={definition.retry_count} and timeout_s={definition.timeout_s} must not be "
            "negative (TaskDef @Min(0))"
        )


def _model(hint: Any, where: str, what: str) -> type[BaseModel]:
    if not (inspect.isclass(hint) and issubclass(hint, BaseModel)) or hint is BaseModel:
        raise TaskDefinitionError(
            f"{where}: the {what} must be a pydantic BaseModel subclass, got {getattr(hint, '__name__', hint)!r}"
        )
    return hint


def _infer(fn: Callable[..., Any]) -> tuple[bool, type[BaseModel], type[BaseModel]]:
    """Return (has_workspace, params model, output model) from the function's annotations."""
    if not inspect.isfunction(fn) and not inspect.ismethod(fn):
        raise TaskDefinitionError(
            f"@task applies to a function `def f(params: P) -> R` or `def f(workspace_dir: Path, params: P) -> R`, "
            f"got {type(fn).__name__} {fn!r}"
        )
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
    if params[-1] not in hints:
        raise TaskDefinitionError(
            f"{where}: the params argument {params[-1]!r} has no annotation; annotate it with its pydantic model"
        )
    if "return" not in hints:
        raise TaskDefinitionError(f"{where}: the return annotation is missing; annotate `-> YourResultModel`")
    return (
        len(params) == 2,
        _model(hints[params[-1]], where, f"params argument {params[-1]!r}"),
        _model(hints["return"], where, "return annotation"),
    )


class TaskDecorator(Protocol):
    """What ``@task(...)`` with arguments returns: applied to a function, it makes a typed task definition."""

    @overload
    def __call__(self, fn: Callable[[Path, P], R], /) -> TaskDefinition[P, R]: ...
    @overload
    def __call__(self, fn: Callable[[P], R], /) -> TaskDefinition[P, R]: ...


@overload
def task(fn: Callable[[Path, P], R], /) -> TaskDefinition[P, R]: ...
@overload
def task(fn: Callable[[P], R], /) -> TaskDefinition[P, R]: ...
@overload
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
    cache: bool = False,
    cache_version: int | str = 1,
    concurrency_key: str | list[str] | tuple[str, ...] | None = None,
) -> TaskDecorator: ...
def task(name: Any = None, **options: Any) -> Any:
    """Declare a task from a typed function; returns its :class:`TaskDefinition`.

    Works bare (``@task``) and with arguments (``@task()``, ``@task(name="x", retry_count=0)``). Keyword
    arguments: ``workspace`` (a :class:`WorkspaceSpec`; a function taking ``workspace_dir`` gets a writable one by
    default), ``version``, ``description`` (default: the docstring), ``response_timeout_s``, ``timeout_s``,
    ``retry_count``, ``retry_delay_s``, ``retry_logic``, ``concurrency``, ``concurrency_limit``, ``non_retryable``
    (exception types that fail the task terminally), ``cache`` and ``cache_version`` (memoize a workspace task:
    :mod:`perago.memo`), ``concurrency_key`` (``"task"``, ``"arguments"`` or a list of ``"params.<field>"`` and
    ``"workspace.<field>"`` names: at most one running body per key, :mod:`perago.concurrency`).

    Example:
        >>> @task(retry_count=0)
        ... def greet(params: Hello) -> Greeting: ...

    Raises:
        TaskDefinitionError: When it is applied to something that is not a function, when annotations are missing
            or not pydantic models (the missing or wrong annotation is named), or when a workspace spec is given to
            a workspace-free function.
    """
    if callable(name) and not options:
        return _build(name, None, {})
    if name is not None and not isinstance(name, str):
        raise TaskDefinitionError(f"@task(name=...) takes the task name as a string, got {type(name).__name__}")
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise TaskDefinitionError(f"@task got unknown option(s) {', '.join(unknown)}; it accepts {', '.join(_OPTIONS)}")
    return lambda fn: _build(fn, name, options)


_OPTIONS = (
    "workspace",
    "version",
    "description",
    "response_timeout_s",
    "timeout_s",
    "retry_count",
    "retry_delay_s",
    "retry_logic",
    "concurrency",
    "concurrency_limit",
    "non_retryable",
    "cache",
    "cache_version",
    "concurrency_key",
)


def _checked_extras(
    fn: Callable[..., Any], has_workspace: bool, params_model: type[BaseModel], options: dict[str, Any]
) -> None:
    """Validate the memoization and concurrency options in place (``concurrency_key`` becomes a ConcurrencyKey)."""
    where = f"task {fn.__qualname__}"
    cache = options.get("cache", False)
    if not isinstance(cache, bool):
        raise TaskDefinitionError(f"{where}: cache must be True or False, got {cache!r}")
    if cache and not has_workspace:
        raise TaskDefinitionError(
            f"{where}: cache=True memoizes workspace tasks only (the memo is keyed by the input commit and kept in "
            "lakeFS next to it); give the function a workspace_dir, or drop cache=True"
        )
    if "cache_version" in options:
        version = options["cache_version"]
        if not cache:
            raise TaskDefinitionError(f"{where}: cache_version has no effect without cache=True")
        if isinstance(version, bool) or not isinstance(version, int | str) or version == "":
            raise TaskDefinitionError(f"{where}: cache_version must be an int or a non-empty string, got {version!r}")
    if options.get("concurrency_key") is not None:
        options["concurrency_key"] = ConcurrencyKey.parse(
            options["concurrency_key"],
            where=where,
            params_fields=list(params_model.model_fields),
            has_workspace=has_workspace,
        )


def _build(fn: Callable[..., Any], name: str | None, options: dict[str, Any]) -> TaskDefinition[Any, Any]:
    has_workspace, params_model, output_model = _infer(fn)
    workspace = options.pop("workspace", None)
    if workspace is not None and not has_workspace:
        raise TaskDefinitionError(
            f"task {fn.__qualname__}: a WorkspaceSpec was given but the function takes no workspace_dir"
        )
    description = options.pop("description", None)
    _checked_extras(fn, has_workspace, params_model, options)
    return TaskDefinition(
        name=name or fn.__name__,
        fn=fn,
        params_model=params_model,
        output_model=output_model,
        workspace=(workspace or WorkspaceSpec()) if has_workspace else None,
        description=description if description is not None else inspect.cleandoc(fn.__doc__ or ""),
        non_retryable=tuple(options.pop("non_retryable", ())),
        module=fn.__module__,
        **options,
    )


def _import(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise TaskDefinitionError(f"cannot import {module_name!r}: {exc}; check the module path") from exc


def module_tasks(module: ModuleType) -> list[TaskDefinition[Any, Any]]:
    """The task definitions defined at the top level of ``module`` (not those it imports from elsewhere)."""
    return [
        value
        for value in vars(module).values()
        if isinstance(value, TaskDefinition) and value.module == module.__name__
    ]


def load_module_task(module_name: str) -> TaskDefinition[Any, Any]:
    """Import ``module_name`` and return its single task.

    Raises:
        TaskDefinitionError: The module cannot be imported, or defines no task or several (all named).
    """
    found = module_tasks(_import(module_name))
    if len(found) != 1:
        names = ", ".join(sorted(t.name for t in found)) or "none"
        raise TaskDefinitionError(f"module {module_name!r} must define exactly one task, found {len(found)}: {names}")
    return found[0]


def discover_tasks(name: str) -> list[TaskDefinition[Any, Any]]:
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


def merge_task_lists(groups: list[list[TaskDefinition[Any, Any]]]) -> list[TaskDefinition[Any, Any]]:
    """Combine the tasks of several modules, refusing duplicate names (both modules named)."""
    seen: dict[str, TaskDefinition[Any, Any]] = {}
    for definition in (d for group in groups for d in group):
        if definition.name in seen and seen[definition.name] is not definition:
            raise TaskDefinitionError(
                f"duplicate task name {definition.name!r}: defined in {seen[definition.name].module} "
                f"and in {definition.module}"
            )
        seen[definition.name] = definition
    return [seen[key] for key in sorted(seen)]
