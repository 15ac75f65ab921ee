"""Issue 9, acceptance 3: ``TaskEnvironment`` runs through the public ``run_workspace_task_attempt`` with perago's
lakeFS store, and the store receives the diff without any file being hashed twice: the download hashes while it
streams (the before-snapshot), the after-snapshot reads only what the body touched, and staging takes the diff from
the execution context instead of hashing anything again."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from perago import WorkspaceSpec, execution, runtime, snapshot, task
from perago.testing import LakeFSRepository, TaskEnvironment


class Edit(BaseModel):
    path: str


class Edited(BaseModel):
    ok: bool = True


@task(workspace=WorkspaceSpec())
def edit_one(workspace_dir: Path, params: Edit) -> Edited:
    (workspace_dir / params.path).write_text("edited")
    return Edited()


def test_the_store_gets_the_diff_and_nothing_is_hashed_twice(
    lakefs_repository: LakeFSRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    lakefs_repository.put({f"data/{i:03}.txt": f"row {i}" for i in range(50)})
    hashed: list[str] = []
    real_hash = snapshot.hash_file

    def counting(path: Path) -> tuple[str, int]:
        hashed.append(path.name)
        return real_hash(path)

    entries: list[str] = []
    real_run = runtime.run_workspace_task_attempt
    real_request = execution.staging_request

    def through_the_public_entry(*args: object, **kwargs: object) -> object:
        entries.append("run_workspace_task_attempt")
        return real_run(*args, **kwargs)  # type: ignore[arg-type]

    def staged(*args: object, **kwargs: object) -> object:
        request = real_request(*args, **kwargs)  # type: ignore[arg-type]
        entries.append(f"stage {request.diff.changed}")
        return request

    monkeypatch.setattr(snapshot, "hash_file", counting)
    monkeypatch.setattr("perago.testing.harness.run_workspace_task_attempt", through_the_public_entry)
    monkeypatch.setattr("perago.lakefs.store.staging_request", staged)
    run = TaskEnvironment(edit_one).run(
        {"path": "data/007.txt"}, workspace=lakefs_repository.workspace("main"), repository=lakefs_repository
    )
    run.assert_completed()
    assert entries == ["run_workspace_task_attempt", "stage ('data/007.txt',)"]
    assert hashed == ["007.txt"], "only the file the body touched is read again; 49 others keep their digests"
    assert run.changes is not None and run.changes.changed == ("data/007.txt",)
