"""The lakeFS emulator, a lakefs_sdk client for it, and a strict validator of its answers against lakefs_sdk's models.

lakefs_sdk is generated from lakeFS's OpenAPI description: each API method names the model of every status it
documents (``_response_types_map``) next to the route it calls. An answer passes when the route documents its
status, and its JSON has every field the model requires, no field the model does not know, and the model's types
(the models' pydantic Strict* types). Nothing outside the installed packages is read.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import lakefs_sdk
import lakefs_sdk.api
import pytest
import urllib3
from lakefs_sdk import BranchCreation, CommitCreation, Configuration, RepositoryCreation
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.exceptions import ApiException
from pydantic.v1 import BaseModel
from pydantic.v1.fields import SHAPE_DICT, SHAPE_LIST, SHAPE_SINGLETON, ModelField

from perago.testing.lakefs import LakeFSEmulator
from perago.testing.lakefs.server import ROUTES

_CALL = re.compile(
    r"_response_types_map = (\{[^}]*\})\s*return self\.api_client\.call_api\(\s*'([^']+)', '([A-Z]+)'", re.DOTALL
)


@cache
def response_types() -> dict[tuple[str, str], dict[str, str | None]]:
    """(METHOD, route) -> {status: model name} for every lakefs_sdk API method."""
    found: dict[tuple[str, str], dict[str, str | None]] = {}
    for module in pkgutil.iter_modules(lakefs_sdk.api.__path__):
        source = inspect.getsource(importlib.import_module(f"lakefs_sdk.api.{module.name}"))
        for types, route, method in _CALL.findall(source):
            found[(method, route)] = ast.literal_eval(types)
    return found


def answer_model(operation_id: str, status: int) -> str | None:
    method, route = next((m, r) for m, r, op in ROUTES if op == operation_id)
    documented = response_types()[(method, route)]
    if not documented and status >= 400:  # methods returning nothing list no statuses; errors are Error
        return "Error"
    assert str(status) in documented, f"{operation_id}: lakefs_sdk documents no {status} answer ({documented})"
    return documented[str(status)]


def strict(model: type[BaseModel], data: Any, where: str) -> None:
    """``data`` is exactly a ``model``: required fields present, no unknown ones, right types (recursively)."""
    assert isinstance(data, dict), f"{where}: expected an object for {model.__name__}, got {data!r}"
    fields: dict[str, ModelField] = {f.alias: f for f in model.__fields__.values()}
    unknown = set(data) - set(fields)
    missing = {alias for alias, f in fields.items() if f.required and alias not in data}
    assert not unknown, f"{where}: {model.__name__} has no field(s) {sorted(unknown)}"
    assert not missing, f"{where}: {model.__name__} requires {sorted(missing)}"
    for alias, value in data.items():
        _check_field(fields[alias], value, f"{where}.{alias}")
    model.parse_obj(data)  # the Strict* types: no "1" for an int, no 1 for a string


def _check_field(field: ModelField, value: Any, where: str) -> None:
    if value is None:
        assert not field.required, f"{where}: required field is null"
        return
    inner = field.type_
    if not (inspect.isclass(inner) and issubclass(inner, BaseModel)):
        return
    if field.shape == SHAPE_SINGLETON:
        strict(inner, value, where)
    elif field.shape == SHAPE_LIST:
        for index, item in enumerate(value):
            strict(inner, item, f"{where}[{index}]")
    elif field.shape == SHAPE_DICT:
        for key, item in value.items():
            strict(inner, item, f"{where}[{key}]")


def check(emu: LakeFSEmulator, operation_id: str, status: int) -> Any:
    """The last answer of ``operation_id`` had ``status`` and is exactly what lakefs_sdk's model for it describes."""
    got_status, body = emu.last_reply(operation_id)
    assert got_status == status, (operation_id, got_status, body)
    name = answer_model(operation_id, status)
    assert name is not None, f"{operation_id} {status}: lakefs_sdk expects no JSON body"
    if name.startswith("Dict[str, str]"):
        assert isinstance(body, dict) and all(isinstance(v, str) for v in body.values()), body
        return body
    strict(getattr(lakefs_sdk.models, name), body, operation_id)
    return body


@pytest.fixture
def emu() -> Iterator[LakeFSEmulator]:
    with LakeFSEmulator() as emulator:
        yield emulator


@pytest.fixture
def sdk(emu: LakeFSEmulator) -> LakeFSClient:
    conf = Configuration(host=f"{emu.endpoint}/api/v1", username=emu.access_key_id, password=emu.secret_access_key)
    return LakeFSClient(conf)


@pytest.fixture
def repo(sdk: LakeFSClient) -> LakeFSClient:
    """``songs`` with a.txt and b.txt committed on main."""
    sdk.repositories_api.create_repository(RepositoryCreation(name="songs", storage_namespace="mem://songs"))
    sdk.objects_api.upload_object("songs", "main", "a.txt", content=b"a")
    sdk.objects_api.upload_object("songs", "main", "b.txt", content=b"b")
    sdk.commits_api.commit("songs", "main", CommitCreation(message="seed"))
    return sdk


def branch_with(sdk: LakeFSClient, name: str, files: dict[str, bytes], source: str = "main") -> str:
    """A new branch with ``files`` committed on it; returns the commit id."""
    sdk.branches_api.create_branch("songs", BranchCreation(name=name, source=source))
    for path, data in files.items():
        sdk.objects_api.upload_object("songs", name, path, content=data)
    return str(sdk.commits_api.commit("songs", name, CommitCreation(message=name)).id)


def status_of(call: Callable[[], object]) -> int:
    """The HTTP status a lakefs_sdk call ends with (200 when it succeeds)."""
    try:
        call()
    except ApiException as exc:
        return int(exc.status)
    return 200


def error_of(call: Callable[[], object]) -> tuple[int, str]:
    """(status, lakeFS's message) of a lakefs_sdk call that fails."""
    with pytest.raises(ApiException) as info:
        call()
    return int(info.value.status), str(json.loads(info.value.body)["message"])


def raw(emu: LakeFSEmulator, method: str, route: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
    """A raw request to the emulator's API (``route`` under /api/v1) with its credentials."""
    headers = {**urllib3.make_headers(basic_auth=f"{emu.access_key_id}:{emu.secret_access_key}")}
    headers.update(kwargs.pop("headers", {}))
    return urllib3.request(method, f"{emu.endpoint}/api/v1{route}", headers=headers, redirect=False, **kwargs)
