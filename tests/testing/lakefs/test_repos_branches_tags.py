"""Repositories, branches and tags as lakeFS's controller and catalog validate and create them."""

from __future__ import annotations

import urllib3
from lakefs_sdk import BranchCreation, RepositoryCreation, TagCreation
from lakefs_sdk.client import LakeFSClient

from perago.testing.lakefs import LakeFSEmulator
from tests.testing.lakefs.conftest import error_of, raw, status_of


def test_repositories_and_storage_namespaces(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    """CreateRepository: name rules, the blockstore's namespace regex, a namespace ever used is refused
    (ensureStorageNamespace finds lakeFS's dummy object), 409 for an existing repository."""
    create = lambda name, ns: sdk.repositories_api.create_repository(  # noqa: E731
        RepositoryCreation(name=name, storage_namespace=ns)
    )
    bad = raw(emu, "POST", "/repositories", json={"name": "Bad_Name", "storage_namespace": "mem://x"})
    assert (
        bad.status == 400 and bad.json()["message"] == "argument name: repository id: invalid value: validation error"
    )
    assert error_of(lambda: create("songs", "s3://bucket/songs"))[0] == 400  # not this blockstore's scheme
    create("songs", "mem://songs")
    assert error_of(lambda: create("songs", "mem://elsewhere")) == (409, "error creating repository: not unique")
    sdk.repositories_api.delete_repository("songs")
    status, message = error_of(lambda: create("songs", "mem://songs"))
    assert status == 400 and "storage namespace already in use" in message
    create("songs", "local://songs")  # quickstart namespaces work on the memory store too
    assert [r.id for r in sdk.repositories_api.list_repositories(search="ong").results] == ["songs"]


def test_branch_creation_and_deletion(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    """graveler.CreateBranch: 409 when it exists whatever ``force`` says; catalog: a tag or commit id name is 409;
    a ``$`` source is 400; DeleteBranch: the default branch is 403, a missing one 404."""
    emu.create_repository("songs")
    head = sdk.branches_api.get_branch("songs", "main").commit_id
    create = lambda **kw: sdk.branches_api.create_branch("songs", BranchCreation(**kw))  # noqa: E731
    assert error_of(lambda: create(name="feature/x", source="main"))[1].endswith("cannot start with a dash")
    assert error_of(lambda: create(name="main", source="main", force=True)) == (
        409,
        "branch already exists: not unique",
    )
    assert error_of(lambda: create(name=head, source="main"))[0] == 409
    sdk.tags_api.create_tag("songs", TagCreation(id="v1", ref="main"))
    assert error_of(lambda: create(name="v1", source="main")) == (409, "tag ID v1: conflict found")
    assert error_of(lambda: create(name="x", source="main$"))[0] == 400
    assert error_of(lambda: create(name="x", source="nope")) == (404, "source reference 'nope': not found")
    created = raw(emu, "POST", "/repositories/songs/branches", json={"name": "x", "source": "main", "hidden": True})
    assert created.status == 201 and created.data.decode() == head
    assert created.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert [b.id for b in sdk.branches_api.list_branches("songs").results] == ["main"]
    assert [b.id for b in sdk.branches_api.list_branches("songs", show_hidden=True).results] == ["main", "x"]
    assert error_of(lambda: sdk.branches_api.delete_branch("songs", "main")) == (
        403,
        "cannot delete repository default branch",
    )
    sdk.branches_api.delete_branch("songs", "x")
    assert error_of(lambda: sdk.branches_api.delete_branch("songs", "x")) == (404, "branch not found")


def test_tags(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    """Catalog.CreateTag / graveler.CreateTag: ValidateTagID, 409 for an existing tag even with ``force``."""
    emu.create_repository("songs")
    create = lambda **kw: sdk.tags_api.create_tag("songs", TagCreation(**kw))  # noqa: E731
    assert create(id="release~1", ref="main").id == "release~1"
    assert error_of(lambda: create(id="release~1", ref="main", force=True)) == (409, "tag already exists: not unique")
    assert error_of(lambda: create(id="a/b", ref="main"))[0] == 400
    assert error_of(lambda: create(id="main", ref="main")) == (409, "branch name main: conflict found")
    assert error_of(lambda: create(id="v2", ref="nope"))[0] == 404


def test_query_parameters_are_checked_like_the_openapi_validator(emu: LakeFSEmulator) -> None:
    """pkg/api/serve.go OapiRequestValidatorWithOptions: Go booleans, integers, amount within -1..1000."""
    emu.create_repository("songs")
    for value in ("True", "true", "1", "t", "FALSE", "0"):
        assert raw(emu, "GET", f"/repositories/songs/branches?show_hidden={value}").status == 200
    bad = raw(emu, "GET", "/repositories/songs/branches?show_hidden=yes")
    assert bad.status == 400 and bad.json()["message"] == (
        'parameter "show_hidden" in query has an error: value yes: an invalid boolean: invalid syntax'
    )
    assert raw(emu, "GET", "/repositories/songs/branches?amount=x").status == 400
    assert raw(emu, "GET", "/repositories/songs/branches?amount=1001").status == 400
    assert urllib3.request("GET", f"{emu.endpoint}/api/v1/repositories").status == 401
    unknown = raw(emu, "GET", "/repositories/songs/settings/gc_rules")
    assert unknown.status == 501 and "not emulated" in unknown.json()["message"]


def test_read_only_repositories(sdk: LakeFSClient, emu: LakeFSEmulator) -> None:
    sdk.repositories_api.create_repository(
        RepositoryCreation(name="songs", storage_namespace="mem://s", read_only=True)
    )
    assert sdk.repositories_api.get_repository("songs").read_only is True
    assert status_of(lambda: sdk.objects_api.upload_object("songs", "main", "a", content=b"a")) == 403
