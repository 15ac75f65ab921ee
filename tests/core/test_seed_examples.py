"""Issue 9, acceptance 6: the seed's docstring examples run as written, against an ``app.workers`` package shaped
as they show (``tests/seed_app/app/workers``).

The seed marks three examples ``+SKIP`` and writes them with placeholders (``{...}`` for a workspace, ``"..."`` for
a commit id, module-level ``lakefs`` / ``conductor`` adapters and an ``attempt`` that it never defines): they cannot
run as written anywhere. They run here with the placeholders filled in (the last three tests), to show that the
call shapes they document work.
"""

from __future__ import annotations

import doctest
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import perago
from perago.testing import LakeFSRepository

SEED_EXAMPLES = """
>>> StagedWorkspace(repository="songs", branch="perago/staging/wf/task", commit="abc123").branch
'perago/staging/wf/task'

>>> task_def = load_module_task("app.workers.metadata_validate")
>>> result = run_workspace_free_task_attempt(
...     task_def,
...     {"params": {"song_id": "song-000123", "min_duration_seconds": 30}},
... )
>>> result.status
'COMPLETED'

>>> task_def = load_module_task("app.workers.metadata_validate")
>>> invoke_workspace_free_task(
...     task_def,
...     {"params": {"song_id": "song-000123", "min_duration_seconds": 30}},
... )
{'result': {'valid': True, 'reason': None}}

>>> task_def = load_module_task("app.workers.metadata_validate")
>>> build_workspace_free_task_output(task_def, {"valid": False, "reason": "missing"})
{'result': {'valid': False, 'reason': 'missing'}}
"""


@pytest.fixture
def app_package() -> Iterator[None]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "seed_app"))
    try:
        yield
    finally:
        sys.path.pop(0)
        for name in [m for m in sys.modules if m == "app" or m.startswith("app.")]:
            del sys.modules[name]


def test_the_seed_examples_run_as_written(app_package: None) -> None:
    globs = {name: getattr(perago, name) for name in perago.__all__}
    test = doctest.DocTestParser().get_doctest(SEED_EXAMPLES, globs, "seed examples", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False) == doctest.TestResults(failed=0, attempted=8)


def test_the_skipped_invoke_workspace_task_body_example(app_package: None, tmp_path: Path) -> None:
    task_def = perago.load_module_task("app.workers.features_build")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw/plays.csv").write_text("song,plays\n" + "".join(f"s{i},{i}\n" for i in range(120)))
    workspace = {"repository": "songs", "branch": "main", "ref_type": "branch", "ref": "main"}
    output = perago.invoke_workspace_task_body(
        task_def,
        {"workspace": workspace, "params": {"feature_set": "default", "min_rows": 100}},
        tmp_path,
    )
    assert sorted(output) == ["result"] and output["result"] == {"row_count": 120, "feature_count": 2}


def test_the_skipped_build_workspace_task_output_example(app_package: None) -> None:
    task_def = perago.load_module_task("app.workers.features_build")
    output = perago.build_workspace_task_output(
        task_def,
        {"repository": "song-000123", "branch": "main", "ref_type": "commit", "ref": "a" * 64},
        "b" * 64,
        {"row_count": 100, "feature_count": 24},
    )
    assert sorted(output) == ["result", "workspace"]


def test_the_skipped_run_workspace_task_attempt_example(
    app_package: None, lakefs_repository: LakeFSRepository, tmp_path: Path
) -> None:
    """The seed's call, with perago's lakeFS store as ``lakefs`` and a stand-in ``conductor`` whose task is current."""
    from perago.lakefs.store import LakeFSWorkspaceStore

    lakefs_repository.put({"raw/plays.csv": "song,plays\n" + "".join(f"s{i},{i}\n" for i in range(100))})
    lakefs: Any = LakeFSWorkspaceStore.from_settings(lakefs_repository.settings())
    conductor = SimpleNamespace(load_current_attempt=lambda attempt: attempt)
    attempt = SimpleNamespace(
        task_id="t-1", workflow_instance_id="wf-1", poll_count=1, worker_id="w", status="IN_PROGRESS"
    )
    task_def = perago.load_module_task("app.workers.features_build")
    workspace = lakefs_repository.workspace("main").model_dump()
    result = perago.run_workspace_task_attempt(
        task_def,
        {"workspace": workspace, "params": {"feature_set": "default", "min_rows": 100}},
        attempt,
        tmp_path / "workspaces",
        download_workspace=lakefs.download_workspace,
        load_current_attempt=conductor.load_current_attempt,
        stage_workspace=lakefs.stage_workspace,
        publish_workspace=lakefs.publish_workspace,
        cleanup_staging=lakefs.cleanup_staging,
        complete_noop_workspace=lakefs.complete_noop_workspace,
        failure_reason_max_length=1000,
    )
    assert result.status == "COMPLETED", result.reason_for_incompletion
    assert lakefs_repository.read("features/default.json") == b'{"rows": 100, "features": ["plays", "song"]}'
