"""Guardrails: declarative checks of a workspace before and after the task body.

Each declarative guardrail is a small pydantic model (a discriminated union on ``kind``) so a spec can be
written in code or loaded from JSON; a guardrail can also be a plain callable ``fn(directory) -> list[str]``
(an empty list means "passed", each string is one failure). :func:`check_guardrails` runs them all and raises
one violation listing every failed check with its offending paths (at most :data:`MAX_LISTED_PATHS` each).

Paths and globs are relative POSIX paths matched as globs
(``*`` and ``?`` stay inside one directory, ``**`` spans any number of directories). Prefixes
(:class:`ChangesOnlyUnder`) are whole path segments: ``clean`` covers ``clean`` and ``clean/...``, never ``cleaned/x``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from perago.errors import GuardrailViolation, PostGuardrailViolation, PreGuardrailViolation, TaskDefinitionError
from perago.snapshot import Snapshot, diff_snapshots, snapshot_directory

MAX_LISTED_PATHS = 10
Phase = Literal["pre", "post"]


class _Guard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequiredPaths(_Guard):
    """Each glob must match at least ``min_count`` files."""

    kind: Literal["required_paths"] = "required_paths"
    paths: list[str] = Field(min_length=1)
    min_count: int = Field(1, ge=1)


class ForbiddenPaths(_Guard):
    """No file may match any of these globs."""

    kind: Literal["forbidden_paths"] = "forbidden_paths"
    paths: list[str] = Field(min_length=1)


class MaxFileSize(_Guard):
    """No file may be larger than ``max_bytes``."""

    kind: Literal["max_file_size"] = "max_file_size"
    max_bytes: int = Field(ge=0)


class MaxTotalSize(_Guard):
    """All files together may not exceed ``max_bytes``."""

    kind: Literal["max_total_size"] = "max_total_size"
    max_bytes: int = Field(ge=0)


class FileCount(_Guard):
    """The number of files (optionally only those matching ``paths``) must lie within the bounds."""

    kind: Literal["file_count"] = "file_count"
    min_count: int = Field(0, ge=0)
    max_count: int | None = Field(None, ge=0)
    paths: list[str] = Field(default_factory=lambda: ["**"])


class ValidJson(_Guard):
    """Every file matching these globs must parse as JSON."""

    kind: Literal["valid_json"] = "valid_json"
    paths: list[str] = Field(min_length=1)


class ChangesOnlyUnder(_Guard):
    """Post phase of a writable task only: every added, changed or removed path must lie under one of ``prefixes``.

    A prefix is a relative directory (or file) path, compared segment by segment: ``"clean"`` and ``"clean/"``
    both cover ``clean/x.csv`` but not ``cleaned/x.csv``.
    """

    kind: Literal["changes_only_under"] = "changes_only_under"
    prefixes: list[str] = Field(min_length=1)

    @field_validator("prefixes")
    @classmethod
    def _relative_paths(cls, prefixes: list[str]) -> list[str]:
        for prefix in prefixes:
            problem = _prefix_problem(prefix)
            if problem:
                raise ValueError(
                    f"prefix {prefix!r} {problem}; write a relative directory such as 'features' "
                    "(it covers features/... and nothing else)"
                )
        return prefixes

    def covers(self, path: str) -> bool:
        """True when the relative POSIX ``path`` lies under one of the prefixes (whole segments)."""
        return any(_under(path, prefix) for prefix in self.prefixes)


POST_ONLY_GUARDRAILS = (ChangesOnlyUnder,)


def _prefix_problem(prefix: str) -> str | None:
    """What is wrong with a guardrail prefix, or None."""
    if not prefix.strip("/"):
        return "covers the whole workspace (drop the guardrail instead)"
    if prefix.startswith("/") or "\\" in prefix:
        return "is not a relative POSIX path"
    if any(segment in (".", "..") for segment in prefix.split("/")):
        return "has a '.' or '..' segment"
    if any(char in prefix for char in "*?["):
        return "is a glob, not a path prefix (globs belong in ForbiddenPaths, RequiredPaths, ...)"
    return None


def _under(path: str, prefix: str) -> bool:
    directory = prefix.rstrip("/")
    return path == directory or path.startswith(directory + "/")


DeclarativeGuardrail = Annotated[
    RequiredPaths | ForbiddenPaths | MaxFileSize | MaxTotalSize | FileCount | ValidJson | ChangesOnlyUnder,
    Field(discriminator="kind"),
]
GuardrailCallable = Callable[[Path], Sequence[str]]
Guardrail = DeclarativeGuardrail | GuardrailCallable


def _segment_re(segment: str) -> str:
    out = []
    for char in segment:
        out.append({"*": "[^/]*", "?": "[^/]"}.get(char) or re.escape(char))
    return "".join(out)


@lru_cache(maxsize=256)
def _glob_re(pattern: str) -> re.Pattern[str]:
    segments = pattern.strip("/").split("/")
    body = ""
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "**":
            body += ".*" if last else "(?:[^/]+/)*"
        else:
            body += _segment_re(segment) + ("" if last else "/")
    return re.compile(f"(?s:{body})\\Z")


def matches(path: str, pattern: str) -> bool:
    """True when the relative POSIX ``path`` matches the glob ``pattern``."""
    return _glob_re(pattern).match(path) is not None


def _listed(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:MAX_LISTED_PATHS])
    more = len(paths) - MAX_LISTED_PATHS
    return shown + (f" (+{more} more)" if more > 0 else "")


def _check_one(guard: DeclarativeGuardrail, snap: Snapshot, root: Path, before: Snapshot | None) -> list[str]:
    files = [p for p, e in snap.items() if e.kind == "file"]
    if isinstance(guard, RequiredPaths):
        return [
            f"required {g!r}: found {n} file(s), need at least {guard.min_count}"
            for g in guard.paths
            if (n := sum(matches(p, g) for p in snap)) < guard.min_count
        ]
    if isinstance(guard, ForbiddenPaths):
        bad = sorted(p for p in snap if any(matches(p, g) for g in guard.paths))
        return [f"forbidden paths present: {_listed(bad)}"] if bad else []
    if isinstance(guard, MaxFileSize):
        big = sorted(p for p in files if snap[p].size > guard.max_bytes)
        return [f"files larger than {guard.max_bytes} bytes: {_listed(big)}"] if big else []
    if isinstance(guard, MaxTotalSize):
        total = sum(snap[p].size for p in files)
        return [f"total size {total} bytes exceeds {guard.max_bytes} bytes"] if total > guard.max_bytes else []
    if isinstance(guard, FileCount):
        return _file_count(guard, files)
    if isinstance(guard, ValidJson):
        return _valid_json(guard, files, root)
    return _changes_only_under(guard, snap, before)


def _file_count(guard: FileCount, files: list[str]) -> list[str]:
    n = sum(any(matches(p, g) for g in guard.paths) for p in files)
    if n < guard.min_count:
        return [f"file count {n} is below the minimum {guard.min_count} ({', '.join(guard.paths)})"]
    if guard.max_count is not None and n > guard.max_count:
        return [f"file count {n} exceeds the maximum {guard.max_count} ({', '.join(guard.paths)})"]
    return []


def _valid_json(guard: ValidJson, files: list[str], root: Path) -> list[str]:
    bad = []
    for path in sorted(p for p in files if any(matches(p, g) for g in guard.paths)):
        try:
            json.loads((root / path).read_bytes())
        except (ValueError, UnicodeDecodeError) as exc:
            bad.append(f"{path} ({str(exc).splitlines()[0][:80]})")
    return [f"invalid JSON: {_listed(bad)}"] if bad else []


def _changes_only_under(guard: ChangesOnlyUnder, snap: Snapshot, before: Snapshot | None) -> list[str]:
    if before is None:
        return ["changes_only_under needs the before-snapshot: use it in the post phase of a writable task"]
    diff = diff_snapshots(before, snap)
    outside = sorted(p for p in diff.added + diff.changed + diff.removed if not guard.covers(p))
    return [f"changes outside {', '.join(guard.prefixes)}: {_listed(outside)}"] if outside else []


def refuse_misplaced_guardrails(pre: Sequence[Guardrail], post: Sequence[Guardrail], read_only: bool) -> None:
    """Refuse, when a spec is built, guardrails that could only fail at run time in the place they were put.

    Args:
        pre: The spec's pre guardrails.
        post: The spec's post guardrails.
        read_only: Whether the spec is read-only (no before-snapshot, nothing published).

    Raises:
        TaskDefinitionError: A post-only guardrail is in ``pre``, or in ``post`` of a read-only spec.
    """
    for index, guard in enumerate(pre):
        if isinstance(guard, POST_ONLY_GUARDRAILS):
            raise TaskDefinitionError(
                f"WorkspaceSpec pre[{index}]: {type(guard).__name__} compares what the task body changed with "
                "what was downloaded, so it can only run after the body; move it to post=[...]"
            )
    for index, guard in enumerate(post):
        if read_only and isinstance(guard, POST_ONLY_GUARDRAILS):
            raise TaskDefinitionError(
                f"WorkspaceSpec post[{index}]: {type(guard).__name__} checks what a writable task publishes, and a "
                "read_only=True task publishes nothing; drop the guardrail or make the workspace writable"
            )


def check_guardrails(
    directory: Path,
    guardrails: Sequence[Guardrail],
    phase: Phase,
    *,
    before: Snapshot | None = None,
    snapshot: Snapshot | None = None,
) -> None:
    """Run every guardrail on ``directory`` and raise one violation listing all failures.

    Args:
        directory: The workspace.
        guardrails: Declarative guardrails and/or callables.
        phase: ``"pre"`` or ``"post"`` (names the violation type).
        before: The before-snapshot, needed by :class:`ChangesOnlyUnder`.
        snapshot: The current snapshot if already known (saves a walk).

    Raises:
        PreGuardrailViolation: In the pre phase, when any check fails.
        PostGuardrailViolation: In the post phase, when any check fails.
    """
    if not guardrails:
        return
    snap = snapshot if snapshot is not None else snapshot_directory(directory, previous=before)
    failures: list[str] = []
    for guard in guardrails:
        if isinstance(guard, BaseModel):
            failures += [f"{guard.kind}: {line}" for line in _check_one(guard, snap, directory, before)]
        else:
            name = getattr(guard, "__name__", type(guard).__name__)
            failures += [f"{name}: {line}" for line in guard(directory)]
    if failures:
        error: type[GuardrailViolation] = PreGuardrailViolation if phase == "pre" else PostGuardrailViolation
        raise error(failures)
