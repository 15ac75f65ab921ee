"""``now()`` through perago's worker: the time Conductor scheduled the first attempt of the step's retry chain.

The first attempt fails after drawing; Conductor schedules a retry (a new task, scheduled later, retriedTaskId =
the first). The retry's ``now()`` (read from Conductor through the retry chain, DeciderService.retry) and its
draws equal the first attempt's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from perago import current_task_context, task
from perago.conductor import Worker
from perago.conductor.registration import register_task_definitions
from perago.testing.conductor import ConductorEmulator
from perago.testing.lakefs import LakeFSEmulator
from tests.conductor.helpers import register_workflow, simple, start
from tests.conductor.test_pipeline import settings_for

DRAWS: list[tuple[str, str, float, str]] = []


class Nothing(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Drawn(BaseModel):
    at: str


@task(retry_count=1, retry_delay_s=0)
def draw(params: Nothing) -> Drawn:
    ctx = current_task_context()
    DRAWS.append((ctx.task_id, ctx.now().isoformat(), ctx.random().random(), str(ctx.uuid4())))
    if ctx.retry_count == 0:
        raise RuntimeError("the first attempt fails after drawing")
    return Drawn(at=ctx.now().isoformat())


def test_a_retry_draws_what_the_first_attempt_drew_and_now_is_the_chain_start(
    conductor_emulator: ConductorEmulator, lakefs_emulator: LakeFSEmulator, tmp_path: Path
) -> None:
    DRAWS.clear()
    settings = settings_for(conductor_emulator, lakefs_emulator, tmp_path)
    register_task_definitions([draw], settings)
    register_workflow(conductor_emulator, "draws", [simple("draw", "draw_step", {"params": {}})])
    workflow_id = start(conductor_emulator, "draws", {})
    Worker([draw], settings).run_until_idle(idle_s=0.3)
    workflow = conductor_emulator.get_workflow(workflow_id)
    assert workflow["status"] == "COMPLETED"
    first, retry = workflow["tasks"]
    assert retry["retriedTaskId"] == first["taskId"] and retry["scheduledTime"] > first["scheduledTime"]
    assert [d[0] for d in DRAWS] == [first["taskId"], retry["taskId"]]
    assert DRAWS[0][1:] == DRAWS[1][1:], "the same now(), random draw and UUID"
    assert DRAWS[0][1] == datetime.fromtimestamp(first["scheduledTime"] / 1000, tz=UTC).isoformat()
    assert retry["outputData"]["result"] == {"at": DRAWS[0][1]}
