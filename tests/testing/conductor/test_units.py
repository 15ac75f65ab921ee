"""Unit tests of the emulator's pure parts: expressions, retry delays, the manual clock."""

from __future__ import annotations

import pytest

from perago.testing.conductor import ManualClock
from perago.testing.conductor.expressions import lookup, resolve

CONTEXT = {
    "workflow": {"input": {"user": {"name": "ada", "tags": ["x", "y"]}, "n": 3}},
    "build": {"output": {"workspace": {"commit": "abc"}, "files": [{"path": "a.txt"}]}},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("${workflow.input.n}", 3),
        ("${workflow.input.user}", {"name": "ada", "tags": ["x", "y"]}),
        ("${workflow.input.user.tags[1]}", "y"),
        ("${build.output.files[0].path}", "a.txt"),
        ("${build.output.workspace}", {"commit": "abc"}),
        ("${build.output.missing.deeper}", None),
        ("${build.output.files[5]}", None),
        ("${nobody.output}", None),
        ("commit ${build.output.workspace.commit} by ${workflow.input.user.name}", "commit abc by ada"),
        ("n=${workflow.input.n} tags=${workflow.input.user.tags}", 'n=3 tags=["x","y"]'),
        ("gone=${build.output.nope}", "gone=null"),
        ("no expression", "no expression"),
    ],
)
def test_resolve_expressions(expression, expected):
    assert resolve(expression, CONTEXT) == expected


def test_resolve_recurses_into_containers_and_keeps_other_values():
    value = {"a": ["${workflow.input.n}", {"b": "${build.output.workspace.commit}"}], "c": 1.5, "d": None}
    assert resolve(value, CONTEXT) == {"a": [3, {"b": "abc"}], "c": 1.5, "d": None}


def test_lookup_tolerates_spaces_and_bad_segments():
    assert lookup(" workflow.input.n ", CONTEXT) == 3
    assert lookup("workflow.input[0]", CONTEXT) is None


def test_manual_clock_advances_and_notifies():
    clock = ManualClock(start=100.0)
    calls: list[float] = []
    clock.on_advance(lambda: calls.append(clock.now()))
    assert clock.advance(2.5) == 102.5
    assert calls == [102.5]
    with pytest.raises(ValueError, match=">= 0"):
        clock.advance(-1)
