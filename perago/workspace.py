"""Attempt-local workspace directories: one per execution id, each with an owner marker file.

Layout: ``<root>/<execution_id>/`` holds the workspace files and, at its root, the marker
``ATTEMPT_WORKSPACE_MARKER`` (JSON: worker id, pid, host, start time, task, task id, execution id). The marker
is what makes a directory perago's: cleanup and GC never delete a directory without one.

The registry of active owners is per process by nature (it answers "which directories does this process own
right now?"), so it is module state guarded by a lock; GC consults it so that a directory of a running attempt
is never collected.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from loguru import logger

from perago.errors import WorkspaceError
from perago.snapshot import ATTEMPT_WORKSPACE_MARKER

__all__ = [
    "ATTEMPT_WORKSPACE_MARKER",
    "WorkspaceOwner",
    "cleanup_attempt_workspace_safely",
    "gc_attempt_workspaces",
    "new_workspace_owner",
    "prepare_attempt_workspace",
    "register_active_workspace_owner",
    "unregister_active_workspace_owner",
]

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_ACTIVE: dict[str, WorkspaceOwner] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class WorkspaceOwner:
    """Who owns an attempt directory (written into its marker)."""

    worker_id: str
    pid: int
    host: str
    start_time: float
    task: str
    task_id: str
    execution_id: str


def new_workspace_owner(worker_id: str, task: str, task_id: str, execution_id: str) -> WorkspaceOwner:
    """An owner record for this process, started now."""
    return WorkspaceOwner(worker_id, os.getpid(), socket.gethostname(), time.time(), task, task_id, execution_id)


def register_active_workspace_owner(owner: WorkspaceOwner) -> None:
    """Record that this process is running the attempt ``owner.execution_id``."""
    with _LOCK:
        _ACTIVE[owner.execution_id] = owner


def unregister_active_workspace_owner(owner: WorkspaceOwner) -> None:
    """Forget an attempt of this process (idempotent)."""
    with _LOCK:
        _ACTIVE.pop(owner.execution_id, None)


def active_workspace_owners() -> list[WorkspaceOwner]:
    """The attempts this process is running now."""
    with _LOCK:
        return list(_ACTIVE.values())


def prepare_attempt_workspace(root: Path, owner: WorkspaceOwner) -> Path:
    """Create ``<root>/<execution_id>/`` with its owner marker and return it.

    Raises:
        WorkspaceError: The execution id is not a safe directory name, or the directory already exists.
    """
    if not _SAFE_ID.match(owner.execution_id):
        raise WorkspaceError(
            f"execution id {owner.execution_id!r} is not a safe directory name (letters, digits, '.', '_', '-')"
        )
    directory = root / owner.execution_id
    root.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError as exc:
        raise WorkspaceError(f"attempt directory {directory} already exists; refusing to reuse it") from exc
    (directory / ATTEMPT_WORKSPACE_MARKER).write_text(json.dumps(asdict(owner), sort_keys=True))
    return directory


def read_marker(directory: Path) -> WorkspaceOwner | None:
    """The owner recorded in ``directory``'s marker, or None when there is no readable marker."""
    try:
        data = json.loads((directory / ATTEMPT_WORKSPACE_MARKER).read_text())
        return WorkspaceOwner(**data)
    except (OSError, ValueError, TypeError):
        return None


def cleanup_attempt_workspace_safely(directory: Path) -> bool:
    """Remove an attempt directory if it carries a marker; log instead of raising.

    Returns:
        True when the directory is gone (removed now or already absent).
    """
    try:
        if not directory.exists():
            return True
        if not (directory / ATTEMPT_WORKSPACE_MARKER).is_file():
            logger.warning("not removing {}: it has no perago attempt marker", directory)
            return False
        shutil.rmtree(directory)
        return True
    except Exception as exc:
        logger.error("could not remove attempt directory {}: {}", directory, exc)
        return False


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _collectable(owner: WorkspaceOwner, now: float, ttl_s: float, is_alive: Callable[[int], bool]) -> str | None:
    with _LOCK:
        if owner.execution_id in _ACTIVE:
            return None
    same_host = owner.host == socket.gethostname()
    if same_host and owner.pid == os.getpid():
        return "owned by this process but no longer active"
    if same_host and is_alive(owner.pid):
        return None
    if same_host:
        return f"owner pid {owner.pid} is gone"
    if now - owner.start_time > ttl_s:
        return f"older than {ttl_s:.0f} s"
    return None


def gc_attempt_workspaces(
    root: Path, *, ttl_s: float, now: float | None = None, is_alive: Callable[[int], bool] = pid_alive
) -> list[Path]:
    """Remove abandoned attempt directories under ``root``.

    A directory is removed when its marker names a process on this host that is gone (or this process, which no
    longer runs it), or an owner on another host whose attempt started more than ``ttl_s`` ago. A directory
    without a marker, or owned by a live process on this host, is never touched.

    Returns:
        The directories removed.
    """
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    moment = time.time() if now is None else now
    for directory in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        owner = read_marker(directory)
        why = None if owner is None else _collectable(owner, moment, ttl_s, is_alive)
        if why and cleanup_attempt_workspace_safely(directory):
            logger.info("workspace GC removed {} ({})", directory, why)
            removed.append(directory)
    return removed
