"""Concurrency control (pynenc's modes, DESIGN §5): which attempts may not run their bodies at the same time.

``@task(concurrency_key=...)`` takes one of

- ``"task"``: at most one running body of this task, whatever its params (pynenc ``TASK``);
- ``"arguments"``: at most one per call — the task name and its canonical params (pynenc ``ARGUMENTS``);
- a list of fields (pynenc ``KEYS``): ``"params.<field>"`` (a top-level field of the params model) and, for
  workspace tasks, ``"workspace.repository"``, ``"workspace.branch"`` (the target branch), ``"workspace.ref_type"``,
  ``"workspace.ref"``: at most one running body per combination of their values.

The task version is not part of the key: during a rollout the old and the new version guard the same resource.
A key becomes a :class:`LockKey` (the SHA-256 of its canonical JSON, so any value makes a valid lakeFS path) which
the worker holds across all its processes and hosts (:mod:`perago.lakefs.locks`). An attempt whose key is held is
handed back to Conductor (:class:`AttemptHandedBack`: IN_PROGRESS with ``callbackAfterSeconds``), which costs no
retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from perago.callid import canonical_json
from perago.errors import PeragoError, TaskDefinitionError
from perago.result import RuntimeTaskResult, truncate

ConcurrencyMode = Literal["task", "arguments", "keys"]
WORKSPACE_FIELDS = ("repository", "branch", "ref_type", "ref")
DESCRIPTION_MAX = 200


class AttemptHandedBack(PeragoError):
    """The attempt cannot run now: it is handed back to Conductor (IN_PROGRESS), no retry is spent.

    Attributes:
        after_s: When Conductor should deliver the task again (``callbackAfterSeconds``).
    """

    def __init__(self, message: str, *, after_s: int) -> None:
        super().__init__(message)
        self.after_s = max(0, int(after_s))


def handed_back_result(exc: AttemptHandedBack, max_length: int, logs: tuple[str, ...] = ()) -> RuntimeTaskResult:
    """IN_PROGRESS with ``callbackAfterSeconds``: Conductor delivers the same task id again then, no retry spent."""
    return RuntimeTaskResult(
        status="IN_PROGRESS",
        reason_for_incompletion=truncate(str(exc), max_length),
        logs=logs,
        callback_after_seconds=exc.after_s,
    )


@dataclass(frozen=True)
class LockKey:
    """One key of mutual exclusion.

    Attributes:
        digest: SHA-256 (hex) of the key's canonical JSON: names the lock in lakeFS.
        description: The key for people (task, mode and values), at most 200 characters.
    """

    digest: str
    description: str

    @classmethod
    def of(cls, material: Mapping[str, Any]) -> LockKey:
        """The key of a JSON-compatible mapping (hashed canonically, described compactly)."""
        text = canonical_json(dict(material)).decode()
        described = text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"
        return cls(hashlib.sha256(text.encode()).hexdigest(), described)


def _check_field(name: str, where: str, fields: Sequence[str], has_workspace: bool) -> None:
    scope, _, field = name.partition(".")
    if scope == "params" and field in fields:
        return
    if scope == "workspace" and field in WORKSPACE_FIELDS and has_workspace:
        return
    workspace = f", or workspace.{{{','.join(WORKSPACE_FIELDS)}}}" if has_workspace else ""
    raise TaskDefinitionError(
        f"{where}: concurrency_key field {name!r} is not a key this task has; use params.<field> with one of its "
        f"params model's fields ({', '.join(fields) or 'none'}){workspace}"
    )


@dataclass(frozen=True)
class ConcurrencyKey:
    """A task's concurrency mode and, for ``keys``, the fields that make the key.

    Attributes:
        mode: ``"task"``, ``"arguments"`` or ``"keys"``.
        fields: For ``keys``: ``"params.<field>"`` and ``"workspace.<field>"`` names, in the order given.
    """

    mode: ConcurrencyMode
    fields: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: object, *, where: str, params_fields: Sequence[str], has_workspace: bool) -> ConcurrencyKey:
        """Validate ``@task(concurrency_key=...)``.

        Raises:
            TaskDefinitionError: An unknown mode, an empty list, or a field the task does not have (named).
        """
        if value in ("task", "arguments"):
            return cls(mode=value)
        if isinstance(value, str) or not isinstance(value, Sequence) or not value:
            raise TaskDefinitionError(
                f"{where}: concurrency_key must be 'task', 'arguments' or a non-empty list of fields such as "
                f"['params.song_id', 'workspace.branch'], got {value!r}"
            )
        for name in value:
            _check_field(str(name), where, params_fields, has_workspace)
        return cls(mode="keys", fields=tuple(dict.fromkeys(str(name) for name in value)))

    def lock_key(self, task_name: str, params: Mapping[str, Any], workspace: Mapping[str, Any] | None) -> LockKey:
        """The key of one call: ``params`` as the params model dumps it in JSON mode, ``workspace`` the input."""
        material: dict[str, Any] = {"kind": "concurrency", "mode": self.mode, "task": task_name}
        if self.mode == "arguments":
            material["params"] = dict(params)
        elif self.mode == "keys":
            scopes = {"params": params, "workspace": workspace or {}}
            material["values"] = {
                name: scopes[name.partition(".")[0]].get(name.partition(".")[2]) for name in self.fields
            }
        return LockKey.of(material)


__all__ = ["AttemptHandedBack", "ConcurrencyKey", "ConcurrencyMode", "LockKey", "handed_back_result"]
