"""The lakeFS emulator, a lakefs_sdk client for it, and a validator of answers against lakeFS's own swagger."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from lakefs_sdk import Configuration
from lakefs_sdk.client import LakeFSClient
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from perago.testing.lakefs import LakeFSEmulator
from perago.testing.lakefs.server import ROUTES

SPEC_PATH = Path(__file__).resolve().parents[4] / "shared" / "specs" / "lakefs-swagger.yml"


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    return loaded


@cache
def registry() -> Registry:  # type: ignore[type-arg]
    return Registry().with_resource("urn:lakefs", Resource.from_contents(spec(), default_specification=DRAFT4))


def response_schema(operation_id: str, status: int) -> dict[str, Any] | None:
    method, path = next((m, p) for m, p, op in ROUTES if op == operation_id)
    responses = spec()["paths"][path][method.lower()]["responses"]
    answer = responses.get(status) or responses.get(str(status)) or responses.get("default")
    if answer is None:
        raise AssertionError(f"{operation_id}: lakeFS's swagger has no {status} answer")
    if "$ref" in answer:
        answer = spec()["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
    content = answer.get("content", {}).get("application/json")
    return None if content is None else content["schema"]


def check(emu: LakeFSEmulator, operation_id: str, status: int) -> Any:
    """The last answer of ``operation_id`` had ``status`` and validates against lakeFS's swagger."""
    got_status, body = emu.last_reply(operation_id)
    assert got_status == status, (operation_id, got_status, body)
    schema = response_schema(operation_id, status)
    assert schema is not None, f"{operation_id} {status}: swagger has no JSON schema"
    OAS30Validator(_absolute(schema), registry=registry()).validate(body)
    return body


def _absolute(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"$ref": "urn:lakefs" + schema["$ref"]}
    return _rewrite(schema)


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: ("urn:lakefs" + v if k == "$ref" and v.startswith("#") else _rewrite(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


@pytest.fixture
def emu() -> Iterator[LakeFSEmulator]:
    with LakeFSEmulator() as emulator:
        yield emulator


@pytest.fixture
def sdk(emu: LakeFSEmulator) -> LakeFSClient:
    conf = Configuration(host=f"{emu.endpoint}/api/v1", username=emu.access_key_id, password=emu.secret_access_key)
    return LakeFSClient(conf)
