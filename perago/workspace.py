"""Attempt-local workspace directories: one per execution id, each with an owner marker file.

Layout: ``<root>/<execution_id>/`` holds the workspace files and, at its root, the marker
``ATTEMPT_WORKSPACE_MARKER`` (JSON: the owner — worker id, pid, host, start time, owner id — and the attempt's
execution id, task and task id). The marker is what makes a directory perago's: cleanup and GC never delete a
directory without one.

A directory appears together with its marker: it is created under a temporary name
(``.perago-tmp.<pid>.<random>.<host>``), the marker is written, then it is renamed into place. It disappears the
same way: renamed to a temporary name first, then deleted. A process killed in between leaves only a temporary
directory, which GC removes once its process is gone (or, for another host, after the TTL); no kill can leave an
unowned ``<execution_id>`` directory (deleting a tree in place could remove the marker before the files).

The registry of active owners is per process by nature (it answers "which directories does this process own right
now?"), so it is module state guarded by a lock; GC consults it so that a directory of a running attempt is never
collected.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from loguru import logger

from perago.errors import WorkspaceError
from perago.snapshot import ATTEMPT_WORKSPACE_MARKER

__all__ = [
    "ATTEMPT_WORKSPACE_MARKER",
    "AttemptMarker",
    "WorkspaceOwner",
    "cleanup_attempt_workspace_safely",
    "gc_attempt_workspaces",
    "new_workspace_owner",
    "prepare_attempt_workspace",
    "register_active_workspace_owner",
    "unregister_active_workspace_owner",
]

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
TMP_PREFIX = ".perago-tmp"
_ACTIVE: dict[str, WorkspaceOwner] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class WorkspaceOwner:
    """Who owns an attempt directory: one record per attempt, written into its marker.

    Attributes:
        worker_id: The worker's id (the one Conductor sees).
        pid: The owning process.
        host: The owning host.
        start_time: When the attempt started (epoch seconds).
        owner_id: A random id unique to this owner record (the registry key).
    """

    worker_id: str
    pid: int
    host: str
    start_time: float
    owner_id: str


@dataclass(frozen=True)
class AttemptMarker:
    """What an attempt directory's marker records: its owner and the attempt."""

    owner: WorkspaceOwner
    execution_id: str
    task: str = ""
    task_id: str = ""


def new_workspace_owner(worker_id: str) -> WorkspaceOwner:
    """An owner record for one attempt of this process, started now."""
    return WorkspaceOwner(worker_id, os.getpid(), socket.gethostname(), time.time(), uuid.uuid4().hex)


def register_active_workspace_owner(owner: WorkspaceOwner) -> None:
    """Record that this process is running an attempt owned by ``owner`` (GC never collects its directory)."""
    with _LOCK:
        _ACTIVE[owner.owner_id] = owner


def unregister_active_workspace_owner(owner: WorkspaceOwner) -> None:
    """Forget an attempt of this process (idempotent)."""
    with _LOCK:
        _ACTIVE.pop(owner.owner_id, None)


def active_workspace_owners() -> list[WorkspaceOwner]:
    """The attempts this process is running now."""
    with _LOCK:
        return list(_ACTIVE.values())


def prepare_attempt_workspace(workspace_root: Path, execution: object, owner: WorkspaceOwner) -> Path:
    """Create ``<workspace_root>/<execution.execution_id>/`` with its owner marker and return it.

    Args:
        workspace_root: Where attempt directories live (created if missing).
        execution: The attempt's execution context: anything with an ``execution_id`` (and optionally ``task_id``
            and ``task_name`` for the marker), such as :class:`perago.TaskExecutionContext`.
        owner: The attempt's owner record.

    Raises:
        WorkspaceError: The execution id is not a safe directory name, or its directory already exists.
    """
    execution_id = str(getattr(execution, "execution_id", ""))
    if not _SAFE_ID.match(execution_id):
        raise WorkspaceError(
            f"execution id {execution_id!r} is not a safe directory name (letters, digits, '.', '_', '-')"
        )
    marker = AttemptMarker(
        owner, execution_id, str(getattr(execution, "task_name", "") or ""), str(_task_id(execution))
    )
    directory = workspace_root / execution_id
    workspace_root.mkdir(parents=True, exist_ok=True)
    if directory.exists():
        raise WorkspaceError(f"attempt directory {directory} already exists; refusing to reuse it")
    staging = workspace_root / _temporary_name(owner.pid, owner.host)
    staging.mkdir(mode=0o700)
    try:
        (staging / ATTEMPT_WORKSPACE_MARKER).write_text(json.dumps(_marker_json(marker), sort_keys=True))
        # rename(2) refuses a non-empty target, so a directory that appeared meanwhile is never replaced.
        staging.rename(directory)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise WorkspaceError(f"could not create attempt directory {directory}: {exc}") from exc
    return directory


def _temporary_name(pid: int, host: str) -> str:
    """``.perago-tmp.<pid>.<random>.<host>``: a directory being created or deleted by process ``pid``."""
    return f"{TMP_PREFIX}.{pid}.{uuid.uuid4().hex[:12]}.{host}"


def _task_id(execution: object) -> object:
    try:
        return getattr(execution, "task_id", "") or ""
    except Exception:
        return ""


def _marker_json(marker: AttemptMarker) -> dict[str, object]:
    return {**asdict(marker.owner), "execution_id": marker.execution_id, "task": marker.task, "task_id": marker.task_id}


def read_marker(directory: Path) -> AttemptMarker | None:
    """The marker of ``directory``, or None when there is no readable marker."""
    try:
        data = json.loads((directory / ATTEMPT_WORKSPACE_MARKER).read_text())
        owner = WorkspaceOwner(**{name: data[name] for name in WorkspaceOwner.__dataclass_fields__})
        return AttemptMarker(owner, str(data["execution_id"]), str(data.get("task", "")), str(data.get("task_id", "")))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def cleanup_attempt_workspace_safely(workspace_dir: Path, attempt: object | None = None) -> bool:
    """Remove an attempt directory if it carries a marker; log instead of raising.

    Args:
        workspace_dir: The attempt directory.
        attempt: The attempt it belonged to (only named in log lines).

    Returns:
        True when the directory is gone (removed now or already absent).
    """
    try:
        if not workspace_dir.exists():
            return True
        if not (workspace_dir / ATTEMPT_WORKSPACE_MARKER).is_file():
            logger.warning("not removing {}: it has no perago attempt marker", workspace_dir)
            return False
        doomed = workspace_dir.with_name(_temporary_name(os.getpid(), socket.gethostname()))
        workspace_dir.rename(doomed)  # atomic: the directory and its marker go together
        shutil.rmtree(doomed)
        return True
    except Exception as exc:
        logger.error("could not remove attempt directory {} of task {}: {}", workspace_dir, _task_id(attempt), exc)
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
        if owner.owner_id in _ACTIVE:
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


def _temporary_owner(directory: Path) -> WorkspaceOwner | None:
    """The owner a temporary directory's name records (``.perago-tmp.<pid>.<random>.<host>``)."""
    parts = directory.name.split(".", 4)
    if len(parts) != 5 or f".{parts[1]}" != TMP_PREFIX or not parts[2].isdigit():
        return None
    # A temporary directory lives for milliseconds: its own process is the only one that may still rename it.
    owner = WorkspaceOwner("", int(parts[2]), parts[4], directory.stat().st_mtime, "")
    return None if (owner.pid == os.getpid() and owner.host == socket.gethostname()) else owner


def gc_attempt_workspaces(
    root: Path, *, ttl_s: float, now: float | None = None, is_alive: Callable[[int], bool] = pid_alive
) -> list[Path]:
    """Remove abandoned attempt directories under ``root``.

    A directory is removed when its marker names a process on this host that is gone (or this process, which no
    longer runs it), or an owner on another host whose attempt started more than ``ttl_s`` ago. A temporary
    directory (an attempt directory being created) is removed on the same terms, its owner read from its name. A
    directory without a marker, or owned by a live process on this host, is never touched.

    Returns:
        The directories removed.
    """
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    moment = time.time() if now is None else now
    for directory in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        if directory.name.startswith(TMP_PREFIX):
            owner = _temporary_owner(directory)
            why = None if owner is None else _collectable(owner, moment, ttl_s, is_alive)
            if why:
                shutil.rmtree(directory, ignore_errors=True)
                logger.info("workspace GC removed the unfinished attempt directory {} ({})", directory, why)
                removed.append(directory)
            continue
        marker = read_marker(directory)
        why = None if marker is None else _collectable(marker.owner, moment, ttl_s, is_alive)
        if why and cleanup_attempt_workspace_safely(directory):
            logger.info("workspace GC removed {} ({})", directory, why)
            removed.append(directory)
    return removed
