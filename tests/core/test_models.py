"""The public API surface and the wire models of DESIGN §1."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import perago
from perago import WorkspaceInput

# docs/design.md §1 "Public API": these names are part of the contract.
DESIGN_NAMES = [
    "TaskDefinition",
    "task",
    "load_module_task",
    "discover_tasks",
    "WorkspaceInput",
    "WorkspaceSpec",
    "check_guardrails",
    "RuntimeTaskResult",
    "completed_result",
    "result_for_exception",
    "assert_current_attempt_snapshot",
    "StagedWorkspace",
    "run_workspace_task_attempt",
    "run_workspace_free_task_attempt",
    "invoke_workspace_task_body",
    "invoke_workspace_free_task",
    "build_workspace_task_output",
    "build_workspace_free_task_output",
    "ATTEMPT_WORKSPACE_MARKER",
    "prepare_attempt_workspace",
    "cleanup_attempt_workspace_safely",
    "new_workspace_owner",
    "register_active_workspace_owner",
    "unregister_active_workspace_owner",
    "PeragoError",
    "TaskInputError",
    "GuardrailViolation",
    "PreGuardrailViolation",
    "PostGuardrailViolation",
    "StaleAttemptError",
    "current_task_context",
]


def test_the_design_api_is_importable_from_perago() -> None:
    missing = [name for name in DESIGN_NAMES if not hasattr(perago, name)]
    assert missing == []
    assert set(DESIGN_NAMES) <= set(perago.__all__)
    assert all(hasattr(perago, name) for name in perago.__all__)


def test_staged_workspace_is_frozen() -> None:
    staged = perago.StagedWorkspace("songs", "perago-stg-x", "c" * 64)
    with pytest.raises(AttributeError):
        staged.branch = "main"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("workspace", "message"),
    [
        ({"repository": "Songs", "branch": "main", "ref_type": "branch", "ref": "main"}, "repository 'Songs'"),
        ({"repository": "songs", "branch": "a/b", "ref_type": "branch", "ref": "main"}, "branch 'a/b'"),
        ({"repository": "songs", "branch": "main", "ref_type": "commit", "ref": "main"}, "valid lakeFS commit"),
        ({"repository": "songs", "branch": "main", "ref_type": "tag", "ref": "v 1"}, "valid lakeFS tag"),
        ({"repository": "songs", "branch": "main", "ref_type": "sha", "ref": "main"}, "ref_type"),
        ({"repository": "songs", "branch": "main", "ref_type": "branch", "ref": "main", "x": 1}, "x"),
    ],
)
def test_workspace_input_follows_lakefs_naming(workspace: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WorkspaceInput.model_validate(workspace)


def test_tag_refs_follow_lakefs_validate_tag_id() -> None:
    """pkg/graveler/validate.go ValidateTagID: no '/' (git allows it, lakeFS does not), '~' allowed."""
    with pytest.raises(ValidationError, match=r"not a valid lakeFS tag reference \(a tag name cannot contain '/'\)"):
        WorkspaceInput(repository="songs", branch="main", ref_type="tag", ref="release/v1.2")


def test_published_output_pins_the_commit_and_keeps_the_target_branch() -> None:
    source = WorkspaceInput(repository="songs", branch="main", ref_type="tag", ref="release~v1.2")  # lakeFS allows ~
    assert source.published_output("abc123").model_dump() == {
        "repository": "songs",
        "branch": "main",
        "ref_type": "commit",
        "ref": "abc123",
    }
