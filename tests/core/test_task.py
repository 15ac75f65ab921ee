"""Task definitions: the decorator, load_module_task, package discovery, call identity."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from perago import WorkspaceSpec, discover_tasks, load_module_task, task
from perago.callid import call_identity, call_identity_bytes, canonical_json
from perago.errors import TaskDefinitionError


class P(BaseModel):
    b: int = 1
    a: str = "x"


class R(BaseModel):
    ok: bool


def test_decorator_infers_models_and_kind() -> None:
    @task(retry_count=5, response_timeout_s=30, concurrency=3)
    def free(params: P) -> R:
        """Says ok."""
        return R(ok=True)

    @task(workspace=WorkspaceSpec(read_only=True), version=2)
    def ws(workspace_dir: Path, params: P) -> R:
        return R(ok=True)

    @task()
    def default_ws(workspace_dir: Path, params: P) -> R:
        return R(ok=True)

    assert free.name == "free" and free.params_model is P and free.output_model is R and free.workspace is None
    assert free.description == "Says ok." and free.retry_count == 5 and free.concurrency == 3
    assert ws.workspace is not None and ws.workspace.read_only and ws.version == 2 and ws.has_workspace
    assert default_ws.workspace == WorkspaceSpec()
    assert free(P()) == R(ok=True)
    assert free.module == __name__


def bad_missing(params):  # type: ignore[no-untyped-def]
    return None


def bad_not_model(params: dict) -> R:  # type: ignore[type-arg]
    return R(ok=True)


def bad_no_return(params: P):  # type: ignore[no-untyped-def]
    return R(ok=True)


def bad_base_model(params: BaseModel) -> R:
    return R(ok=True)


def bad_first_param(workspace_dir: str, params: P) -> R:
    return R(ok=True)


def bad_arity(a: P, b: P, c: P) -> R:
    return R(ok=True)


def bad_return(params: P) -> int:
    return 1


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (bad_missing, "the params argument 'params' has no annotation"),
        (bad_not_model, "the params argument 'params' must be a pydantic BaseModel subclass, got 'dict'"),
        (bad_first_param, "first parameter 'workspace_dir' must be annotated `Path`"),
        (bad_arity, "got 3 parameters"),
        (bad_return, "the return annotation must be a pydantic BaseModel subclass, got 'int'"),
        (bad_no_return, "the return annotation is missing; annotate `-> YourResultModel`"),
        (bad_base_model, "the params argument 'params' must be a pydantic BaseModel subclass, got 'BaseModel'"),
    ],
)
def test_decorator_errors_name_the_function(fn: Any, message: str) -> None:
    for decorate in (task(), task):  # with arguments and bare: the same message
        with pytest.raises(TaskDefinitionError, match=re.escape(message)) as info:
            decorate(fn)
        assert fn.__name__ in str(info.value)


def test_bare_decorator_and_name_forms() -> None:
    """Issue 9, acceptance 4: ``@task``, ``@task()`` and ``@task(name=...)`` (and a positional name) all work."""

    def body(params: P) -> R:
        return R(ok=True)

    bare, empty, named, positional = task(body), task()(body), task(name="renamed")(body), task("pos")(body)
    assert (bare.name, empty.name, named.name, positional.name) == ("body", "body", "renamed", "pos")
    assert bare.params_model is P and bare.output_model is R and bare.workspace is None


@pytest.mark.parametrize("thing", [42, "text", type("NotAFunction", (), {})(), print])
def test_task_on_something_that_is_not_a_function(thing: Any) -> None:
    with pytest.raises(TaskDefinitionError, match="@task applies to a function"):
        task()(thing)
    if not isinstance(thing, str):
        with pytest.raises(TaskDefinitionError):
            task(thing)


def test_unknown_options_are_named() -> None:
    with pytest.raises(TaskDefinitionError, match="unknown option\\(s\\) retries"):
        task(retries=3)  # type: ignore[call-overload]


def test_workspace_spec_on_a_workspace_free_function_is_refused() -> None:
    def f(params: P) -> R:
        return R(ok=True)

    with pytest.raises(TaskDefinitionError, match="takes no workspace_dir"):
        task(workspace=WorkspaceSpec())(f)


def test_load_module_task() -> None:
    assert load_module_task("tests.core.pkg_ok.alpha").name == "alpha"
    with pytest.raises(TaskDefinitionError, match="exactly one task, found 2: beta, gamma"):
        load_module_task("tests.core.pkg_ok.sub.beta")
    with pytest.raises(TaskDefinitionError, match="found 0: none"):
        load_module_task("tests.core.pkg_ok")
    with pytest.raises(TaskDefinitionError, match=r"cannot import 'tests\.core\.nope'"):
        load_module_task("tests.core.nope")


def test_discover_package_and_submodules() -> None:
    assert [t.name for t in discover_tasks("tests.core.pkg_ok")] == ["alpha", "beta", "gamma"]
    assert [t.name for t in discover_tasks("tests.core.pkg_ok.alpha")] == ["alpha"]


def test_duplicate_names_name_both_places() -> None:
    with pytest.raises(TaskDefinitionError) as info:
        discover_tasks("tests.core.pkg_dup")
    assert "'same'" in str(info.value)
    assert "tests.core.pkg_dup.one" in str(info.value) and "tests.core.pkg_dup.two" in str(info.value)


# -- call identity: test vectors pin the canonical form ------------------------------------------------------


class Nested(BaseModel):
    z: list[int]
    a: dict[str, float | None]
    text: str


def test_canonical_bytes_vector() -> None:
    params = Nested(z=[3, 1], a={"β": 0.1, "a": None, "b": 1.0}, text='é "q"\n')
    expected = '{"params":{"a":{"a":null,"b":1.0,"β":0.1},"text":"é \\"q\\"\\n","z":[3,1]},"task":"songs","version":2}'
    assert call_identity_bytes("songs", 2, params) == expected.encode("utf-8")


@pytest.mark.parametrize(
    ("name", "version", "params", "raw", "digest"),
    [
        (
            "t",
            1,
            {},
            '{"params":{},"task":"t","version":1}',
            "e21f3dbf03d8e1f8cdcaac01adbaae2f212de46498898e0d63ed22711c07f9b5",
        ),
        (
            "songs.build",
            3,
            {"é": "日本", "a": [1, 2.5, None, True]},
            '{"params":{"a":[1,2.5,null,true],"é":"日本"},"task":"songs.build","version":3}',
            "cb64ff67e405f09e45a3d6dd2e39657a23896c320761d1ecfa006caabd28e606",
        ),
        (
            "t",
            1,
            {
                "\uff61": 1,
                "\U0001f600": 2,
                "f": [1e16, 1e-05, 0.1 + 0.2, -0.0, 123456789012345678901234567890],
                "c": "\x1f\x7f\u2028\b",
            },
            '{"params":{"c":"\\u001f\x7f\u2028\\b","f":[1e+16,1e-05,0.30000000000000004,-0.0,'
            '123456789012345678901234567890],"\uff61":1,"\U0001f600":2},"task":"t","version":1}',
            "546f81f9ec8c5acfc24f1e3e312444f7bb05b2db20d42ac3e31b03d84ffe3666",
        ),
    ],
)
def test_call_identity_vectors(name: str, version: int, params: dict[str, Any], raw: str, digest: str) -> None:
    assert call_identity_bytes(name, version, params) == raw.encode("utf-8")
    assert call_identity(name, version, params) == digest


def test_call_identity_is_order_independent_and_sensitive() -> None:
    assert call_identity("t", 1, P(a="x", b=1)) == call_identity("t", 1, {"b": 1, "a": "x"})
    assert call_identity("t", 1, P()) != call_identity("t", 2, P())
    assert call_identity("t", 1, P()) != call_identity("t", 1, P(b=2))


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": "\ud800"})
