"""Deterministic helpers (issue 14): ``current_task_context().random()``, ``.uuid4()``, ``.now()``.

Same call (task, version, canonical params) on the same input commit -> the same sequences on every attempt;
another call or another input commit -> other sequences. ``now()`` is the retry chain's first scheduled time.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from perago import current_task_context, run_workspace_free_task_attempt, run_workspace_task_attempt, task
from perago.context import TaskContext
from perago.determinism import FIXED_NOW, Determinism
from perago.errors import PeragoError
from perago.testing import TaskEnvironment
from tests.core.conftest import WORKSPACE, Recorder, make_attempt

SEEN: list[dict[str, Any]] = []


class Roll(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sides: int = 6


class Rolled(BaseModel):
    values: list[int]


def _draws() -> dict[str, Any]:
    ctx = current_task_context()
    rng = ctx.random()
    assert ctx.random() is rng, "one Random per attempt"
    return {
        "ints": [rng.randint(1, 1000) for _ in range(5)],
        "uuids": [str(ctx.uuid4()) for _ in range(3)],
        "now": ctx.now().isoformat(),
    }


@task(retry_count=0)
def roll_free(params: Roll) -> Rolled:
    SEEN.append(_draws())
    return Rolled(values=SEEN[-1]["ints"])


@task(retry_count=0)
def roll_files(workspace_dir: Path, params: Roll) -> Rolled:
    draws = _draws()
    SEEN.append(draws)
    (workspace_dir / "out.json").write_text(json.dumps(draws))
    return Rolled(values=draws["ints"])


@pytest.fixture(autouse=True)
def seen() -> list[dict[str, Any]]:
    SEEN.clear()
    return SEEN


def free_attempt(params: dict[str, Any], **attempt: Any) -> Any:
    return run_workspace_free_task_attempt(roll_free, {"params": params}, attempt=make_attempt(**attempt))


def test_every_attempt_of_a_call_draws_the_same_sequences(seen: list[dict[str, Any]]) -> None:
    free_attempt({}, task_id="t-1", scheduled_time=1_700_000_000_000)
    free_attempt({"sides": 6}, task_id="t-2", retry_count=1, retried_task_id="t-1", scheduled_time=1_700_000_900_000)
    assert seen[0]["ints"] == seen[1]["ints"] and seen[0]["uuids"] == seen[1]["uuids"], "defaults included"
    assert len(set(seen[0]["uuids"])) == 3 and all(uuid.UUID(u).version == 4 for u in seen[0]["uuids"])


def test_another_call_draws_other_sequences(seen: list[dict[str, Any]]) -> None:
    free_attempt({})
    free_attempt({"sides": 20})
    assert seen[0]["ints"] != seen[1]["ints"] and not set(seen[0]["uuids"]) & set(seen[1]["uuids"])


def test_another_input_commit_draws_other_sequences(seen: list[dict[str, Any]], tmp_path: Path) -> None:
    for commit in ("a" * 64, "a" * 64, "b" * 64):
        recorder = Recorder()
        recorder.download_workspace = _pinned_to(recorder, commit)  # type: ignore[method-assign]
        result = run_workspace_task_attempt(
            roll_files,
            {"workspace": WORKSPACE, "params": {}},
            make_attempt(),
            tmp_path,
            failure_reason_max_length=500,
            **recorder.callbacks(),
        )
        assert result.status == "COMPLETED", result.reason_for_incompletion
    assert seen[0] == seen[1] and seen[0]["ints"] != seen[2]["ints"]


def test_a_workspace_task_is_seeded_with_its_validated_params(seen: list[dict[str, Any]], tmp_path: Path) -> None:
    for params in ({}, {"sides": 6}):
        recorder = Recorder()
        result = run_workspace_task_attempt(
            roll_files,
            {"workspace": WORKSPACE, "params": params},
            make_attempt(),
            tmp_path,
            failure_reason_max_length=500,
            **recorder.callbacks(),
        )
        assert result.status == "COMPLETED", result.reason_for_incompletion
    assert seen[0] == seen[1], "defaults included, as in perago.params_sha256"


def _pinned_to(recorder: Recorder, commit: str) -> Any:
    download = recorder.download_workspace

    def pinned(*args: Any) -> Any:
        record = download(*args)
        return type(record)(commit_id=commit, entries=record.entries)

    return pinned


def test_now_is_when_the_retry_chain_started_not_a_clock(seen: list[dict[str, Any]]) -> None:
    asked: list[str] = []

    def chain_started_ms() -> int:
        asked.append("chain")
        return 1_700_000_000_000

    result = run_workspace_free_task_attempt(
        roll_free,
        {"params": {}},
        attempt=make_attempt(retry_count=2, scheduled_time=1_700_000_999_000),
        chain_started_ms=chain_started_ms,
    )
    assert result.status == "COMPLETED"
    assert seen[0]["now"] == datetime.fromtimestamp(1_700_000_000, tz=UTC).isoformat()
    assert asked == ["chain"], "asked once, only because the body called now()"
    free_attempt({}, scheduled_time=1_600_000_000_000)
    assert seen[1]["now"] == "2020-09-13T12:26:40+00:00", "default: the attempt's own scheduled time"


def test_task_environment_gives_the_documented_fixed_now_and_repeatable_draws(
    seen: list[dict[str, Any]], tmp_path: Path
) -> None:
    env = TaskEnvironment(roll_free)
    first, second = env.run({}), TaskEnvironment(roll_free).run({})
    assert first.result == second.result and seen[0] == seen[1]
    assert seen[0]["now"] == FIXED_NOW.isoformat() == "2000-01-01T00:00:00+00:00"


def test_the_helpers_outside_a_bound_attempt_say_what_is_wrong() -> None:
    context = TaskContext("t", "id", "wf", 1, 0, "e")
    with pytest.raises(PeragoError, match="this context has no deterministic helpers"):
        context.random()
    unbound = Determinism(lambda: 0)
    with pytest.raises(PeragoError, match="available in the task body"):
        unbound.uuid4()
    assert unbound.now() == FIXED_NOW
