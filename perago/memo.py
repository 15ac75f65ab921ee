"""Memoized tasks (DESIGN §5): the cache key of a call and the record of its earlier published result.

``@task(cache=True, cache_version=...)`` memoizes a workspace task. The key is the SHA-256 of the canonical JSON
(:func:`perago.callid.canonical_json`) of

- the task name, its version and its ``cache_version`` (bump it to invalidate without a new task version),
- the params as the params model dumps them in JSON mode (defaults included: the call identity's params),
- the input commit (a branch or tag input is resolved to its head commit first),
- for a writable task, the target branch: its output is a merge on that branch, which another branch does not
  contain.

A hit completes the attempt with the earlier result and output workspace (:class:`MemoRecord`), without
downloading or running the body. Where the record lives is the store's business (:mod:`perago.lakefs.memo`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from perago.callid import call_identity, canonical_json
from perago.concurrency import LockKey
from perago.execution import EarlierResult
from perago.task import TaskDefinition


def memo_key(
    task: TaskDefinition[Any, Any], params: BaseModel | Mapping[str, Any], input_commit: str, branch: str
) -> str:
    """The cache key (hex SHA-256) of ``task`` called with ``params`` on ``input_commit`` (see the module docstring).

    ``branch`` (the target branch) counts only for writable tasks.
    """
    dumped = params.model_dump(mode="json") if isinstance(params, BaseModel) else dict(params)
    writable = task.workspace is not None and not task.workspace.read_only
    material = {
        "branch": branch if writable else None,
        "cache_version": str(task.cache_version),
        "input_commit": input_commit,
        "params": dumped,
        "task": task.name,
        "version": task.version,
    }
    return hashlib.sha256(canonical_json(material)).hexdigest()


def memo_lock_key(key: str) -> LockKey:
    """The lock that lets one of several identical calls compute while the others wait ("cache serialize")."""
    return LockKey.of({"kind": "memo", "key": key})


@dataclass(frozen=True)
class MemoRecord:
    """One memoized call: what its first computation published.

    Attributes:
        key: The cache key.
        output_ref: The commit the call reported as its output workspace (the merge, or the input commit).
        result: The result it reported (JSON).
        input_commit: The commit it read.
        computed_by: ``<workflow id>/<task id>`` of the attempt that computed it.
    """

    key: str
    output_ref: str
    result: Mapping[str, Any]
    input_commit: str
    computed_by: str = ""

    def metadata(self, task: TaskDefinition[Any, Any], params: BaseModel, branch: str) -> dict[str, str]:
        """The record as ``perago.*`` commit metadata (all strings)."""
        return {
            "perago.memo_key": self.key,
            "perago.task": task.name,
            "perago.task_version": str(task.version),
            "perago.cache_version": str(task.cache_version),
            "perago.params_sha256": call_identity(task.name, task.version, params),
            "perago.input_commit": self.input_commit,
            "perago.branch": branch,
            "perago.output_ref": self.output_ref,
            "perago.result": json.dumps(dict(self.result), sort_keys=True, separators=(",", ":")),
            "perago.computed_by": self.computed_by,
        }

    @classmethod
    def from_metadata(cls, key: str, metadata: Mapping[str, str]) -> MemoRecord | None:
        """The record ``metadata`` holds for ``key``; None when it is not a complete record of that key."""
        if metadata.get("perago.memo_key") != key or not metadata.get("perago.output_ref"):
            return None
        try:
            result = json.loads(metadata["perago.result"])
        except (KeyError, ValueError):
            return None
        if not isinstance(result, dict):
            return None
        return cls(
            key=key,
            output_ref=metadata["perago.output_ref"],
            result=result,
            input_commit=metadata.get("perago.input_commit", ""),
            computed_by=metadata.get("perago.computed_by", ""),
        )

    def earlier(self) -> EarlierResult:
        """The record as the runtime's earlier result (the attempt completes with it)."""
        return EarlierResult(ref=self.output_ref, result=self.result, source=f"memo: computed by {self.computed_by}")


__all__ = ["MemoRecord", "memo_key", "memo_lock_key"]
