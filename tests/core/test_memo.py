"""Memo keys, memo records and the new ``@task`` options (cache, cache_version, concurrency_key): unit tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from perago import WorkspaceSpec, task
from perago.concurrency import AttemptHandedBack, ConcurrencyKey, LockKey, handed_back_result
from perago.errors import TaskDefinitionError
from perago.memo import MemoRecord, memo_key, memo_lock_key

COMMIT = "c" * 64


class P(BaseModel):
    model_config = ConfigDict(extra="forbid")
    song: str = "s1"
    limit: int = 3


class R(BaseModel):
    n: int = 0


def write(workspace_dir: Path, params: P) -> R:
    return R()


def read(workspace_dir: Path, params: P) -> R:
    return R()


def free(params: P) -> R:
    return R()


writable = task(cache=True)(write)
readonly = task(cache=True, workspace=WorkspaceSpec(read_only=True))(read)


def test_the_key_changes_with_each_part_of_the_call() -> None:
    base = memo_key(writable, P(), COMMIT, "main")
    assert base == memo_key(writable, {"song": "s1", "limit": 3}, COMMIT, "main"), "the params as dumped"
    assert len(base) == 64 and int(base, 16) >= 0
    others = {
        memo_key(writable, P(song="s2"), COMMIT, "main"),
        memo_key(writable, P(), "d" * 64, "main"),
        memo_key(writable, P(), COMMIT, "dev"),
        memo_key(task(name="write", version=2, cache=True)(write), P(), COMMIT, "main"),
        memo_key(task(name="write", cache=True, cache_version=2)(write), P(), COMMIT, "main"),
        memo_key(task(name="write", cache=True, cache_version="2")(write), P(), COMMIT, "main"),
        memo_key(task(name="other", cache=True)(write), P(), COMMIT, "main"),
    }
    assert base not in others and len(others) == 6, "cache_version 2 and '2' are the same version"


def test_a_read_only_task_key_ignores_the_target_branch() -> None:
    assert memo_key(readonly, P(), COMMIT, "main") == memo_key(readonly, P(), COMMIT, "dev")


def test_a_record_round_trips_through_commit_metadata() -> None:
    record = MemoRecord(key="k" * 64, output_ref=COMMIT, result={"n": 2}, input_commit="e" * 64, computed_by="wf/t")
    metadata = record.metadata(writable, P(), "main")
    assert all(isinstance(v, str) for v in metadata.values())
    assert metadata["perago.memo_key"] == "k" * 64 and json.loads(metadata["perago.result"]) == {"n": 2}
    assert metadata["perago.cache_version"] == "1" and metadata["perago.branch"] == "main"
    assert MemoRecord.from_metadata("k" * 64, metadata) == record
    earlier = record.earlier()
    assert (earlier.ref, earlier.result, earlier.source) == (COMMIT, {"n": 2}, "memo: computed by wf/t")


@pytest.mark.parametrize(
    "change",
    [
        {"perago.memo_key": "other"},
        {"perago.output_ref": ""},
        {"perago.result": "not json"},
        {"perago.result": "[1]"},
    ],
)
def test_metadata_that_is_not_a_complete_record_of_the_key_is_a_miss(change: dict[str, str]) -> None:
    metadata = MemoRecord(key="k", output_ref=COMMIT, result={}, input_commit="").metadata(writable, P(), "main")
    assert MemoRecord.from_metadata("k", metadata | change) is None


def test_the_cache_serialize_lock_is_per_key() -> None:
    assert memo_lock_key("a") == memo_lock_key("a") and memo_lock_key("a") != memo_lock_key("b")


def test_cache_options_are_checked_where_the_task_is_declared() -> None:
    with pytest.raises(TaskDefinitionError, match="cache=True memoizes workspace tasks only"):
        task(cache=True)(free)
    with pytest.raises(TaskDefinitionError, match="cache_version has no effect without cache=True"):
        task(cache_version=2)(write)
    with pytest.raises(TaskDefinitionError, match="cache_version must be an int or a non-empty string"):
        task(cache=True, cache_version="")(write)
    with pytest.raises(TaskDefinitionError, match="cache must be True or False"):
        task(cache="yes")(write)  # type: ignore[call-overload]
    assert task(cache=True, cache_version="2024-06")(write).cache_version == "2024-06"
    assert not task(write).cache and task(write).concurrency_key is None


def test_concurrency_key_modes() -> None:
    by_task = task(concurrency_key="task")(write).concurrency_key
    by_args = task(concurrency_key="arguments")(write).concurrency_key
    by_keys = task(concurrency_key=["params.song", "workspace.branch"])(write).concurrency_key
    assert by_task == ConcurrencyKey("task") and by_args == ConcurrencyKey("arguments")
    assert by_keys == ConcurrencyKey("keys", ("params.song", "workspace.branch"))
    assert by_task is not None and by_args is not None and by_keys is not None
    main, dev = {"branch": "main", "repository": "songs"}, {"branch": "dev", "repository": "songs"}
    one, two = {"song": "s1", "limit": 1}, {"song": "s1", "limit": 2}
    assert by_task.lock_key("write", one, main) == by_task.lock_key("write", two, dev), "one key per task"
    assert by_task.lock_key("write", one, main) != by_task.lock_key("other", one, main)
    assert by_args.lock_key("write", one, main) == by_args.lock_key("write", dict(one), dev)
    assert by_args.lock_key("write", one, main) != by_args.lock_key("write", two, main), "per call"
    assert by_keys.lock_key("write", one, main) == by_keys.lock_key("write", two, main), "limit is not a key"
    assert by_keys.lock_key("write", one, main) != by_keys.lock_key("write", one, dev), "the branch is"
    described = by_keys.lock_key("write", one, main).description
    assert '"params.song":"s1"' in described and '"workspace.branch":"main"' in described


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("everything", "must be 'task', 'arguments' or a non-empty list"),
        ([], "must be 'task', 'arguments' or a non-empty list"),
        (["song"], "field 'song' is not a key this task has; use params.<field> with one of its params model's"),
        (["params.nope"], "params model's fields \\(song, limit\\)"),
        (["workspace.owner"], "workspace.\\{repository,branch,ref_type,ref\\}"),
    ],
)
def test_a_bad_concurrency_key_names_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(TaskDefinitionError, match=message):
        task(concurrency_key=value)(write)  # type: ignore[call-overload]


def test_a_workspace_free_task_has_no_workspace_fields() -> None:
    assert task(concurrency_key=["params.song"])(free).concurrency_key == ConcurrencyKey("keys", ("params.song",))
    with pytest.raises(TaskDefinitionError, match=r"use params\.<field> with one of its params model's fields") as info:
        task(concurrency_key=["workspace.branch"])(free)
    assert "workspace." not in str(info.value).split("use ")[1]


def test_a_long_key_is_hashed_whole_and_described_short() -> None:
    key = LockKey.of({"values": "x" * 500})
    assert len(key.description) == 200 and key.description.endswith("…")
    assert key != LockKey.of({"values": "x" * 499 + "y"})


def test_a_hand_back_is_in_progress_with_its_callback_delay() -> None:
    result = handed_back_result(AttemptHandedBack("key held by w-1", after_s=7), 100, ("handed back",))
    assert (result.status, result.callback_after_seconds, result.logs) == ("IN_PROGRESS", 7, ("handed back",))
    assert result.reason_for_incompletion == "key held by w-1"
    assert AttemptHandedBack("x", after_s=-3).after_s == 0
