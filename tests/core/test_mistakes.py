"""Issue 15, acceptance 4 (the runtime's part): usual mistakes get a message that says what is wrong and what to do.

- a read-only task that writes to its workspace: its writes are discarded, with a warning naming the paths;
- a symlink pointing out of the workspace: the harness's local-directory mode refuses it as lakeFS publication does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from perago import WorkspaceSpec, task
from perago.testing import TaskEnvironment


class Nothing(BaseModel):
    pass


class Done(BaseModel):
    ok: bool = True


@task(workspace=WorkspaceSpec(read_only=True))
def scribbler(workspace_dir: Path, params: Nothing) -> Done:
    (workspace_dir / "notes.txt").write_text("this is dropped")
    (workspace_dir / "data.csv").write_text("changed")
    return Done()


@task(workspace=WorkspaceSpec())
def linker(workspace_dir: Path, params: Nothing) -> Done:
    os.symlink("/etc/passwd", workspace_dir / "passwd")
    return Done()


def test_a_read_only_task_that_writes_gets_a_warning(tmp_path: Path, warnings_logged: list[str]) -> None:
    (tmp_path / "data.csv").write_text("original")
    run = TaskEnvironment(scribbler).run({}, directory=tmp_path).assert_completed()
    (warning,) = warnings_logged
    assert warning.startswith("read-only task scribbler changed 2 path(s) in its workspace (data.csv, notes.txt)")
    assert "they are discarded: declare a writable WorkspaceSpec() to publish them" in warning
    assert any(line.startswith("warning: read-only task changed 2 path(s), discarded") for line in run.logs)
    assert (tmp_path / "data.csv").read_text() == "original" and not (tmp_path / "notes.txt").exists()


def test_a_read_only_task_that_only_reads_gets_no_warning(tmp_path: Path) -> None:
    @task(workspace=WorkspaceSpec(read_only=True))
    def reader(workspace_dir: Path, params: Nothing) -> Done:
        return Done(ok=(workspace_dir / "data.csv").read_text() == "x")

    (tmp_path / "data.csv").write_text("x")
    run = TaskEnvironment(reader).run({}, directory=tmp_path).assert_completed()
    assert run.result is not None and run.result.ok
    assert not any(line.startswith("warning") for line in run.logs)


def test_a_symlink_out_of_the_workspace_is_refused_by_the_local_harness_as_by_lakefs(tmp_path: Path) -> None:
    run: Any = TaskEnvironment(linker).run({}, directory=tmp_path)
    assert run.status == "FAILED_WITH_TERMINAL_ERROR"
    assert run.reason.startswith("UnsafePathError: symlink 'passwd' points outside the workspace ('/etc/passwd')")
    assert "write the file itself into the workspace instead" in run.reason
    assert not (tmp_path / "passwd").exists(), "nothing was published to the directory"
