"""Invoking a task body directly: strict params and outputs (extra=forbid even for lenient models), aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, ValidationError

from perago import (
    WorkspaceSpec,
    build_workspace_free_task_output,
    invoke_workspace_free_task,
    invoke_workspace_task_body,
    task,
)
from perago.body import validate_output, validate_params
from perago.errors import TaskInputError, TaskOutputError
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
    with pytest.raises(
        TaskInputError, match=r"unknown params key\(s\) 'rowlimit'.*Lenient accepts depth, label, other"
    ):
        validate_params(lenient, {"rowlimit": 3})


def test_params_may_be_a_model_instance_but_must_be_an_object() -> None:
    assert invoke_workspace_free_task(greet, Hello(name="ada")) == Greeting(text="hello ada")
    with pytest.raises(TaskInputError, match="'params' must be a JSON object, got list"):
        validate_params(greet, ["ada"])
    with pytest.raises(ValidationError):
        validate_params(greet, {"name": 3})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Greeting(text="wrong model"), "returned Greeting, expected Answer"),
        ("just text", "returned str, expected Answer"),
        ({"value": 1, "extra": 2}, "unknown output key"),
        ({"value": "many"}, "returned an invalid Answer"),
    ],
)
def test_outputs_are_checked_strictly(value: Any, message: str) -> None:
    with pytest.raises(TaskOutputError, match=message):
        validate_output(lenient, value)


def test_a_dict_output_is_validated_into_the_model() -> None:
    assert validate_output(lenient, {"value": 4}) == Answer(value=4)


def test_task_kinds_are_checked(tmp_path: Path) -> None:
    with pytest.raises(TaskInputError, match="workspace-free"):
        invoke_workspace_task_body(greet, tmp_path, {"name": "x"})
    with pytest.raises(TaskInputError, match="needs the before-snapshot"):
        invoke_workspace_task_body(writer, tmp_path, {})


def test_read_only_body_without_a_before_snapshot(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw/a.csv").write_text("x")
    outcome = invoke_workspace_task_body(reader, tmp_path, {})
    assert outcome.after is None and outcome.output.model_dump() == {"files": 1}


def test_workspace_spec_is_strict_and_free_output_shape() -> None:
    with pytest.raises(ValidationError):
        WorkspaceSpec(read_only=True, typo=True)  # type: ignore[call-arg]
    assert build_workspace_free_task_output(Answer(value=1)) == {"result": {"value": 1}}
