"""Unit tests of the emulator's pure parts: ParametersUtils expressions, scripts, graph walking, the clock."""

from __future__ import annotations

import pytest

from perago.testing.conductor import ManualClock
from perago.testing.conductor.expressions import java_str, read, resolve, task_input

DOC = {
    "workflow": {"input": {"user": {"name": "ada", "tags": ["x", "y"]}, "n": 3, "key": "n"}, "variables": {"v": 1}},
    "build": {
        "output": {"workspace": {"commit": "abc"}, "files": [{"path": "a.txt", "size": 3}, {"path": "b", "size": 9}]}
    },
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("${workflow.input.n}", 3),
        ("${$.workflow.input.n}", 3),
        ("${workflow.input.user}", {"name": "ada", "tags": ["x", "y"]}),
        ("${workflow.input.user.tags[1]}", "y"),
        ("${build.output.files[0].path}", "a.txt"),
        ("${build.output.files[*].path}", ["a.txt", "b"]),
        ("${build.output.files[?(@.size > 5)].path}", ["b"]),
        ("${build.output.files.length()}", 2),
        ("${build.output.missing.deeper}", None),
        ("${build.output.files[5]}", None),
        ("${nobody.output}", None),
        ("${workflow.input.${workflow.input.key}}", 3),
        ("commit ${build.output.workspace.commit} by ${workflow.input.user.name}", "commit abc by ada"),
        ("n=${workflow.input.n} tags=${workflow.input.user.tags}", "n=3 tags=[x, y]"),
        ("user=${workflow.input.user}", "user={name=ada, tags=[x, y]}"),
        ("gone=${build.output.nope}", "gone=null"),
        ("literal $${workflow.input.n} stays", "literal ${workflow.input.n} stays"),
        ("${}", ""),
        ("no expression", "no expression"),
    ],
)
def test_resolve_like_parameters_utils(expression, expected):
    # ParametersUtils.replaceVariables: JSONPath reads, nested ${}, $${ escape, Java toString interpolation
    assert resolve(expression, DOC) == expected


def test_resolve_recurses_into_containers_and_keeps_other_values():
    value = {"a": ["${workflow.input.n}", {"b": "${build.output.workspace.commit}"}], "c": 1.5, "d": None}
    assert resolve(value, DOC) == {"a": [3, {"b": "abc"}], "c": 1.5, "d": None}


def test_cpewf_task_id_and_input_template():
    # ParametersUtils.getTaskInputV2: inputTemplate fills absent keys and replaces null values
    template = {"inputTemplate": {"region": "eu", "n": 7, "extra": [1]}}
    resolved = task_input({"n": "${workflow.input.missing}", "id": "${CPEWF_TASK_ID}"}, DOC, template, "t-1")
    assert resolved == {"n": 7, "id": "t-1", "region": "eu", "extra": [1]}


def test_java_str_prints_like_objects_to_string():
    assert [java_str(v) for v in (None, True, 2, 2.0, 1.5, "s", [1, "a"], {"k": [None]})] == [
        "null",
        "true",
        "2",
        "2.0",
        "1.5",
        "s",
        "[1, a]",
        "{k=[null]}",
    ]


def test_read_tolerates_bad_paths():
    assert read("workflow.input[", DOC) is None
    assert read(" workflow.input.n ", DOC) == 3


def test_manual_clock_advances_and_notifies():
    clock = ManualClock(start=100.0)
    calls: list[float] = []
    clock.on_advance(lambda: calls.append(clock.now()))
    assert clock.advance(2.5) == 102.5
    assert calls == [102.5]
    with pytest.raises(ValueError, match=">= 0"):
        clock.advance(-1)
