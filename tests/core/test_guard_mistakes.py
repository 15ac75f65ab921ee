"""Guardrail mistakes are refused where they are written, with a message saying what to do (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from perago import WorkspaceSpec, check_guardrails, task
from perago.errors import PostGuardrailViolation, TaskDefinitionError
from perago.guards import ChangesOnlyUnder, MaxFileSize
from perago.snapshot import snapshot_directory


@pytest.mark.parametrize("prefix", ["clean", "clean/"])
def test_changes_only_under_compares_whole_path_segments(tmp_path: Path, prefix: str) -> None:
    before = snapshot_directory(tmp_path)
    (tmp_path / "clean").mkdir()
    (tmp_path / "clean/x.csv").write_text("ok")
    guard = ChangesOnlyUnder(prefixes=[prefix])
    check_guardrails(tmp_path, [guard], "post", before=before)

    (tmp_path / "cleaned").mkdir()
    (tmp_path / "cleaned/x.csv").write_text("not under clean/")
    with pytest.raises(PostGuardrailViolation, match=rf"changes outside {prefix}: cleaned/x\.csv$"):
        check_guardrails(tmp_path, [guard], "post", before=before)


def test_a_prefix_naming_a_file_covers_that_file_only() -> None:
    guard = ChangesOnlyUnder(prefixes=["report.json"])
    assert guard.covers("report.json")
    assert not guard.covers("report.json.bak") and not guard.covers("report.jsonl")


@pytest.mark.parametrize(
    ("prefix", "problem"),
    [
        ("", "covers the whole workspace (drop the guardrail instead)"),
        ("/", "covers the whole workspace"),
        ("/data/clean", "is not a relative POSIX path"),
        ("raw/../clean", "has a '.' or '..' segment"),
        ("./clean", "has a '.' or '..' segment"),
        ("clean/*.csv", "is a glob, not a path prefix"),
    ],
)
def test_unusable_prefixes_are_refused_when_written(prefix: str, problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ChangesOnlyUnder(prefixes=["ok", prefix])

    message = str(caught.value)
    assert f"prefix {prefix!r} {problem}" in message
    assert "write a relative directory such as 'features'" in message


def test_a_post_only_guardrail_in_pre_is_refused_when_the_spec_is_built() -> None:
    with pytest.raises(TaskDefinitionError) as caught:
        WorkspaceSpec(pre=[MaxFileSize(max_bytes=1), ChangesOnlyUnder(prefixes=["clean"])])

    assert str(caught.value) == (
        "WorkspaceSpec pre[1]: ChangesOnlyUnder compares what the task body changed with what was downloaded, "
        "so it can only run after the body; move it to post=[...]"
    )


def test_changes_only_under_on_a_read_only_spec_is_refused() -> None:
    with pytest.raises(TaskDefinitionError, match=r"post\[0\]: ChangesOnlyUnder .* read_only=True task publishes"):
        WorkspaceSpec(read_only=True, post=[ChangesOnlyUnder(prefixes=["clean"])])


def test_the_mistake_surfaces_at_task_definition_not_at_run_time() -> None:
    with pytest.raises(TaskDefinitionError, match="move it to post"):

        @task(workspace=WorkspaceSpec(pre=[ChangesOnlyUnder(prefixes=["clean"])]))
        def never_defined(workspace: Path, params: MaxFileSize) -> MaxFileSize:  # pragma: no cover
            return params
