"""The task of the attempt-history scenario: its first try hangs (its worker is then killed), its second fails."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from perago import WorkspaceSpec, current_task_context, task


class CountParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int


class Counted(BaseModel):
    songs: int
    plays: int


@task(workspace=WorkspaceSpec(), response_timeout_s=10, retry_count=2, retry_delay_s=0)
def count_plays(workspace: Path, params: CountParams) -> Counted:
    """Sums raw/plays/*.csv into stats/plays-<year>.json (the first try hangs, the second fails: injected)."""
    retry = current_task_context().retry_count
    if retry == 0:
        threading.Event().wait()  # a stuck attempt: the scenario SIGKILLs its worker
    if retry == 1:
        raise ConnectionError("lyrics service unavailable (HTTP 503)")
    plays = {
        p.stem: sum(int(row["plays"]) for row in csv.DictReader(p.read_text().splitlines()))
        for p in workspace.glob("raw/plays/*")
    }
    (workspace / "stats").mkdir(exist_ok=True)
    (workspace / f"stats/plays-{params.year}.json").write_text(json.dumps(plays, sort_keys=True) + "\n")
    return Counted(songs=len(plays), plays=sum(plays.values()))
