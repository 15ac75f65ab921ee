"""Attempt directories, owner markers, the owner registry, and workspace GC (the seed's function shapes)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from perago import (
    ATTEMPT_WORKSPACE_MARKER,
    cleanup_attempt_workspace_safely,
    gc_attempt_workspaces,
    new_workspace_owner,
    prepare_attempt_workspace,
    register_active_workspace_owner,
    unregister_active_workspace_owner,
    workspace,
)
from perago.errors import WorkspaceError
from perago.workspace import TMP_PREFIX, WorkspaceOwner, active_workspace_owners, pid_alive, read_marker


def execution(execution_id: str, task_id: str = "t-1", task_name: str = "build") -> SimpleNamespace:
    return SimpleNamespace(execution_id=execution_id, task_id=task_id, task_name=task_name)


def test_prepare_writes_the_owner_marker(tmp_path: Path) -> None:
    owner = new_workspace_owner("w-1")
    directory = prepare_attempt_workspace(tmp_path / "root", execution("exec-1"), owner)
    assert directory == tmp_path / "root" / "exec-1"
    marker = json.loads((directory / ATTEMPT_WORKSPACE_MARKER).read_text())
    assert marker["worker_id"] == "w-1" and marker["pid"] == os.getpid() and marker["host"] == socket.gethostname()
    assert marker["task"] == "build" and marker["task_id"] == "t-1" and marker["execution_id"] == "exec-1"
    assert isinstance(marker["start_time"], float) and marker["owner_id"] == owner.owner_id
    found = read_marker(directory)
    assert found is not None and found.owner == owner and found.execution_id == "exec-1"
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == ["exec-1"], "no temporary directory is left"


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "x" * 300])
def test_unsafe_execution_ids_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(WorkspaceError, match="not a safe directory name"):
        prepare_attempt_workspace(tmp_path, execution(bad), new_workspace_owner("w"))


def test_cleanup_removes_only_marked_directories(tmp_path: Path) -> None:
    marked = prepare_attempt_workspace(tmp_path, execution("e1"), new_workspace_owner("w"))
    (marked / "data").write_text("x")
    unmarked = tmp_path / "user-dir"
    unmarked.mkdir()
    (unmarked / "precious").write_text("keep")
    assert cleanup_attempt_workspace_safely(marked, execution("e1")) and not marked.exists()
    assert not cleanup_attempt_workspace_safely(unmarked) and (unmarked / "precious").exists()
    assert cleanup_attempt_workspace_safely(tmp_path / "absent")


def test_registry(tmp_path: Path) -> None:
    owner = new_workspace_owner("w")
    register_active_workspace_owner(owner)
    assert owner in active_workspace_owners()
    unregister_active_workspace_owner(owner)
    unregister_active_workspace_owner(owner)
    assert owner not in active_workspace_owners()


def make(root: Path, execution_id: str, **changes: object) -> Path:
    owner = replace(new_workspace_owner("w"), **changes)  # type: ignore[arg-type]
    return prepare_attempt_workspace(root, execution(execution_id), owner)


def test_gc_removes_dead_and_expired_keeps_live_and_unmarked(tmp_path: Path) -> None:
    dead = make(tmp_path, "dead", pid=999_999)
    expired = make(tmp_path, "expired", host="other-host", start_time=1_000.0)
    recent_remote = make(tmp_path, "remote", host="other-host", start_time=9_990.0)
    live = make(tmp_path, "live", pid=os.getppid())
    active = make(tmp_path, "active")
    active_owner = read_marker(active).owner  # type: ignore[union-attr]
    register_active_workspace_owner(active_owner)
    leftover_of_this_process = make(tmp_path, "leftover")
    unmarked = tmp_path / "unmarked"
    unmarked.mkdir()
    try:
        removed = gc_attempt_workspaces(tmp_path, ttl_s=3600, now=10_000.0, is_alive=lambda pid: pid != 999_999)
    finally:
        unregister_active_workspace_owner(active_owner)
    assert sorted(p.name for p in removed) == ["dead", "expired", "leftover"]
    assert not dead.exists() and not expired.exists() and not leftover_of_this_process.exists()
    assert recent_remote.exists() and live.exists() and active.exists() and unmarked.exists()


def test_a_kill_between_mkdir_and_marker_leaves_nothing_gc_would_not_collect(tmp_path: Path) -> None:
    """Issue 12, acceptance 2: the directory appears with its marker; a kill in between leaves only a temporary
    directory named after its process, which GC collects once that process is gone."""
    script = (
        "import os, sys, pathlib\n"
        "from types import SimpleNamespace\n"
        "from perago import workspace\n"
        "real = pathlib.Path.write_text\n"
        "def killed(self, *a, **k):\n"
        "    if self.name == workspace.ATTEMPT_WORKSPACE_MARKER:\n"
        "        os._exit(9)  # SIGKILL-like: no cleanup, no finally\n"
        "    return real(self, *a, **k)\n"
        "pathlib.Path.write_text = killed\n"
        "ex = SimpleNamespace(execution_id='exec-k', task_id='t', task_name='x')\n"
        "workspace.prepare_attempt_workspace(pathlib.Path(sys.argv[1]), ex, workspace.new_workspace_owner('w'))\n"
    )
    child = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False)
    assert child.returncode == 9
    leftovers = list(tmp_path.iterdir())
    assert [p.name.startswith(TMP_PREFIX) for p in leftovers] == [True], "only a temporary directory is left"
    assert not (tmp_path / "exec-k").exists(), "no unowned attempt directory can appear"
    assert gc_attempt_workspaces(tmp_path, ttl_s=3600) == leftovers
    assert list(tmp_path.iterdir()) == []


def test_gc_keeps_a_temporary_directory_of_a_live_process(tmp_path: Path) -> None:
    live = tmp_path / f"{TMP_PREFIX}.{os.getppid()}.abc.{socket.gethostname()}"
    live.mkdir()
    remote = tmp_path / f"{TMP_PREFIX}.1.abc.other-host"
    remote.mkdir()
    assert gc_attempt_workspaces(tmp_path, ttl_s=3600) == []
    assert live.exists() and remote.exists()
    assert gc_attempt_workspaces(tmp_path, ttl_s=3600, now=remote.stat().st_mtime + 3601) == [remote]


def test_gc_of_a_missing_root(tmp_path: Path) -> None:
    assert gc_attempt_workspaces(tmp_path / "none", ttl_s=1) == []


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)


def test_pid_of_another_user_counts_as_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(pid: int, signal: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(workspace.os, "kill", refused)
    assert workspace.pid_alive(12345)


def test_gc_keeps_a_dead_looking_directory_it_cannot_identify(tmp_path: Path) -> None:
    directory = make(tmp_path, "garbled")
    (directory / ATTEMPT_WORKSPACE_MARKER).write_text("{not json")
    assert gc_attempt_workspaces(tmp_path, ttl_s=0, now=1e12, is_alive=lambda pid: False) == []
    assert directory.exists()


def test_cleanup_logs_instead_of_raising(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = make(tmp_path, "stuck")

    def failing(path: Path) -> None:
        raise OSError(16, "Device or resource busy")

    monkeypatch.setattr(workspace.shutil, "rmtree", failing)
    assert cleanup_attempt_workspace_safely(directory) is False
    # The attempt directory is gone from its name; what could not be deleted waits under a temporary name of this
    # process, which GC collects once the process is gone.
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(f"{TMP_PREFIX}.{os.getpid()}.") and (left / ATTEMPT_WORKSPACE_MARKER).exists()
    monkeypatch.undo()
    assert gc_attempt_workspaces(tmp_path, ttl_s=3600) == [], "not while this process lives"
    assert gc_attempt_workspaces(tmp_path, ttl_s=3600, is_alive=lambda pid: False) == []  # own pid: never


def test_a_kill_while_deleting_leaves_nothing_gc_would_not_collect(tmp_path: Path) -> None:
    """Deleting in place could remove the marker before the files (the soak found such orphans): the directory is
    renamed to a temporary name first, so a kill mid-delete leaves a directory GC collects."""
    script = (
        "import os, sys, pathlib, shutil\n"
        "from types import SimpleNamespace\n"
        "from perago import workspace\n"
        "root = pathlib.Path(sys.argv[1])\n"
        "ex = SimpleNamespace(execution_id='exec-d', task_id='t', task_name='x')\n"
        "d = workspace.prepare_attempt_workspace(root, ex, workspace.new_workspace_owner('w'))\n"
        "(d / 'data').mkdir()\n"
        "for i in range(50): (d / 'data' / f'{i}.csv').write_text('x')\n"
        "def killed(path, *a, **k):\n"
        "    os.remove(pathlib.Path(path) / workspace.ATTEMPT_WORKSPACE_MARKER)  # rmtree may take it first\n"
        "    os._exit(9)  # SIGKILL-like, in the middle of the delete\n"
        "shutil.rmtree = killed\n"
        "workspace.cleanup_attempt_workspace_safely(d)\n"
    )
    child = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False)
    assert child.returncode == 9
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(TMP_PREFIX), "the attempt directory never lost its marker under its own name"
    assert gc_attempt_workspaces(tmp_path, ttl_s=3600) == [left]
    assert list(tmp_path.iterdir()) == []


def test_owner_record_is_what_the_seed_builds() -> None:
    owner = new_workspace_owner("w-9")
    assert isinstance(owner, WorkspaceOwner) and owner.worker_id == "w-9" and owner.pid == os.getpid()
    assert owner.owner_id != new_workspace_owner("w-9").owner_id
