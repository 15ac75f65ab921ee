r"""Staging branch names: ``perago-stg-<UTC yyyymmddThhmmssZ>-<workflow>-<task>-<execution>``.

lakeFS branch names must match ``^\w[-\w]*$`` (no slashes); each part is sanitised to ``[A-Za-z0-9_-]`` and
shortened so the whole name stays within 200 characters. The timestamp lets the janitor expire abandoned branches
(lakeFS branches carry no creation time).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

PREFIX = "perago-stg-"
_STAMP = "%Y%m%dT%H%M%SZ"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
MAX_LENGTH = 200


def _part(value: str, limit: int) -> str:
    cleaned = _UNSAFE.sub("_", value).strip("-_") or "x"
    return cleaned[:limit]


def staging_branch_name(workflow_id: str, task_name: str, execution_id: str, now: datetime | None = None) -> str:
    """A unique, valid, sortable staging branch name for one attempt."""
    stamp = (now or datetime.now(UTC)).strftime(_STAMP)
    name = f"{PREFIX}{stamp}-{_part(workflow_id, 40)}-{_part(task_name, 40)}-{_part(execution_id, 80)}"
    return name[:MAX_LENGTH]


def staging_branch_time(name: str) -> datetime | None:
    """When a staging branch was created, from its name; None for names perago did not make."""
    if not name.startswith(PREFIX):
        return None
    try:
        return datetime.strptime(name[len(PREFIX) : len(PREFIX) + 16], _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None
