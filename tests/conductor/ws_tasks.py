"""A three-task song pipeline for the worker tests: validate (free) -> build (writable) -> report (read-only)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from perago import ChangesOnlyUnder, RequiredPaths, WorkspaceSpec, task


class Song(BaseModel):
    model_config = ConfigDict(extra="forbid")
    song_id: str
    plays: int


class Valid(BaseModel):
    song_id: str
    ok: bool


@task(retry_count=0)
def validate(params: Song) -> Valid:
    """Checks one song's params."""
    return Valid(song_id=params.song_id, ok=params.plays >= 0)


class BuildParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_plays: int = 0


class Built(BaseModel):
    rows: int


@task(
    workspace=WorkspaceSpec(pre=[RequiredPaths(paths=["raw/*.csv"])], post=[ChangesOnlyUnder(prefixes=["features/"])]),
    response_timeout_s=10,
    retry_count=2,
    retry_delay_s=0,
)
def build(workspace_dir: Path, params: BuildParams) -> Built:
    """Sums plays per song into features/plays.csv."""
    totals: dict[str, int] = {}
    for path in sorted((workspace_dir / "raw").glob("*.csv")):
        for row in csv.DictReader(io.StringIO(path.read_text())):
            totals[row["song"]] = totals.get(row["song"], 0) + int(row["plays"])
    kept = {song: n for song, n in totals.items() if n >= params.min_plays}
    (workspace_dir / "features").mkdir(exist_ok=True)
    lines = ["song,plays"] + [f"{song},{n}" for song, n in sorted(kept.items())]
    (workspace_dir / "features/plays.csv").write_text("\n".join(lines) + "\n")
    return Built(rows=len(kept))


class ReportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Report(BaseModel):
    songs: int
    top: str


@task(workspace=WorkspaceSpec(read_only=True, pre=[RequiredPaths(paths=["features/plays.csv"])]))
def report(workspace_dir: Path, params: ReportParams) -> Report:
    """Names the most played song."""
    rows = list(csv.DictReader(io.StringIO((workspace_dir / "features/plays.csv").read_text())))
    top = max(rows, key=lambda row: int(row["plays"]))["song"] if rows else ""
    return Report(songs=len(rows), top=top)


RAW = {
    "raw/mon.csv": "song,plays\nsong-001,5\nsong-002,1\n",
    "raw/tue.csv": "song,plays\nsong-001,2\nsong-003,9\n",
}

PIPELINE = [
    {
        "name": "validate",
        "taskReferenceName": "validate",
        "type": "SIMPLE",
        "inputParameters": {"params": {"song_id": "${workflow.input.song_id}", "plays": "${workflow.input.plays}"}},
    },
    {
        "name": "build",
        "taskReferenceName": "build",
        "type": "SIMPLE",
        "inputParameters": {"workspace": "${workflow.input.workspace}", "params": {"min_plays": 2}},
    },
    {
        "name": "report",
        "taskReferenceName": "report",
        "type": "SIMPLE",
        "inputParameters": {"workspace": "${build.output.workspace}", "params": {}},
    },
]
