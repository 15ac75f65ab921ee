"""Invoking a task body directly, as the seed documents it: strict params and outputs (extra=forbid even for
lenient models), aliases, the input wrappers and the output wire shapes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, ValidationError

from perago import (
    WorkspaceSpec,
    build_workspace_free_task_output,
    build_workspace_task_output,
    invoke_workspace_free_task,
    invoke_workspace_task_body,
    task,
)
from perago.body import validate_output, validate_params
from perago.errors import PostGuardrailViolation, TaskInputError
from tests.core.conftest import WORKSPACE
from tests.core.tasks import Greeting, Hello, greet, reader, writer


class Lenient(BaseModel):  # the user's model ignores extra keys; perago still refuses them
    model_config = ConfigDict(populate_by_name=True)
    row_limit: int = Field(10, alias="rowLimit")
    label: str = Field("x", validation_alias="tag")
    other: str = Field("y", validation_alias=AliasChoices("o", "other"))
    depth: int = Field(0, validation_alias=AliasChoices(AliasPath("deep", "n"), "depth"))


class Answer(BaseModel):
    value: int


@task()
def lenient(params: Lenient) -> Answer:
    return Answer(value=params.row_limit)


def test_aliases_are_accepted_and_unknown_keys_refused() -> None:
    assert validate_params(lenient, {"rowLimit": 3, "tag": "t", "o": "z"}).model_dump() == {
        "row_limit": 3,
        "label": "t",
        "other": "z",
        "depth": 0,
    }
    assert validate_params(lenient, {"deep": {"n": 5}}).model_dump()["depth"] == 5
    with pytest.raises(ValidationError, match=r"rowlimit\n  Extra inputs are not permitted"):
        validate_params(lenient, {"rowlimit": 3})


def test_params_must_be_an_object() -> None:
    assert invoke_workspace_free_task(greet, {"params": {"name": "ada"}}) == {"result": {"text": "hello ada"}}
    with pytest.raises(TaskInputError, match="'params' must be a JSON object, got list"):
        validate_params(greet, ["ada"])
    with pytest.raises(ValidationError):
        validate_params(greet, {"name": 3})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Greeting(text="wrong model"), r"text\n  Extra inputs are not permitted"),
        ("just text", "Input should be a valid dictionary or instance of Answer"),
        ({"value": 1, "extra": 2}, r"extra\n  Extra inputs are not permitted"),
        ({"value": "many"}, "Input should be a valid integer"),
    ],
)
def test_outputs_are_checked_strictly(value: Any, message: str) -> None:
    """The seed: a pydantic ValidationError when the result does not satisfy the model or has extra fields."""
    with pytest.raises(ValidationError, match=message):
        validate_output(lenient, value)


def test_a_dict_output_is_validated_into_the_model() -> None:
    assert validate_output(lenient, {"value": 4}) == Answer(value=4)


def test_task_kinds_and_wrappers_are_checked(tmp_path: Path) -> None:
    with pytest.raises(TaskInputError, match="workspace-free"):
        invoke_workspace_task_body(greet, {"workspace": WORKSPACE, "params": {"name": "x"}}, tmp_path)
    with pytest.raises(TaskInputError, match=re.escape("must be exactly {'workspace', 'params'}, got ['params']")):
        invoke_workspace_task_body(writer, {"params": {}}, tmp_path)
    with pytest.raises(TaskInputError, match="needs a workspace"):
        invoke_workspace_free_task(writer, {"params": {}})
    with pytest.raises(TaskInputError, match=re.escape("must be exactly {'params'}, got ['params', 'workspace']")):
        invoke_workspace_free_task(greet, {"params": {"name": "x"}, "workspace": WORKSPACE})
    with pytest.raises(ValidationError, match="no slashes"):
        invoke_workspace_task_body(writer, {"workspace": {**WORKSPACE, "branch": "a/b"}, "params": {}}, tmp_path)


def test_invoke_workspace_task_body_runs_body_and_guardrails(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw/a.csv").write_text("x")
    assert invoke_workspace_task_body(reader, {"workspace": WORKSPACE, "params": {}}, tmp_path) == {
        "result": {"files": 1}
    }
    output = invoke_workspace_task_body(writer, {"workspace": WORKSPACE, "params": {}}, tmp_path)
    assert sorted(output) == ["result"] and (tmp_path / "out/result.txt").read_text() == "done"
    with pytest.raises(PostGuardrailViolation, match=re.escape("changes outside out/: raw/a.csv")):
        invoke_workspace_task_body(writer, {"workspace": WORKSPACE, "params": {"mode": "outside"}}, tmp_path)


def test_output_builders_have_the_seed_shapes() -> None:
    assert build_workspace_free_task_output(greet, {"text": "hi"}) == {"result": {"text": "hi"}}
    assert build_workspace_free_task_output(greet, Greeting(text="hi")) == {"result": {"text": "hi"}}
    with pytest.raises(ValidationError):
        build_workspace_free_task_output(greet, {"text": "hi", "extra": 1})
    with pytest.raises(TaskInputError):
        build_workspace_free_task_output(writer, {"files": 1})
    output = build_workspace_task_output(writer, WORKSPACE, "c" * 64, {"files": 2})
    assert output == {
        "workspace": {"repository": "songs", "branch": "main", "ref_type": "commit", "ref": "c" * 64},
        "result": {"files": 2},
    }
    with pytest.raises(TaskInputError):
        build_workspace_task_output(greet, WORKSPACE, "c" * 64, {"text": "x"})


def test_workspace_spec_is_strict() -> None:
    with pytest.raises(ValidationError):
        WorkspaceSpec(read_only=True, typo=True)  # type: ignore[call-arg]
    assert Hello(name="x").name == "x"
